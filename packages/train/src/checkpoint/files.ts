/**
 * The file system the loop writes checkpoints to and resumes from: Node's (see
 * `train-node.ts`); a browser has none.
 */
import type { Checkpoint } from './checkpoint.js';

export interface CheckpointFiles {
  join(dir: string, file: string): string;
  exists(path: string): boolean;
  load(path: string): Promise<Checkpoint>;
  save(path: string, ckpt: Checkpoint): Promise<void>;
  /** Removes temporary files that killed saves left in `dir`; resolves to their paths. */
  removeStale?(dir: string): Promise<string[]>;
}
