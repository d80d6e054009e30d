/**
 * Input sizes whose memory cannot exist, refused before any work: `train
 * --img-size 5000` would otherwise fill the machine's memory for half a minute
 * with no output, and `--img-size 100000` end in a typed-array error from deep
 * inside TF.js. The estimate is `estimateMemory` of @repnets/fuse (from the
 * block records); here it is compared with what this machine and this Node
 * can hold.
 */
import { constants } from 'node:buffer';
import { totalmem } from 'node:os';
import {
  architecture,
  estimateMemory,
  type MemoryEstimate,
  type MemoryEstimateOptions,
  type NetworkShape,
} from '@repnets/fuse';
import { type DatasetName, mnistRecipe } from '@repnets/train';
import { UsageError } from './common.js';

/**
 * The most elements one Float32Array can have in this Node, and so one TF.js
 * tensor's data. `buffer.constants.MAX_LENGTH` is V8's typed-array limit: a
 * count of elements of any type up to Node 21 (2^32 on 64-bit; measured:
 * `new Float32Array(2 ** 32 + 1)` throws), a count of bytes from Node 22
 * (2^53 - 1), so float32 elements are capped at a quarter of that.
 */
export function float32ArrayLimit(): number {
  return Math.min(constants.MAX_LENGTH, Math.floor(Number.MAX_SAFE_INTEGER / 4));
}

/** What a batch is compared with. */
export interface MemoryLimits {
  /** All of it: the machine's memory (`os.totalmem()`). */
  readonly bytes: number;
  /** The largest single tensor, in float32 elements. */
  readonly tensorElements: number;
}

export const machineLimits = (): MemoryLimits => ({
  bytes: totalmem(),
  tensorElements: float32ArrayLimit(),
});

/** Why an estimate does not fit, in words; `undefined` when it fits. */
function overLimit(e: MemoryEstimate, limits: MemoryLimits): string | undefined {
  if (e.bytes > limits.bytes)
    return `more than this machine's ${(limits.bytes / 2 ** 30).toFixed(1)} GiB of memory (os.totalmem())`;
  if (e.largestTensor.elements > limits.tensorElements) {
    const t = e.largestTensor;
    const what = t.name === 'input' ? 'the input batch' : `${t.name}'s output`;
    return `and its largest tensor (${what}, ${t.shape.join('x')}) has ${t.elements} values, more than one typed array holds (${limits.tensorElements} values)`;
  }
  return undefined;
}

const gigabytes = (bytes: number) =>
  bytes >= 1e12 ? `${(bytes / 1e12).toFixed(1)} TB` : `${(bytes / 1e9).toFixed(1)} GB`;

/** How much the blocks shrink an input side: the product of their strides. */
const totalStride = (net: NetworkShape) => net.blocks.reduce((s, b) => s * b.stride, 1);

/** The largest n in [1, below) for which `fits(n)`, by bisection; 0 when none. */
function largestFitting(below: number, fits: (n: number) => boolean): number {
  let lo = 0;
  let hi = below;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface InputSizeCheck {
  readonly command: string;
  /** The flags that set the size, as the user gave them: '--img-size 5000 with --batch-size 64'. */
  readonly what: string;
  /** What the memory is for: 'for one image', 'to train repvgg_compact'. */
  readonly purpose: string;
  /** The --img-size asked for. */
  readonly size: number;
  /** The network at an input size. */
  readonly networkAt: (size: number) => NetworkShape;
  readonly options: MemoryEstimateOptions;
  /** Default: {@link machineLimits}. */
  readonly limits?: MemoryLimits;
}

/**
 * Refuses (a usage error, one line) an input size whose batch does not fit:
 * the estimate, what it was compared with, and the largest --img-size that fits.
 */
export function checkInputSize(c: InputSizeCheck): void {
  const limits = c.limits ?? machineLimits();
  const estimate = (size: number) => estimateMemory(c.networkAt(size), c.options);
  const e = estimate(c.size);
  const why = overLimit(e, limits);
  if (why === undefined) return;
  const largest = largestFitting(c.size, (n) => overLimit(estimate(n), limits) === undefined);
  // Below its total stride a network has nothing left to classify: no size to offer.
  const usable = largest > 0 && largest >= totalStride(c.networkAt(largest));
  const fix = usable
    ? `the largest --img-size that fits is ${largest}`
    : `no --img-size the network takes fits${c.options.batch > 1 ? '; lower --batch-size' : ''}`;
  throw new UsageError(
    `${c.command}: ${c.what} needs about ${gigabytes(e.bytes)} ${c.purpose}, ${why}; ${fix}`,
  );
}

/**
 * The record of what `repnets train` builds for `model` at `size` on
 * `dataset`: the model options of @repnets/train's `recipeFor` (stride-1 stem
 * up to 64 px, the dataset's channels and classes), so that the estimate is
 * of the network that would train. A folder dataset's classes are unknown
 * before it is read; the classifier is small next to the activations.
 */
export function trainNetworkAt(model: string, dataset: DatasetName, size: number): NetworkShape {
  return architecture(model, {
    inputSize: size,
    channels: dataset === 'mnist' ? 1 : 3,
    numClasses: dataset === 'cifar100' ? 100 : 10,
    stemStride: size <= 64 ? 1 : 2,
  });
}

/**
 * `repnets train`'s check: refuses an --img-size whose training batch cannot
 * fit, before the backend starts. Without --img-size the data's own size (28
 * or 32 px for the built-in datasets) is used and nothing is checked.
 */
export function checkTrainInputSize(o: {
  readonly model: string;
  readonly dataset: DatasetName;
  readonly imgSize: number | undefined;
  /** Default: the recipes' batch size, as `recipeFor` uses it. */
  readonly batchSize: number | undefined;
  readonly limits?: MemoryLimits;
}): void {
  if (o.imgSize === undefined) return;
  const batch = o.batchSize ?? mnistRecipe().train.batchSize;
  checkInputSize({
    command: 'train',
    what: `--img-size ${o.imgSize} with --batch-size ${batch}`,
    purpose: `to train ${o.model}`,
    size: o.imgSize,
    networkAt: (size) => trainNetworkAt(o.model, o.dataset, size),
    options: { batch, purpose: 'train' },
    ...(o.limits ? { limits: o.limits } : {}),
  });
}
