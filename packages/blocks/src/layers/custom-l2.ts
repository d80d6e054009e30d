import type * as tf from '@tensorflow/tfjs';

/**
 * A layer with RepVGG's custom L2 (Ding et al., CVPR 2021, the `get_custom_L2`
 * of repvgg.py): weight decay on the equivalent kernel of its branches instead
 * of on each branch kernel. RepVGGBlock implements it; @repnets/train's
 * `customL2` option finds the layers that do through {@link hasCustomL2}.
 */
export interface CustomL2Regularized {
  /** The L2 of the block's equivalent kernel, as a scalar the loss adds. */
  customL2(): tf.Scalar;
  /** The kernels that term regularizes: they get no plain weight decay. */
  customL2Variables(): tf.LayerVariable[];
}

export function hasCustomL2(layer: unknown): layer is tf.layers.Layer & CustomL2Regularized {
  const l = layer as Partial<CustomL2Regularized> | null;
  return typeof l?.customL2 === 'function' && typeof l.customL2Variables === 'function';
}
