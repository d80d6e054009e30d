import * as tf from '@tensorflow/tfjs';
import { type DatasetLike, type ImageLike, isDatasetLike } from './dataset-like.js';
import { type InferenceModel, infer, positiveInt } from './model-like.js';

export interface EquivalenceOptions {
  /** Images per inference (default 64). */
  readonly batchSize?: number;
  /** Use only the first `limit` examples (default all). */
  readonly limit?: number;
  /** Labels of a tensor input, one per image, to report accuracy. */
  readonly labels?: ArrayLike<number>;
  /** Applied to each dataset image before batching (normalization, resizing). */
  readonly transform?: (image: ImageLike) => ImageLike;
}

export interface EquivalenceReport {
  /** Images compared. */
  readonly count: number;
  /** Largest |train form - deploy form| over every logit of every image. */
  readonly maxAbsLogitDiff: number;
  /** Mean |train form - deploy form| over every logit of every image. */
  readonly meanAbsLogitDiff: number;
  /** Fraction of images whose top-1 class is the same in both forms. */
  readonly top1Agreement: number;
  /** Top-1 accuracy of each form, as a fraction; null without labels. */
  readonly trainAccuracy: number | null;
  readonly deployAccuracy: number | null;
}

export interface LabelledBatch {
  readonly x: tf.Tensor;
  readonly labels?: Int32Array;
}

const caller = 'equivalence';

async function* datasetBatches(
  dataset: DatasetLike,
  count: number,
  batchSize: number,
  transform: EquivalenceOptions['transform'],
  who: string,
): AsyncGenerator<LabelledBatch> {
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const examples = await Promise.all(Array.from({ length: n }, (_, i) => dataset.get(start + i)));
    const images = examples.map((e) => (transform ? transform(e.image) : e.image));
    // n >= 1: start < count.
    const { height, width, channels } = images[0]!;
    const per = height * width * channels;
    const data = new Float32Array(n * per);
    images.forEach((img, i) => {
      if (img.height !== height || img.width !== width || img.channels !== channels) {
        throw new Error(
          `${who}: ${dataset.name} example ${start + i} is ${img.height}x${img.width}x${img.channels}, unlike ${height}x${width}x${channels} before it; resize in transform`,
        );
      }
      data.set(img.data, i * per);
    });
    yield {
      x: tf.tensor4d(data, [n, height, width, channels]),
      labels: Int32Array.from(examples, (e) => e.label),
    };
  }
}

function* tensorBatches(
  x: tf.Tensor,
  count: number,
  batchSize: number,
  labels: Int32Array | undefined,
): Generator<LabelledBatch> {
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const begin = x.shape.map((_, i) => (i === 0 ? start : 0));
    const size = x.shape.map((d, i) => (i === 0 ? n : d));
    yield {
      x: tf.slice(x, begin, size),
      labels: labels?.slice(start, start + n),
    };
  }
}

/**
 * The images (and labels) of `data` in batches of `options.batchSize`, after
 * checking that they can be read: what equivalence and the int8 comparison
 * run every model on. `who` names the caller in errors.
 */
export function dataBatches(
  data: DatasetLike | tf.Tensor,
  options: EquivalenceOptions,
  who: string,
): { count: number; batches: AsyncIterable<LabelledBatch> | Iterable<LabelledBatch> } {
  const batchSize = positiveInt(who, 'batchSize', options.batchSize ?? 64);
  let available: number;
  if (data instanceof tf.Tensor) {
    if (data.rank < 2) {
      throw new Error(`${who}: input tensor must be a batch [n, ...], got shape [${data.shape}]`);
    }
    available = data.shape[0]!; // rank >= 2, checked above
    if (options.labels !== undefined && options.labels.length !== available) {
      throw new Error(
        `${who}: ${options.labels.length} labels for ${available} images in the input tensor`,
      );
    }
  } else if (isDatasetLike(data)) {
    if (options.labels !== undefined) {
      throw new Error(`${who}: labels is for tensor input; a Dataset brings its own`);
    }
    available = data.size;
  } else {
    throw new Error(`${who}: data must be a Dataset or a tf.Tensor batch, got ${String(data)}`);
  }
  const count =
    options.limit === undefined
      ? available
      : Math.min(available, positiveInt(who, 'limit', options.limit));
  if (count === 0) throw new Error(`${who}: no images to compare (the data is empty)`);
  const batches: AsyncIterable<LabelledBatch> | Iterable<LabelledBatch> =
    data instanceof tf.Tensor
      ? tensorBatches(
          data,
          count,
          batchSize,
          options.labels === undefined ? undefined : Int32Array.from(options.labels),
        )
      : datasetBatches(data, count, batchSize, options.transform, who);

  return { count, batches };
}

/**
 * How closely the deploy form reproduces the training form: both run in eval
 * mode (BN on running statistics) on the same images, batch by batch, and
 * their logits are compared. With labels (a Dataset has them; pass `labels`
 * with a tensor) it reports each form's top-1 accuracy too.
 */
export async function equivalence(
  trainModel: InferenceModel,
  deployModel: InferenceModel,
  data: DatasetLike | tf.Tensor,
  options: EquivalenceOptions = {},
): Promise<EquivalenceReport> {
  const { count, batches } = dataBatches(data, options, caller);
  let maxAbs = 0;
  let sumAbs = 0;
  let logits = 0;
  let agree = 0;
  let hitsA = 0;
  let hitsB = 0;
  let labelled = true;
  for await (const b of batches) {
    let ya: tf.Tensor[] = [];
    let yb: tf.Tensor[] = [];
    try {
      const outA = infer(trainModel, b.x, caller);
      ya = outA;
      const outD = infer(deployModel, b.x, caller);
      yb = outD;
      const [a, d] = [outA[0], outD[0]];
      if (ya.length !== 1 || yb.length !== 1 || a.rank !== 2 || a.shape.join() !== d.shape.join()) {
        throw new Error(
          `${caller}: expected one [batch, classes] logits tensor from each form, got [${ya.map((t) => `[${t.shape}]`)}] and [${yb.map((t) => `[${t.shape}]`)}]`,
        );
      }
      const [stats, argA, argB] = tf.tidy(() => {
        const diff = tf.abs(tf.sub(a, d));
        return [tf.stack([tf.max(diff), tf.sum(diff)]), tf.argMax(a, -1), tf.argMax(d, -1)];
      });
      const [s, pa, pb] = await Promise.all([stats.data(), argA.data(), argB.data()]);
      tf.dispose([stats, argA, argB]);
      const [batchMax, batchSum] = s;
      if (batchMax === undefined || batchSum === undefined) {
        throw new Error(`${caller}: expected the batch's max and sum, got ${s.length} values`);
      }
      // NaN must not hide behind Math.max: a NaN logit is a failed equivalence.
      maxAbs =
        Number.isNaN(batchMax) || Number.isNaN(maxAbs) ? Number.NaN : Math.max(maxAbs, batchMax);
      sumAbs += batchSum;
      logits += a.size;
      for (let i = 0; i < pa.length; i++) {
        if (pa[i] === pb[i]) agree++;
        if (b.labels) {
          if (pa[i] === b.labels[i]) hitsA++;
          if (pb[i] === b.labels[i]) hitsB++;
        }
      }
      if (!b.labels) labelled = false;
    } finally {
      tf.dispose([b.x, ...ya, ...yb]);
    }
  }
  return {
    count,
    maxAbsLogitDiff: maxAbs,
    meanAbsLogitDiff: sumAbs / logits,
    top1Agreement: agree / count,
    trainAccuracy: labelled ? hitsA / count : null,
    deployAccuracy: labelled ? hitsB / count : null,
  };
}
