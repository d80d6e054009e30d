/**
 * What an epoch drives its steps through. `runner/` has the two kinds: steps
 * in this thread, or over a pool of replicas on worker threads.
 */
import type { Batch, Dataset } from '../data/types.js';
import type { EvalOptions, EvalResult } from './evaluate.js';

export interface StepRunner {
  /** One optimizer step; resolves to [loss sum, top-1 hits, top-5 hits] of the batch. */
  step(b: Batch, lr: number, epoch: number, index: number): Promise<ArrayLike<number>>;
  /** Brings the model (and the optimizer state) of this thread up to date. */
  sync(): Promise<void>;
  /** Evaluates elsewhere than on this thread (after sync); absent: evaluate() here. */
  evaluate?(dataset: Dataset, options: EvalOptions): Promise<EvalResult>;
  close(): Promise<void>;
}
