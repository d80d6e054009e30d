/**
 * Classification metrics accumulated on the device per batch and read back
 * once per batch as three numbers (loss sum, top-1 and top-k hits).
 */
import * as tf from '@tensorflow/tfjs';

/** [sum of per-example loss, top-1 hits, top-k hits] for a batch of logits. */
export function batchMetrics(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  k: number,
  perExampleLoss?: tf.Tensor1D,
): tf.Tensor1D {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const kk = Math.min(k, classes);
    const { indices } = tf.topk(logits, kk);
    const hits = indices.equal(labels.expandDims(1)).cast('float32');
    const top1 = hits.slice([0, 0], [-1, 1]).sum();
    const topk = hits.sum();
    const loss =
      perExampleLoss?.sum() ??
      tf.losses
        .softmaxCrossEntropy(tf.oneHot(labels, classes), logits, undefined, 0, tf.Reduction.NONE)
        .sum();
    return tf.stack([loss, top1, topk]) as tf.Tensor1D;
  });
}

/**
 * [loss sum, top-1 hits, top-k hits] of a batch, as {@link batchMetrics}
 * computes them, from the array a backend reads back; refuses another length.
 */
export function metricTriple(values: ArrayLike<number>): [number, number, number] {
  const [loss, top1, topk] = Array.from(values);
  if (values.length !== 3 || loss === undefined || top1 === undefined || topk === undefined) {
    throw new Error(
      `train: a batch's metrics are [loss, top-1, top-k], got ${values.length} values`,
    );
  }
  return [loss, top1, topk];
}

/** Running sums of batch metrics. */
export class MetricSums {
  loss = 0;
  top1 = 0;
  topk = 0;
  count = 0;
  add(values: ArrayLike<number>, n: number): void {
    const [loss, top1, topk] = metricTriple(values);
    this.loss += loss;
    this.top1 += top1;
    this.topk += topk;
    this.count += n;
  }
  get meanLoss(): number {
    return this.count ? this.loss / this.count : Number.NaN;
  }
  get top1Rate(): number {
    return this.count ? this.top1 / this.count : Number.NaN;
  }
  get topkRate(): number {
    return this.count ? this.topk / this.count : Number.NaN;
  }
}
