/**
 * Data sets by name for the int8 commands: calibration images from a training
 * split and labelled images from a test split, both resized and prepared as
 * evaluation prepares them, at the model's own input size.
 */
import type { CalibrationBatch } from '@repnets/blocks/onnx';
import { batches, type DatasetName, type NamedDataset, namedDataset } from '@repnets/train';
import type * as tf from '@tensorflow/tfjs';

/** The side and channels of a model that takes square NHWC images; refuses any other input. */
export function squareInput(
  who: string,
  model: tf.LayersModel,
  path: string,
): { size: number; channels: number } {
  const [, h, w, c] = model.inputs[0]?.shape ?? [];
  if (typeof h !== 'number' || typeof w !== 'number' || typeof c !== 'number' || h !== w) {
    throw new Error(
      `${who}: '${path}' must take square NHWC images of a known size, its input is [${model.inputs[0]?.shape.join(', ')}]`,
    );
  }
  return { size: h, channels: c };
}

/** `dataset` at the model's input size, refused when its channels are not the model's. */
export async function datasetForModel(
  who: string,
  model: tf.LayersModel,
  path: string,
  o: {
    dataset: DatasetName;
    dataDir?: string;
    trainSize?: number;
    testSize?: number;
    /** What the set is for, in the refusal: 'calibrate on', 'evaluate on'. */
    use: string;
  },
): Promise<NamedDataset> {
  const { size, channels } = squareInput(who, model, path);
  const data = await namedDataset({
    dataset: o.dataset,
    imgSize: size,
    ...(o.trainSize === undefined ? {} : { trainSize: o.trainSize }),
    ...(o.testSize === undefined ? {} : { testSize: o.testSize }),
    ...(o.dataDir ? { dataDir: o.dataDir } : {}),
  });
  const got = data.inputShape[2];
  if (got !== channels) {
    throw new Error(
      `${who}: '${path}' takes ${channels}-channel images, ${o.dataset} has ${got}; ${o.use} the data set it was trained on`,
    );
  }
  return data;
}

/** The training images of `data` as calibration batches, through its evaluation transform. */
export async function calibrationBatches(data: NamedDataset): Promise<CalibrationBatch[]> {
  const out: CalibrationBatch[] = [];
  const loader = batches(data.train, {
    batchSize: 64,
    ...(data.evalTransform ? { transform: data.evalTransform } : {}),
  });
  for await (const b of loader) out.push({ data: b.images, shape: b.shape });
  return out;
}
