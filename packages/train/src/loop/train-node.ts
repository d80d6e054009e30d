/**
 * `train()` in Node: checkpoints are files (written atomically), and
 * `workers > 1` runs data-parallel replicas on worker threads.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Dataset } from '../data/types.js';
import { wasmTrainingSimdActive } from '../engine/wasm/simd-heap-kernels.js';
import { type ReplicableModel, ReplicaPool } from '../parallel/pool.js';
import { loadCheckpoint, removeStaleTemps, saveCheckpoint } from './checkpoint.js';
import { evalBatches, evalResult } from './evaluate.js';
import { MetricSums } from './metrics.js';
import type { ModelLike } from './model.js';
import type { Optimizer } from './optimizers.js';
import type { TrainPlatform } from './platform.js';
import type { StepRunner } from './step-runner.js';
import { trainOn } from './train.js';
import type { TrainOptions, TrainResult } from './train-options.js';

async function startPool(
  model: ModelLike,
  optimizer: Optimizer,
  options: TrainOptions,
  workers: number,
  classes: number,
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
  });
  return {
    step: (b, lr, epoch, index) => pool.step(b, lr, epoch, index),
    sync: () => pool.sync(replicable, optimizer),
    async evaluate(dataset, evalOptions) {
      const { metrics, counts } = await pool.evaluate(evalBatches(dataset, evalOptions));
      const sums = new MetricSums();
      metrics.forEach((m, i) => {
        sums.add(m, counts[i]!);
      });
      return evalResult(sums);
    },
    close: () => pool.close(),
  };
}

const NODE: TrainPlatform = {
  name: 'here',
  output: () => process.stdout,
  cores: availableParallelism,
  checkpointFiles: {
    join,
    exists: existsSync,
    load: loadCheckpoint,
    save: saveCheckpoint,
    removeStale: removeStaleTemps,
  },
  startPool,
};

/**
 * Trains `model` on `data.train` (and evaluates on `data.test` after every
 * epoch) with the options' optimizer, schedule, augmentation, checkpoints and
 * worker threads. See {@link TrainOptions}.
 */
export function train(
  model: ModelLike,
  data: { train: Dataset; test?: Dataset },
  options: TrainOptions,
): Promise<TrainResult> {
  return trainOn(NODE, model, data, options);
}
