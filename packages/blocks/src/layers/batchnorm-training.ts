/**
 * Batch-statistics BatchNorm for training, as one differentiable op whose two
 * halves a backend may run as fused kernels.
 *
 * A MobileOne step normalizes every branch of every block, so BN is a large part
 * of its training time. Composed from TF.js ops it costs about six full passes
 * over the activation forward and eight backward, each a separate kernel with its
 * own allocation; a fused kernel needs three and two. Backends register the
 * kernels below (the training package does it for wasm); where none is
 * registered the composed form runs, with the same closed-form gradient.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Forward kernel. Inputs `{x: NHWC, gamma: [C], beta: [C]}`, attrs `{epsilon}`;
 * outputs `[y, mean, variance]` with the biased batch variance, as `tf.moments`.
 */
export const BN_TRAINING_KERNEL = 'RepNetsBatchNormTraining';
/**
 * Gradient kernel. Inputs `{dy, x, mean, variance, gamma}`, attrs `{epsilon}`;
 * outputs `[dx, dgamma, dbeta]`:
 * `dx = gamma * invStd * (dy - mean(dy) - xhat * mean(dy * xhat))`,
 * `dgamma = sum(dy * xhat)`, `dbeta = sum(dy)` (sums over N, H, W).
 */
export const BN_TRAINING_GRAD_KERNEL = 'RepNetsBatchNormTrainingGrad';

/**
 * Running-statistics kernel. Inputs `{movingMean, movingVariance, mean,
 * variance}` (all [C]), attrs `{momentum, count}`; outputs `[mean', variance']`:
 * `moving * momentum + batch * (1 - momentum)`, the batch variance made
 * unbiased (`* count / (count - 1)`, as PyTorch keeps it), in float32 steps
 * in that order. Seven small ops per BatchNorm otherwise: a MobileOne step
 * has 226 of them.
 */
export const BN_RUNNING_STATS_KERNEL = 'RepNetsBatchNormRunningStats';

function fusedKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

function forward(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number) {
  if (fusedKernel(BN_TRAINING_KERNEL)) {
    const [y, mean, variance] = tf
      .engine()
      .runKernel(BN_TRAINING_KERNEL, { x, gamma, beta }, { epsilon }) as tf.Tensor[];
    return { y: y as tf.Tensor4D, mean: mean!, variance: variance! };
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const invStd = tf.rsqrt(variance.add(epsilon));
    const y = x.sub(mean).mul(invStd).mul(gamma).add(beta) as tf.Tensor4D;
    return { y, mean, variance };
  });
}

function backward(
  dy: tf.Tensor,
  x: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  gamma: tf.Tensor,
  epsilon: number,
): tf.Tensor[] {
  if (fusedKernel(BN_TRAINING_GRAD_KERNEL)) {
    return tf
      .engine()
      .runKernel(
        BN_TRAINING_GRAD_KERNEL,
        { dy, x, mean, variance, gamma },
        { epsilon },
      ) as tf.Tensor[];
  }
  return tf.tidy(() => {
    const invStd = tf.rsqrt(variance.add(epsilon));
    const xhat = x.sub(mean).mul(invStd);
    const dbeta = dy.sum([0, 1, 2]);
    const dgamma = dy.mul(xhat).sum([0, 1, 2]);
    // Values per channel (N*H*W): gamma has one per channel.
    const n = dy.size / gamma.size;
    const dx = dy
      .sub(dbeta.div(n))
      .sub(xhat.mul(dgamma.div(n)))
      .mul(gamma.mul(invStd));
    return [dx, dgamma, dbeta];
  });
}

/**
 * Normalizes `x` (NHWC) with its own batch moments over N, H and W and returns
 * the output with those moments, so the caller can update running statistics.
 * Differentiable in x, gamma and beta with the closed-form gradient: autodiff of
 * tf.batchNorm broadcasts with Tile, which the wasm backend runs slowly.
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  let moments: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const { y, mean, variance } = forward(xi, g, b, epsilon);
    // keep() so the moments outlive customGrad's internal tidy; the caller disposes them.
    moments = { mean: tf.keep(mean) as tf.Tensor1D, variance: tf.keep(variance) as tf.Tensor1D };
    save([xi, mean, variance, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sm, sv, sg] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        return backward(dy, sx, sm, sv, sg, epsilon);
      },
    };
  }) as (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor4D;
  const y = op(x, gamma, beta);
  return { y, ...moments! };
}

/** The next running mean and variance (see BN_RUNNING_STATS_KERNEL); the caller owns both. */
export function runningStats(
  movingMean: tf.Tensor,
  movingVariance: tf.Tensor,
  mean: tf.Tensor,
  variance: tf.Tensor,
  momentum: number,
  count: number,
): [tf.Tensor, tf.Tensor] {
  if (fusedKernel(BN_RUNNING_STATS_KERNEL)) {
    return tf
      .engine()
      .runKernel(
        BN_RUNNING_STATS_KERNEL,
        { movingMean, movingVariance, mean, variance },
        { momentum, count },
      ) as [tf.Tensor, tf.Tensor];
  }
  return tf.tidy(() => {
    const unbiased = count > 1 ? variance.mul(count / (count - 1)) : variance;
    return [
      movingMean.mul(momentum).add(mean.mul(1 - momentum)),
      movingVariance.mul(momentum).add(unbiased.mul(1 - momentum)),
    ];
  });
}
