/**
 * Times single-image forward passes of both forms on the active backend. A
 * run ends when the result has been read back (`await data()`): GPU backends
 * return before the work is done, so timing predict() alone would measure
 * only the queueing.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelPair } from './models';
import { type LatencyStats, latencyStats } from './stats';

export interface LatencyOptions {
  /** Untimed runs first: shader compilation, wasm warm-up, allocator growth. */
  readonly warmup: number;
  readonly runs: number;
  /**
   * Called after each pair of runs (both forms), outside the timed part; the
   * measurement waits for it, so it can let the page repaint a status line.
   */
  readonly onProgress?: (p: Progress) => void | Promise<void>;
}

/** How far a measurement is: `done` of `of` pairs of runs in this phase. */
export interface Progress {
  readonly phase: 'warm-up' | 'timed';
  readonly done: number;
  readonly of: number;
}

export interface PairLatency {
  readonly train: LatencyStats;
  readonly deploy: LatencyStats;
}

async function once(model: tf.LayersModel, x: tf.Tensor): Promise<number> {
  const t0 = performance.now();
  const y = model.predict(x) as tf.Tensor;
  await y.data();
  const ms = performance.now() - t0;
  y.dispose();
  return ms;
}

/**
 * Alternates the forms run by run, so a slow stretch of the machine (another
 * tab, a GC, thermal throttling) lands on both rather than on whichever ran
 * second.
 */
export async function alternate(
  run: (form: 'train' | 'deploy') => Promise<number>,
  o: LatencyOptions,
): Promise<PairLatency> {
  for (let i = 0; i < o.warmup; i++) {
    await run('train');
    await run('deploy');
    await o.onProgress?.({ phase: 'warm-up', done: i + 1, of: o.warmup });
  }
  const train: number[] = [];
  const deploy: number[] = [];
  for (let i = 0; i < o.runs; i++) {
    train.push(await run('train'));
    deploy.push(await run('deploy'));
    await o.onProgress?.({ phase: 'timed', done: i + 1, of: o.runs });
  }
  return { train: latencyStats(train), deploy: latencyStats(deploy) };
}

/** Both TF.js forms, alternated (see {@link alternate}), on one random image. */
export async function measurePair(pair: ModelPair, o: LatencyOptions): Promise<PairLatency> {
  const x = tf.randomUniform([1, 28, 28, 1]);
  try {
    return await alternate((form) => once(pair[form], x), o);
  } finally {
    x.dispose();
  }
}
