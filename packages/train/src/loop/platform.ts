/** The platform the loop runs on: `train-node.ts` and `train-browser.ts` each give it one. */

import type { Batch, Dataset } from '../data/types.js';
import type { Checkpoint } from './checkpoint.js';
import type { EvalOptions, EvalResult } from './evaluate.js';
import type { ModelLike } from './model.js';
import type { Optimizer } from './optimizers.js';
import type { ProgressSink } from './progress.js';
import type { TrainOptions } from './train-options.js';

/**
 * What the loop needs from where it runs. Node has all of it; a browser has no
 * checkpoint files and no worker threads, and the loop refuses, naming why,
 * the options that need them.
 */
export interface TrainPlatform {
  /** Where the run is, for messages: 'in this browser'. */
  readonly name: string;
  /** Where progress goes when `output` is not given. */
  output(): ProgressSink;
  /** Cores that `workers: 'auto'` may use. */
  cores(): number;
  readonly checkpointFiles?: CheckpointFiles;
  startPool?(
    model: ModelLike,
    optimizer: Optimizer,
    options: TrainOptions,
    workers: number,
    classes: number,
  ): Promise<StepRunner>;
}

export interface CheckpointFiles {
  join(dir: string, file: string): string;
  exists(path: string): boolean;
  load(path: string): Promise<Checkpoint>;
  save(path: string, ckpt: Checkpoint): Promise<void>;
  /** Removes temporary files that killed saves left in `dir`; resolves to their paths. */
  removeStale?(dir: string): Promise<string[]>;
}

/** How the loop runs its steps: in this thread, or over a pool of replicas. */
export interface StepRunner {
  /** One optimizer step; resolves to [loss sum, top-1 hits, top-5 hits] of the batch. */
  step(b: Batch, lr: number, epoch: number, index: number): Promise<ArrayLike<number>>;
  /** Brings the model (and the optimizer state) of this thread up to date. */
  sync(): Promise<void>;
  /** Evaluates elsewhere than on this thread (after sync); absent: evaluate() here. */
  evaluate?(dataset: Dataset, options: EvalOptions): Promise<EvalResult>;
  close(): Promise<void>;
}
