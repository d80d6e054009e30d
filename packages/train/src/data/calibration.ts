import { batches } from './loader.js';
import { subset } from './split.js';
import type { Dataset, Transform } from './types.js';

/** One NHWC batch as the int8 export takes it (`CalibrationBatch` of @repnets/blocks/onnx). */
export interface CalibrationImages {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number];
}

export interface CalibrationSetOptions {
  /** Images to take, spread evenly over the dataset (default 256; all of a smaller one). */
  readonly count?: number;
  /** The model's evaluation preprocessing (a resize, a normalization): never augmentation. */
  readonly transform?: Transform;
  /** Images per batch (default 64). */
  readonly batchSize?: number;
}

/**
 * Up to `count` images of `dataset`, evenly spread over it (every
 * size/count-th, so every part of an ordered dataset is seen), through
 * `transform`, as the NHWC batches `exportOnnxInt8` of @repnets/blocks/onnx
 * calibrates on. Labels are not read into the result.
 */
export async function calibrationSet(
  dataset: Dataset,
  options: CalibrationSetOptions = {},
): Promise<CalibrationImages[]> {
  const count = options.count ?? 256;
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new Error(
      `calibrationSet(${dataset.name}): count must be a positive integer, got ${String(count)}`,
    );
  }
  const n = Math.min(count, dataset.size);
  const picked =
    n === dataset.size
      ? dataset
      : subset(
          dataset,
          Array.from({ length: n }, (_, i) => Math.floor((i * dataset.size) / n)),
        );
  const out: CalibrationImages[] = [];
  const loader = batches(picked, {
    batchSize: options.batchSize ?? 64,
    ...(options.transform ? { transform: options.transform } : {}),
  });
  for await (const b of loader) out.push({ data: b.images, shape: b.shape });
  return out;
}
