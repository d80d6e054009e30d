/**
 * How the loop runs its steps: in this thread, or over the platform's pool of
 * replicas when `workers` resolves to more than one.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelLike } from '../loop/model.js';
import type { TrainParams } from '../loop/params.js';
import type { Progress } from '../loop/progress.js';
import type { StepRunner } from '../loop/step-runner.js';
import type { TrainOptions } from '../loop/train-options.js';
import type { Optimizer } from '../optim/optimizers.js';
import { localRunner } from './local.js';
import { resolveWorkers } from './workers.js';

/** Starts replicas on worker threads: Node's is `startPool` of `pool.ts`. */
export type PoolStarter = (
  model: ModelLike,
  optimizer: Optimizer,
  options: TrainOptions,
  workers: number,
  classes: number,
  frozen: readonly string[],
) => Promise<StepRunner>;

/** What choosing a runner needs of the platform. */
export interface RunnerPlatform {
  /** Where the run is, for messages: 'in a browser'. */
  readonly name: string;
  /** Cores that `workers: 'auto'` may use. */
  cores(): number;
  /** Absent where there are no worker threads. */
  readonly startPool?: PoolStarter;
}

/**
 * The runner for `options.workers` on this backend and platform: this thread's
 * for one worker, the platform's pool for more (refused where it has none).
 * Says what 'auto' chose, and when a resume changes the number of workers of
 * the run it continues (`resumedWorkers`), that the result is no longer bitwise.
 */
export async function startRunner(
  platform: RunnerPlatform,
  model: ModelLike,
  optimizer: Optimizer,
  params: TrainParams,
  options: TrainOptions,
  classes: number,
  progress: Progress,
  resumedWorkers: number | undefined,
  frozen: readonly string[] = [],
): Promise<{ runner: StepRunner; workers: number }> {
  const { workers, note } = resolveWorkers(
    options.workers,
    tf.getBackend(),
    options.batchSize,
    platform.cores(),
  );
  if (note) progress.message(note);
  if (resumedWorkers !== undefined && resumedWorkers !== workers) {
    progress.message(
      `resuming a run trained with ${resumedWorkers} worker${resumedWorkers === 1 ? '' : 's'} on ${workers}: the result will not be bitwise that of continuing with ${resumedWorkers}`,
    );
  }
  if (workers === 1) {
    return { runner: localRunner(model, optimizer, params, options, classes), workers };
  }
  if (!platform.startPool) {
    throw new Error(
      `train: workers: ${workers} needs worker threads, and there are none ${platform.name}; train with workers: 1`,
    );
  }
  return {
    runner: await platform.startPool(model, optimizer, options, workers, classes, frozen),
    workers,
  };
}
