/**
 * Batches from a dataset, prepared ahead of the consumer. Every random choice
 * comes from a stream keyed by (seed, epoch[, index]), so what a batch holds
 * never depends on timing, prefetch depth or where a run was resumed.
 */
import { deriveRng, permutation, type Rng } from '../random.js';
import { DataLoadError, errorMessage } from './errors.js';
import type { Batch, Dataset, Example, ImageHWC, Transform } from './types.js';

/** Separates per-example transform streams from every other stream derived from the seed. */
export const TRANSFORM_SALT = 0x7a3f_c0de;

export interface LoaderOptions {
  readonly batchSize: number;
  /** Visit examples in a seeded random order each epoch (default false: dataset order). */
  readonly shuffle?: boolean;
  /** Default 0. */
  readonly seed?: number;
  /** Epoch iterated by `for await (const b of loader)`; default 0. */
  readonly epoch?: number;
  /** Applied to each example with its own stream, {@link exampleRng}. */
  readonly transform?: Transform;
  /** Leave out the last batch when it is short (default false). */
  readonly dropLast?: boolean;
  /** Batches prepared ahead of the one the consumer holds (default 2; 0: none). */
  readonly prefetch?: number;
  /** First batch `for await (const b of loader)` yields, to resume mid-epoch; default 0. */
  readonly startBatch?: number;
}

/** The transform stream of example `index` in `epoch`: the same whatever else the loader does. */
export function exampleRng(seed: number, epoch: number, index: number): Rng {
  return deriveRng(seed, epoch, index, TRANSFORM_SALT);
}

/** The order examples are visited in `epoch`: a seeded permutation, or identity. */
export function epochOrder(
  size: number,
  seed: number,
  epoch: number,
  shuffle: boolean,
): Int32Array {
  if (shuffle) return permutation(size, deriveRng(seed, epoch));
  return Int32Array.from({ length: size }, (_, i) => i);
}

export class DataLoader implements AsyncIterable<Batch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly prefetch: number;
  /** Batches in one full epoch. */
  readonly numBatches: number;

  constructor(
    readonly dataset: Dataset,
    private readonly options: LoaderOptions,
  ) {
    const where = `DataLoader(${dataset.name})`;
    const int = (key: string, v: number, min: number) => {
      if (!Number.isSafeInteger(v) || v < min) {
        throw new RangeError(`${where}: ${key} ${v} must be an integer >= ${min}`);
      }
      return v;
    };
    this.batchSize = int('batchSize', options.batchSize, 1);
    this.seed = int('seed', options.seed ?? 0, 0);
    this.prefetch = int('prefetch', options.prefetch ?? 2, 0);
    int('epoch', options.epoch ?? 0, 0);
    int('startBatch', options.startBatch ?? 0, 0);
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    const n = dataset.size;
    this.numBatches = this.dropLast
      ? Math.floor(n / this.batchSize)
      : Math.ceil(n / this.batchSize);
  }

  /** Dataset indices of batch `k` of `epoch`, without reading any example. */
  batchIndices(epoch: number, k: number, order = this.order(epoch)): Int32Array {
    return order.slice(k * this.batchSize, Math.min((k + 1) * this.batchSize, order.length));
  }

  order(epoch: number): Int32Array {
    return epochOrder(this.dataset.size, this.seed, epoch, this.shuffle);
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    return this.epoch(this.options.epoch ?? 0, this.options.startBatch ?? 0);
  }

  /**
   * Batches `startBatch`..`numBatches - 1` of `epoch`, exactly those an iteration
   * from 0 would yield there; skipped batches are never read.
   */
  async *epoch(epoch: number, startBatch = 0): AsyncGenerator<Batch, void, undefined> {
    const where = `DataLoader(${this.dataset.name})`;
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new RangeError(`${where}: epoch ${epoch} must be an integer >= 0`);
    }
    if (!Number.isSafeInteger(startBatch) || startBatch < 0 || startBatch > this.numBatches) {
      throw new RangeError(
        `${where}: startBatch ${startBatch} is not in 0..${this.numBatches} (numBatches)`,
      );
    }
    const order = this.order(epoch);
    const pending: Promise<Batch>[] = [];
    let next = startBatch;
    let closed = false;
    // Batches ahead start on a later macrotask: the consumer gets batch k first,
    // and synchronous datasets fill the time it spends awaiting its own work.
    const start = (k: number, defer: boolean) => {
      const p = defer
        ? new Promise<void>((r) => later(r)).then(() =>
            closed ? emptyBatch() : this.makeBatch(order, epoch, k),
          )
        : this.makeBatch(order, epoch, k);
      // Marks a batch the consumer may never await (it broke out early) as handled.
      p.catch(() => {});
      return p;
    };
    try {
      while (next < this.numBatches || pending.length > 0) {
        if (pending.length === 0) pending.push(start(next++, false));
        const current = pending.shift()!;
        while (pending.length < this.prefetch && next < this.numBatches) {
          pending.push(start(next++, true));
        }
        yield await current;
      }
    } finally {
      closed = true;
    }
  }

  private async makeBatch(order: Int32Array, epoch: number, k: number): Promise<Batch> {
    const indices = this.batchIndices(epoch, k, order);
    const images = await Promise.all(Array.from(indices, (i) => this.example(i, epoch, k)));
    const labels = Int32Array.from(images, (e) => e.label);
    const first = images[0]?.image;
    if (!first)
      throw new Error(`${this.dataset.name}: batch ${k} of epoch ${epoch} has no examples`);
    const per = first.height * first.width * first.channels;
    const data = new Float32Array(indices.length * per);
    images.forEach(({ image }, j) => {
      if (
        image.height !== first.height ||
        image.width !== first.width ||
        image.channels !== first.channels
      ) {
        const i = indices[j]!;
        throw new DataLoadError(
          `${this.dataset.name}: example ${i} (batch ${k}, epoch ${epoch}) is ` +
            `${shapeOf(image)}, but example ${indices[0]} of the same batch is ${shapeOf(first)}`,
          this.dataset.name,
          i,
        );
      }
      data.set(image.data, j * per);
    });
    return {
      images: data,
      labels,
      shape: [indices.length, first.height, first.width, first.channels],
      indices,
    };
  }

  private async example(index: number, epoch: number, k: number): Promise<Example> {
    const { dataset, options } = this;
    const where = `${dataset.name}: example ${index} (batch ${k}, epoch ${epoch})`;
    let example: Example;
    try {
      example = await dataset.get(index);
    } catch (e) {
      throw new DataLoadError(`${where}: ${errorMessage(e)}`, dataset.name, index, { cause: e });
    }
    const { label } = example;
    if (!Number.isInteger(label) || label < 0 || label >= dataset.classNames.length) {
      throw new DataLoadError(
        `${where}: label ${label} is not a class index in 0..${dataset.classNames.length - 1}`,
        dataset.name,
        index,
      );
    }
    let image = example.image;
    if (options.transform) {
      try {
        image = options.transform(image, exampleRng(this.seed, epoch, index));
      } catch (e) {
        throw new DataLoadError(
          `${where}: transform failed: ${errorMessage(e)}`,
          dataset.name,
          index,
          {
            cause: e,
          },
        );
      }
    }
    if (image.data.length !== image.height * image.width * image.channels) {
      throw new DataLoadError(
        `${where}: image ${shapeOf(image)} has ${image.data.length} values, not ${image.height * image.width * image.channels}`,
        dataset.name,
        index,
      );
    }
    return { image, label };
  }
}

/** `new DataLoader(dataset, options)`: iterate it with `for await`. */
export function batches(dataset: Dataset, options: LoaderOptions): DataLoader {
  return new DataLoader(dataset, options);
}

/** Node's setImmediate (no 1 ms clamp); setTimeout where there is none (browsers). */
const later: (f: () => void) => void = globalThis.setImmediate ?? ((f) => setTimeout(f, 0));

function shapeOf(image: ImageHWC): string {
  return `${image.height}x${image.width}x${image.channels}`;
}

function emptyBatch(): Batch {
  return {
    images: new Float32Array(0),
    labels: new Int32Array(0),
    shape: [0, 0, 0, 0],
    indices: new Int32Array(0),
  };
}
