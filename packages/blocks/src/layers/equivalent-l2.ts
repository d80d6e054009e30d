/**
 * RepVGG's custom L2 on the equivalent kernel of a kxk branch and a 1x1 branch,
 * shared by RepVGGBlock (both branches with BN) and QARepVGGBlock (a 1x1
 * without BN, whose scale is then 1).
 */
import * as tf from '@tensorflow/tfjs';
import type { BNWeights } from './batchnorm-weights.js';

/** Identity forward, zero gradient (PyTorch's detach): TF.js has no stopGradient op. */
const detach = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: (args[0] as tf.Tensor).clone(),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/** A branch's per-channel BN scale gamma / sqrt(runningVar + eps), held constant; 1 for a branch without BN. */
function bnScale(bn: BNWeights | undefined, channels: number): tf.Tensor {
  if (bn === undefined) return tf.ones([channels]);
  return detach(bn.gamma.read().div(bn.movingVariance.read().add(bn.epsilon).sqrt()));
}

/** One conv branch as the L2 reads it: its HWIO kernel and its BN, if any. */
export interface L2Branch {
  readonly kernel: tf.LayerVariable;
  readonly bn?: BNWeights;
}

/**
 * The dense kernel's taps outside the centre squared as usual, plus the centre
 * taps as the equivalent kernel `Kd_centre * td + K1 * t1` divided by
 * `td^2 + t1^2`, so the two branches are not pulled to zero separately.
 * Without a 1x1 branch: the plain sum of squares of the dense kernel. Call
 * inside tf.tidy.
 */
export function equivalentKernelL2(dense: L2Branch, one: L2Branch | undefined): tf.Scalar {
  const kd = dense.kernel.read();
  if (!one) return kd.square().sum() as tf.Scalar;
  const k = kd.shape[0]!;
  const c = (k - 1) / 2;
  const channels = kd.shape[3]!;
  const td = bnScale(dense.bn, channels);
  const t1 = bnScale(one.bn, channels);
  const centre = kd.slice([c, c, 0, 0], [1, 1, -1, -1]);
  const circle = kd.square().sum().sub(centre.square().sum());
  const eq = centre.mul(td).add(one.kernel.read().mul(t1));
  return circle.add(eq.square().div(td.square().add(t1.square())).sum()) as tf.Scalar;
}
