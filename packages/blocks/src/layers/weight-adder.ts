import type * as tf from '@tensorflow/tfjs';

/**
 * Creates a weight on the owning layer (Layer.addWeight is protected): what a
 * block hands the BN and SE weight groups it is made of.
 */
export type WeightAdder = (
  name: string,
  shape: number[],
  init: ReturnType<typeof tf.initializers.zeros>,
  trainable?: boolean,
) => tf.LayerVariable;
