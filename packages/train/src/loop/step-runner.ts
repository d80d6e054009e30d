/**
 * How the loop runs its steps: in this thread, or over the platform's pool of
 * replicas when `workers` resolves to more than one.
 */
import * as tf from '@tensorflow/tfjs';
import { resolveWorkers } from '../parallel/shards.js';
import type { ModelLike } from './model.js';
import { clipByGlobalNorm, type Optimizer } from './optimizers.js';
import type { TrainParams } from './params.js';
import type { StepRunner, TrainPlatform } from './platform.js';

export type { StepRunner } from './platform.js';

import type { Progress } from './progress.js';
import { type LossSpec, lossGradients } from './step.js';
import type { TrainOptions } from './train-options.js';

/** Steps in this thread: the mean loss's gradients (clipped with `clipGradNorm`), then the update. */
function localRunner(
  model: ModelLike,
  optimizer: Optimizer,
  { params, l2Layers }: TrainParams,
  options: TrainOptions,
  classes: number,
): StepRunner {
  const vars = params.map((p) => p.variable);
  const spec: LossSpec = {
    classes,
    labelSmoothing: options.labelSmoothing ?? 0,
    l2Layers,
    weightDecay: options.optimizer.weightDecay ?? 0,
    reduce: { kind: 'mean' },
  };
  return {
    async step(b, lr) {
      const m = tf.tidy(() => {
        const x = tf.tensor4d(b.images, b.shape as [number, number, number, number]);
        const y = tf.tensor1d(b.labels, 'int32');
        const { grads, metrics } = lossGradients(model, vars, x, y, spec);
        const g = options.clipGradNorm
          ? clipByGlobalNorm(grads, options.clipGradNorm).grads
          : grads;
        optimizer.step(g, lr);
        return metrics;
      });
      const values = await m.data();
      m.dispose();
      return values;
    },
    async sync() {},
    async close() {},
  };
}

/**
 * The runner for `options.workers` on this backend and platform: this thread's
 * for one worker, the platform's pool for more (refused where it has none).
 * Says what 'auto' chose, and when a resume changes the number of workers of
 * the run it continues (`resumedWorkers`), that the result is no longer bitwise.
 */
export async function startRunner(
  platform: TrainPlatform,
  model: ModelLike,
  optimizer: Optimizer,
  params: TrainParams,
  options: TrainOptions,
  classes: number,
  progress: Progress,
  resumedWorkers: number | undefined,
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
  if (workers > 1 && !platform.startPool) {
    throw new Error(
      `train: workers: ${workers} needs worker threads, and there are none ${platform.name}; train with workers: 1`,
    );
  }
  const runner =
    workers === 1
      ? localRunner(model, optimizer, params, options, classes)
      : await platform.startPool!(model, optimizer, options, workers, classes);
  return { runner, workers };
}
