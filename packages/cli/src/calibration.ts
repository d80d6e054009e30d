/**
 * Data sets by name for the int8 commands: calibration images from a training
 * split and labelled images from a test split, both resized and prepared as
 * evaluation prepares them, at the model's own input size.
 */
import { existsSync, statSync } from 'node:fs';
import type { CalibrationBatch } from '@repnets/blocks/onnx';
import {
  calibrationSet,
  DATASET_NAMES,
  type DatasetName,
  imageFolderDataset,
  type NamedDataset,
  namedDataset,
} from '@repnets/train';
import type * as tf from '@tensorflow/tfjs';
import { oneOf, UsageError } from './common.js';

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

/** Where calibration images come from: a data set by name, or a folder of images. */
export type CalibSource =
  | { readonly kind: 'dataset'; readonly dataset: DatasetName }
  | { readonly kind: 'folder'; readonly dir: string };

/** Data set names `--calib` takes (an image folder is given by its path). */
const CALIB_NAMES = DATASET_NAMES.filter((n) => n !== 'folder');

/**
 * `--calib NAME|DIR` or `--calib-dataset NAME` (the older spelling), one of
 * them; undefined when neither is given. A value that is an existing folder
 * is a folder of images; otherwise it must be a data set name.
 */
export function calibSource(
  who: string,
  calib: string | undefined,
  calibDataset: string | undefined,
): CalibSource | undefined {
  if (calib !== undefined && calibDataset !== undefined)
    throw new UsageError(`${who}: give --calib or --calib-dataset, not both`);
  if (calibDataset !== undefined) {
    const dataset = oneOf(who, 'calib-dataset', calibDataset, DATASET_NAMES) as DatasetName;
    return { kind: 'dataset', dataset };
  }
  if (calib === undefined) return undefined;
  if (calib.trim() === '')
    throw new UsageError(`${who}: --calib needs a folder or a data set name`);
  if (existsSync(calib) && statSync(calib).isDirectory()) return { kind: 'folder', dir: calib };
  if ((CALIB_NAMES as readonly string[]).includes(calib))
    return { kind: 'dataset', dataset: calib as DatasetName };
  throw new UsageError(
    existsSync(calib)
      ? `${who}: --calib '${calib}' is a file; give a folder of images or a data set name (${CALIB_NAMES.join(', ')})`
      : `${who}: --calib '${calib}' is neither a folder nor a data set name (${CALIB_NAMES.join(', ')})`,
  );
}

/**
 * Up to `count` images of a folder (any layout: flat, or class folders whose
 * names are ignored), evenly spread over its sorted files, decoded and resized
 * to the model's input as `repnets train --dataset folder` prepares them.
 */
export async function folderCalibration(
  who: string,
  model: tf.LayersModel,
  path: string,
  dir: string,
  count: number,
): Promise<{ batches: CalibrationBatch[]; images: number; found: number }> {
  const { size, channels } = squareInput(who, model, path);
  if (channels !== 1 && channels !== 3) {
    throw new Error(
      `${who}: '${path}' takes ${channels}-channel images; a folder of images gives 1 (grey) or 3 (RGB)`,
    );
  }
  const all = await imageFolderDataset(dir, { size, channels, labels: 'none' });
  return {
    batches: await calibrationSet(all, { count }),
    images: Math.min(count, all.size),
    found: all.size,
  };
}

/**
 * The calibration batches of `source` for `model`: `count` images of a folder
 * (saying how many of how many it found), or `count` training images of a
 * data set; with what they are, for the summary line.
 */
export async function calibrationFor(
  who: string,
  model: tf.LayersModel,
  path: string,
  source: CalibSource,
  o: { count: number; dataDir?: string; say: (line: string) => void },
): Promise<{ batches: CalibrationBatch[]; from: string }> {
  if (source.kind === 'folder') {
    const f = await folderCalibration(who, model, path, source.dir, o.count);
    o.say(`calibrating on ${f.images} of the ${f.found} images in ${source.dir}`);
    return { batches: f.batches, from: `images from ${source.dir}` };
  }
  const data = await datasetForModel(who, model, path, {
    dataset: source.dataset,
    trainSize: o.count,
    ...(o.dataDir === undefined ? {} : { dataDir: o.dataDir }),
    use: 'calibrate on',
  });
  // namedDataset sampled trainSize already: all of its training split, through the eval transform.
  const batches = await calibrationSet(data.train, {
    count: data.train.size,
    ...(data.evalTransform ? { transform: data.evalTransform } : {}),
  });
  return { batches, from: `${source.dataset} images` };
}
