import type { FoldedConv } from '@repnets/fuse';
import type * as tf from '@tensorflow/tfjs';
import { type BNOptions, DEFAULT_BN_EPSILON, DEFAULT_BN_MOMENTUM } from './batchnorm-weights.js';
import type { ActivationName } from './conv-ops.js';
import type { SEPosition, SEValues } from './se-weights.js';

export type { WeightAdder } from './weight-adder.js';

/** What a folded block becomes: one conv with bias, then its SE and activation. */
export interface DeployConv {
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  /** Symmetric zero padding (k//2), applied by a ZeroPadding2D layer before the conv. */
  readonly pad: number;
  readonly groups: number;
  readonly inChannels: number;
  readonly folded: FoldedConv<'HWIO'>;
  readonly activation: ActivationName;
  readonly se: SEPosition;
  /** The squeeze-excite's values when `se` is not 'none'. */
  readonly seValues?: SEValues;
}

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

/** Options every block takes besides its own. */
export interface CommonBlockArgs {
  readonly name?: string;
  readonly trainable?: boolean;
  readonly inputShape?: (number | null)[];
  readonly batchInputShape?: (number | null)[];
  readonly activation?: ActivationName;
  readonly bnEpsilon?: number;
  readonly bnMomentum?: number;
}

export function bnArgs(bn: BNOptions | undefined): { bnEpsilon: number; bnMomentum: number } {
  return {
    bnEpsilon: bn?.epsilon ?? DEFAULT_BN_EPSILON,
    bnMomentum: bn?.momentum ?? DEFAULT_BN_MOMENTUM,
  };
}

export function layerArgs(args: CommonBlockArgs) {
  const { name, trainable, inputShape, batchInputShape } = args;
  return { name, trainable, inputShape, batchInputShape } as ConstructorParameters<
    typeof tf.layers.Layer
  >[0];
}

/** Channel count of the last axis of a layer input shape. */
export function channelsOf(layer: string, inputShape: tf.Shape | tf.Shape[]): number {
  const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  const c = shape[shape.length - 1];
  if (shape.length !== 4 || c === null || c === undefined) {
    throw new Error(`${layer}: expected NHWC input with known channels, got [${shape.join(', ')}]`);
  }
  return c;
}
