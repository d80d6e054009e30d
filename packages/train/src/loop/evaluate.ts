/** Evaluation in inference mode: `evaluate(model, dataset)`, and the pieces a pool of replicas shares. */
import * as tf from '@tensorflow/tfjs';
import { DataLoader } from '../data/loader.js';
import type { Dataset, Transform } from '../data/types.js';
import { batchMetrics, MetricSums } from './metrics.js';
import type { ModelLike } from './model.js';

export interface EvalResult {
  readonly loss: number;
  readonly top1: number;
  readonly top5: number;
  readonly count: number;
}

export interface EvalOptions {
  /** Default 256. */
  readonly batchSize?: number;
  readonly transform?: Transform;
  /** Default 2. */
  readonly prefetch?: number;
}

/** The evaluation batches: in order, none dropped. */
export const evalBatches = (dataset: Dataset, options: EvalOptions) =>
  new DataLoader(dataset, {
    batchSize: options.batchSize ?? 256,
    shuffle: false,
    seed: 0,
    epoch: 0,
    transform: options.transform,
    dropLast: false,
    prefetch: options.prefetch ?? 2,
  });

export const evalResult = (sums: MetricSums): EvalResult => ({
  loss: sums.meanLoss,
  top1: sums.top1Rate,
  top5: sums.topkRate,
  count: sums.count,
});

/** Mean loss (no smoothing), top-1 and top-5 accuracy of `model` in inference mode on `dataset`. */
export async function evaluate(
  model: ModelLike,
  dataset: Dataset,
  options: EvalOptions = {},
): Promise<EvalResult> {
  const sums = new MetricSums();
  for await (const b of evalBatches(dataset, options)) {
    const m = tf.tidy(() => {
      const x = tf.tensor4d(b.images, b.shape as [number, number, number, number]);
      const logits = model.apply(x, { training: false }) as tf.Tensor2D;
      return batchMetrics(logits, tf.tensor1d(b.labels, 'int32'), 5);
    });
    sums.add(await m.data(), b.labels.length);
    m.dispose();
  }
  return evalResult(sums);
}
