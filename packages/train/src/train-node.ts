/**
 * `train()` in Node: checkpoints are files (written atomically), and
 * `workers > 1` runs data-parallel replicas on worker threads.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint, removeStaleTemps, saveCheckpoint } from './checkpoint/checkpoint.js';
import type { Dataset } from './data/types.js';
import type { ModelLike } from './loop/model.js';
import type { TrainOptions, TrainResult } from './loop/train-options.js';
import { startPool } from './runner/pool.js';
import { type TrainPlatform, trainOn } from './train.js';

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
