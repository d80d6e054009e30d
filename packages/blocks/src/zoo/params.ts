/**
 * Parameter counts of zoo models from their architecture records, without
 * building them: building the largest RepVGGs initializes over 100M weights,
 * minutes on a CPU, where counting takes microseconds. What is counted is what
 * the built model's `countParams()` counts: every weight, BN running
 * statistics included.
 */
import {
  ARCHITECTURES,
  type ArchOptions,
  architecture,
  type BlockRecord,
  blockWeights,
  isArchitectureName,
} from '@repnets/fuse';
import { DEFAULT_SE_RATIO, seHidden } from '../layers/se-weights.js';
import type { ZooName } from './index.js';

/** Parameters of one zoo model in each form. */
export interface ZooParams {
  /** Multi-branch blocks: every branch's conv, four BN vectors per branch, SE, head. */
  readonly train: number;
  /** Each block one conv with bias, SE, head. */
  readonly deploy: number;
}

/** The squeeze-excite's two 1x1 convs with biases (its width is the layers' choice, not fuse's). */
function se(b: BlockRecord): number {
  if (b.se === 'none') return 0;
  const hidden = b.seHidden ?? seHidden(b.outChannels, DEFAULT_SE_RATIO);
  return 2 * b.outChannels * hidden + hidden + b.outChannels;
}

/** Convs and BNs as fuse counts them from the record, plus the squeeze-excite. */
const trainBlock = (b: BlockRecord) => blockWeights(b, 'train') + se(b);
const deployBlock = (b: BlockRecord) => blockWeights(b, 'deploy') + se(b);

/**
 * The parameters of `createModel(name, options)` in train and deploy form,
 * from the record alone: `zooParams('repvgg_a0').deploy` is 8,309,384 (1000
 * classes).
 */
export function zooParams(name: ZooName, options: ArchOptions = {}): ZooParams {
  if (!isArchitectureName(name)) {
    throw new Error(
      `zooParams: unknown model '${String(name)}'; known: ${ARCHITECTURES.join(', ')}`,
    );
  }
  const record = architecture(name, options);
  const last = record.blocks.at(-1)!;
  const head = last.outChannels * record.numClasses + record.numClasses;
  const sum = (f: (b: BlockRecord) => number) => record.blocks.reduce((n, b) => n + f(b), 0);
  return { train: sum(trainBlock) + head, deploy: sum(deployBlock) + head };
}
