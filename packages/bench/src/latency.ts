import { summarize } from '@repnets/fuse/measure';
import * as tf from '@tensorflow/tfjs';
import { type InferenceModel, infer, perImageShape, positiveInt } from './model-like.js';

export interface LatencyOptions {
  /** Images per inference (default 1). */
  readonly batch?: number;
  /** Per image, no batch axis; default the model's declared input. */
  readonly inputShape?: readonly number[];
  /** Untimed inferences first (default 3): kernel compilation, allocation, caches. */
  readonly warmup?: number;
  /** Timed inferences (default 10, at least 10: a median of fewer says little on a noisy machine). */
  readonly runs?: number;
  /** Milliseconds clock (default performance.now); tests pass a fake one. */
  readonly clock?: () => number;
}

export interface LatencyResult {
  /** TF.js backend it ran on. */
  readonly backend: string;
  readonly batch: number;
  /** Per image, no batch axis. */
  readonly inputShape: number[];
  readonly warmup: number;
  /** Milliseconds per inference of one batch, in the order run. */
  readonly runs: number[];
  readonly medianMs: number;
  readonly meanMs: number;
  readonly p10Ms: number;
  readonly p90Ms: number;
  readonly minMs: number;
}

export const MIN_RUNS = 10;

interface Resolved {
  readonly batch: number;
  readonly inputShape: number[];
  readonly warmup: number;
  readonly runs: number;
  readonly clock: () => number;
}

function resolve(model: InferenceModel, o: LatencyOptions, caller: string): Resolved {
  if (o.clock !== undefined && typeof o.clock !== 'function') {
    throw new Error(`${caller}: clock must be a function returning milliseconds`);
  }
  return {
    batch: positiveInt(caller, 'batch', o.batch ?? 1),
    inputShape: perImageShape(model, o.inputShape, caller),
    warmup: positiveInt(caller, 'warmup', o.warmup ?? 3, 0),
    runs: positiveInt(caller, 'runs', o.runs ?? MIN_RUNS, MIN_RUNS),
    clock: o.clock ?? (() => performance.now()),
  };
}

/** A fixed pseudo-random batch: the same numbers for every form and every run (and every runtime). */
export function inputBatch(batch: number, inputShape: readonly number[]): tf.Tensor {
  return tf.randomUniform([batch, ...inputShape], 0, 1, 'float32', 42);
}

/**
 * One inference, timed to when its output is on the host: `await data()` is
 * what makes an async backend (webgpu) finish the work inside the timing.
 */
async function timeOnce(
  model: InferenceModel,
  x: tf.Tensor,
  clock: () => number,
  caller: string,
): Promise<number> {
  const t0 = clock();
  const outs = infer(model, x, caller);
  try {
    await Promise.all(outs.map((t) => t.data()));
  } finally {
    tf.dispose(outs);
  }
  return clock() - t0;
}

function result(r: Resolved, runs: number[]): LatencyResult {
  const s = summarize(runs);
  return {
    backend: tf.getBackend(),
    batch: r.batch,
    inputShape: r.inputShape,
    warmup: r.warmup,
    runs,
    medianMs: s.median,
    meanMs: s.mean,
    p10Ms: s.p10,
    p90Ms: s.p90,
    minMs: s.min,
  };
}

/**
 * Latency of one batch on the current backend, in eval mode: `warmup`
 * untimed inferences, then `runs` timed ones, each including the read-back
 * of its output. Median and p10/p90 over the runs.
 */
export async function measureLatency(
  model: InferenceModel,
  options: LatencyOptions = {},
): Promise<LatencyResult> {
  const caller = 'measureLatency';
  const r = resolve(model, options, caller);
  const x = inputBatch(r.batch, r.inputShape);
  try {
    for (let i = 0; i < r.warmup; i++) await timeOnce(model, x, r.clock, caller);
    const runs: number[] = [];
    for (let i = 0; i < r.runs; i++) runs.push(await timeOnce(model, x, r.clock, caller));
    return result(r, runs);
  } finally {
    x.dispose();
  }
}

export interface ThroughputOptions extends Omit<LatencyOptions, 'batch'> {
  /** Default [1, 8, 32]. */
  readonly batchSizes?: readonly number[];
}

export interface ThroughputResult {
  readonly batch: number;
  /** batch / median seconds per batch. */
  readonly imagesPerSecond: number;
  readonly latency: LatencyResult;
}

/** Images per second at each batch size, from the median latency of that batch. */
export async function measureThroughput(
  model: InferenceModel,
  options: ThroughputOptions = {},
): Promise<ThroughputResult[]> {
  const sizes = options.batchSizes ?? [1, 8, 32];
  if (!Array.isArray(sizes) || sizes.length === 0) {
    throw new Error('measureThroughput: batchSizes must be a non-empty array of batch sizes');
  }
  for (const [i, b] of sizes.entries()) positiveInt('measureThroughput', `batchSizes[${i}]`, b);
  const out: ThroughputResult[] = [];
  for (const batch of sizes) {
    const latency = await measureLatency(model, { ...options, batch });
    out.push({ batch, imagesPerSecond: imagesPerSecond(batch, latency.medianMs), latency });
  }
  return out;
}

export function imagesPerSecond(batch: number, ms: number): number {
  return ms > 0 ? (batch * 1000) / ms : Number.POSITIVE_INFINITY;
}

export interface FormComparison {
  readonly backend: string;
  readonly batch: number;
  readonly train: LatencyResult;
  readonly deploy: LatencyResult;
  /** train-form median / deploy-form median: above 1 when folding made it faster. */
  readonly speedup: number;
}

/**
 * Latency of the training form against the deploy form in one process, on one
 * input batch, interleaved: both warm up, then the timed runs alternate
 * train, deploy, train, ... so a burst of machine noise hits
 * both forms rather than one.
 */
export async function compareForms(
  trainModel: InferenceModel,
  deployModel: InferenceModel,
  options: LatencyOptions = {},
): Promise<FormComparison> {
  const caller = 'compareForms';
  const r = resolve(trainModel, options, caller);
  const other = perImageShape(deployModel, options.inputShape, caller);
  if (other.join() !== r.inputShape.join()) {
    throw new Error(
      `compareForms: the forms take different inputs, [${r.inputShape}] and [${other}]; are they the same model?`,
    );
  }
  const x = inputBatch(r.batch, r.inputShape);
  try {
    for (let i = 0; i < r.warmup; i++) {
      await timeOnce(trainModel, x, r.clock, caller);
      await timeOnce(deployModel, x, r.clock, caller);
    }
    const runs = { train: [] as number[], deploy: [] as number[] };
    for (let i = 0; i < r.runs; i++) {
      runs.train.push(await timeOnce(trainModel, x, r.clock, caller));
      runs.deploy.push(await timeOnce(deployModel, x, r.clock, caller));
    }
    const train = result(r, runs.train);
    const deploy = result(r, runs.deploy);
    return {
      backend: train.backend,
      batch: r.batch,
      train,
      deploy,
      speedup: deploy.medianMs > 0 ? train.medianMs / deploy.medianMs : Number.NaN,
    };
  } finally {
    x.dispose();
  }
}
