/**
 * Steps over replicas on worker threads (Node): the pool of `parallel/` as a
 * {@link StepRunner}, started with the training thread's backend and options.
 */
import * as tf from '@tensorflow/tfjs';
import { wasmTrainingSimdActive } from '../engine/wasm/simd-heap-kernels.js';
import { evalBatches, evalResult } from '../loop/evaluate.js';
import { MetricSums } from '../loop/metrics.js';
import type { ModelLike } from '../loop/model.js';
import type { StepRunner } from '../loop/step-runner.js';
import type { TrainOptions } from '../loop/train-options.js';
import type { Optimizer } from '../optim/optimizers.js';
import { type ReplicableModel, ReplicaPool } from '../parallel/pool.js';

export async function startPool(
  model: ModelLike,
  optimizer: Optimizer,
  options: TrainOptions,
  workers: number,
  classes: number,
  frozen: readonly string[],
): Promise<StepRunner> {
  if (typeof model.save !== 'function') {
    throw new Error(
      `train: workers: ${workers} needs a tf.LayersModel (the replicas are rebuilt from model.save())`,
    );
  }
  const replicable = model as ModelLike & ReplicableModel;
  const pool = await ReplicaPool.start(replicable, optimizer, {
    workers,
    backend: tf.getBackend(),
    wasmSimd: tf.getBackend() !== 'wasm' || wasmTrainingSimdActive(tf.backend()),
    modules: (options.workerModules ?? []).map(String),
    optimizer: options.optimizer,
    classes,
    labelSmoothing: options.labelSmoothing ?? 0,
    clipGradNorm: options.clipGradNorm,
    customL2: options.customL2 === true,
    frozenLayers: frozen,
    backboneLrFactor: options.backboneLrFactor ?? 1,
  });
  return {
    step: (b, lr, epoch, index) => pool.step(b, lr, epoch, index),
    sync: () => pool.sync(replicable, optimizer),
    async evaluate(dataset, evalOptions) {
      const sums = new MetricSums();
      for (const { metrics, count } of await pool.evaluate(evalBatches(dataset, evalOptions))) {
        sums.add(metrics, count);
      }
      return evalResult(sums);
    },
    close: () => pool.close(),
  };
}
