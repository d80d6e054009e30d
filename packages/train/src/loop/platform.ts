/** The platform the loop runs on: `train-node.ts` and `train-browser.ts` each give it one. */
import type { Checkpoint } from './checkpoint.js';
import type { ModelLike } from './model.js';
import type { Optimizer } from './optimizers.js';
import type { ProgressSink } from './progress.js';
import type { StepRunner } from './step-runner.js';
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
