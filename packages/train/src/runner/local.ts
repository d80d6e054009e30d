/** Steps in this thread: the mean loss's gradients (clipped with `clipGradNorm`), then the update. */
import * as tf from '@tensorflow/tfjs';
import type { ModelLike } from '../loop/model.js';
import type { TrainParams } from '../loop/params.js';
import { type LossSpec, lossGradients } from '../loop/step.js';
import type { StepRunner } from '../loop/step-runner.js';
import type { TrainOptions } from '../loop/train-options.js';
import { clipByGlobalNorm, type Optimizer } from '../optim/optimizers.js';

export function localRunner(
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
