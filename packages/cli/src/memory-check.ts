/**
 * Input sizes whose memory cannot exist, refused before any work: `train
 * --img-size 5000` would otherwise fill the machine's memory for half a minute
 * with no output, `--img-size 100000` end in a typed-array error from deep
 * inside TF.js, and a size that fits the machine but not the wasm heap end in
 * `RuntimeError: Aborted()` after the first step has started. The estimate is
 * `estimateMemory` of @repnets/fuse (from the block records); here it is
 * compared with the limits of the backend that runs it (backend-limits.ts):
 * on wasm each worker's heap against its shard of the batch, and the machine
 * for all workers together.
 */

import { availableParallelism } from 'node:os';
import {
  architecture,
  estimateMemory,
  type MemoryEstimate,
  type MemoryEstimateOptions,
  type NetworkShape,
} from '@repnets/fuse';
import { type DatasetName, mnistRecipe, type WorkersOption } from '@repnets/train';
import { namedInputShape, resolveWorkers, zooModelOptions } from '@repnets/train/cli-support';
import { backendLimits, type MemoryLimits, machineLimits } from './backend-limits.js';
import { UsageError } from './common.js';

/** What one size needs: per replica (its shard, on its own heap where it has one) and in all. */
interface Need {
  /** The estimate for one replica's shard. */
  readonly replica: MemoryEstimate;
  /** What a replica's memory must hold: the estimate, times the heap's overhead where there is one. */
  readonly replicaBytes: number;
  /** Every replica, and the training thread's copy of the model when the replicas are workers. */
  readonly totalBytes: number;
}

const gibibytes = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Why a need does not fit, in words (the first limit it passes); `undefined` when it fits. */
function overLimit(n: Need, limits: MemoryLimits, replicas: number): string | undefined {
  // A heap of its own holds every tensor of a replica: it binds before one tensor's size does.
  if (limits.heap && n.replicaBytes > limits.heap.bytes)
    return `more than ${limits.heap.what}${replicas > 1 ? ' each worker has' : ''}`;
  const t = n.replica.largestTensor;
  if (t.elements > limits.tensorElements) {
    const what = t.name === 'input' ? 'the input batch' : `${t.name}'s output`;
    return `and its largest tensor (${what}, ${t.shape.join('x')}) has ${t.elements} values, more than ${limits.tensorHolder ?? 'one typed array'} holds (${limits.tensorElements} values)`;
  }
  if (n.totalBytes > limits.bytes) {
    const together =
      replicas > 1
        ? `its ${replicas} workers need about ${gigabytes(n.totalBytes)} together, `
        : '';
    const note = limits.machineNote ? `; ${limits.machineNote}` : '';
    return `${together}more than this machine's ${gibibytes(limits.bytes)} of memory (os.totalmem()${note})`;
  }
  return undefined;
}

/** Two decimals below 10 GB, where a need is compared with a 4.29 GB heap. */
const gigabytes = (bytes: number) =>
  bytes >= 1e12
    ? `${(bytes / 1e12).toFixed(1)} TB`
    : `${(bytes / 1e9).toFixed(bytes < 1e10 ? 2 : 1)} GB`;

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
  /** Replicas (worker threads) the batch is split over, each training its shard; default 1. */
  readonly replicas?: number;
  /** The backend that runs it, for messages ('wasm'). */
  readonly backend?: string;
}

/**
 * Refuses (a usage error, one line) an input size whose batch does not fit:
 * the estimate, which limit it passes, and the largest --img-size that fits.
 */
export function checkInputSize(c: InputSizeCheck): void {
  const limits = c.limits ?? machineLimits();
  const replicas = Math.max(1, c.replicas ?? 1);
  const shard = Math.ceil(c.options.batch / replicas);
  const need = (size: number): Need => {
    const net = c.networkAt(size);
    const replica = estimateMemory(net, { ...c.options, batch: shard });
    const overhead = limits.heap?.overhead ?? 1;
    const replicaBytes = replica.bytes * overhead;
    // With workers, the training thread keeps the model and its optimizer state too.
    const model =
      replicas > 1 ? estimateMemory(net, { ...c.options, batch: 0 }).bytes * overhead : 0;
    return { replica, replicaBytes, totalBytes: replicas * replicaBytes + model };
  };
  const n = need(c.size);
  const why = overLimit(n, limits, replicas);
  if (why === undefined) return;
  const largest = largestFitting(c.size, (s) => overLimit(need(s), limits, replicas) === undefined);
  // Below its total stride a network has nothing left to classify: no size to offer.
  const usable = largest > 0 && largest >= totalStride(c.networkAt(largest));
  const fix = usable
    ? `the largest --img-size that fits is ${largest}`
    : `no --img-size the network takes fits${c.options.batch > 1 ? '; lower --batch-size' : ''}`;
  const on =
    c.backend === undefined
      ? ''
      : ` on ${c.backend}${replicas > 1 ? ` (${replicas} workers, up to ${shard} images each)` : ''}`;
  throw new UsageError(
    `${c.command}: ${c.what} needs about ${gigabytes(n.replicaBytes)}${replicas > 1 ? ' per worker' : ''} ${c.purpose}${on}, ${why}; ${fix}`,
  );
}

/**
 * The record of what `repnets train` builds for `model` at `size` on
 * `dataset`: the model options `recipeFor` of @repnets/train gives it
 * (`zooModelOptions`: stride-1 stem up to 64 px, the dataset's channels), so
 * that the estimate is of the network that would train. A folder dataset's
 * classes are unknown before it is read; the classifier is small next to the
 * activations.
 */
export function trainNetworkAt(model: string, dataset: DatasetName, size: number): NetworkShape {
  const classes = dataset === 'cifar100' ? 100 : 10;
  return architecture(model, zooModelOptions(namedInputShape(dataset, size), classes));
}

/**
 * `repnets train`'s check, once the backend is chosen and before any data is
 * read: refuses an --img-size whose training step cannot fit that backend
 * (on wasm and cpu split over the workers @repnets/train's `resolveWorkers`
 * gives the run). Without --img-size the data's own size (28 or 32 px for the
 * built-in datasets) is used and nothing is checked.
 */
export function checkTrainInputSize(o: {
  readonly model: string;
  readonly dataset: DatasetName;
  readonly imgSize: number | undefined;
  /** Default: the recipes' batch size, as `recipeFor` uses it. */
  readonly batchSize: number | undefined;
  /** The backend selectBackend chose. */
  readonly backend: string;
  /** --workers as given (default 'auto'). */
  readonly workers?: WorkersOption;
  /** Default: this machine's (availableParallelism()). */
  readonly cores?: number;
  /** Default: {@link backendLimits} of `backend`. */
  readonly limits?: MemoryLimits;
}): void {
  if (o.imgSize === undefined) return;
  const batch = o.batchSize ?? mnistRecipe().train.batchSize;
  const { workers } = resolveWorkers(
    o.workers ?? 'auto',
    o.backend,
    batch,
    o.cores ?? availableParallelism(),
  );
  checkInputSize({
    command: 'train',
    what: `--img-size ${o.imgSize} with --batch-size ${batch}`,
    purpose: `to train ${o.model}`,
    size: o.imgSize,
    networkAt: (size) => trainNetworkAt(o.model, o.dataset, size),
    options: { batch, purpose: 'train' },
    limits: o.limits ?? backendLimits(o.backend),
    replicas: workers,
    backend: o.backend,
  });
}
