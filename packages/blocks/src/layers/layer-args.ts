/** The arguments and input checks every RepNets layer shares. */
import type * as tf from '@tensorflow/tfjs';
import type { ActivationName } from './conv-ops.js';

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
