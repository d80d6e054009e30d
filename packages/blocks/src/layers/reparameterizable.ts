/**
 * What a foldable layer promises `reparameterize`: its deploy form as one conv
 * with bias (+ SE and activation), and how many branches that replaces.
 */
import type { FoldedConv } from '@repnets/fuse';
import type * as tf from '@tensorflow/tfjs';
import type { ActivationName } from './conv-ops.js';
import type { SEPosition, SEValues } from './se-weights.js';

/** The folded conv of a deploy block, whatever follows it. */
interface DeployConvCore {
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  /** Symmetric zero padding (k//2), applied by a ZeroPadding2D layer before the conv. */
  readonly pad: number;
  readonly groups: number;
  readonly inChannels: number;
  readonly folded: FoldedConv<'HWIO'>;
  readonly activation: ActivationName;
}

/**
 * What a folded block becomes: one conv with bias, then its SE and activation.
 * Exact on purpose: a block with squeeze-excite must carry its values and one
 * without may carry none, so a producer that names the field wrongly or may
 * leave it out does not compile (a stale `seWeights` once did, and every SE
 * checkpoint failed at run time).
 */
export type DeployConv = DeployConvCore &
  (
    | { readonly se: 'none'; readonly seValues?: never }
    | { readonly se: Exclude<SEPosition, 'none'>; readonly seValues: SEValues }
  );

/** A layer that folds into a {@link DeployConv}; `reparameterize` walks these. */
export interface Reparameterizable {
  /** Reads the trained weights (running BN statistics) and folds them. */
  toDeploy(): Promise<DeployConv>;
  /** Parallel branches before the fold, identity included (once built). */
  readonly branchCount: number;
}

export function isReparameterizable(layer: unknown): layer is tf.layers.Layer & Reparameterizable {
  const l = layer as Partial<Reparameterizable>;
  return typeof l?.toDeploy === 'function' && typeof l.branchCount === 'number';
}
