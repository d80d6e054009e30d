import type { BatchNorm } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import type { WeightAdder } from './block-base.js';

/** BatchNorm settings shared by every block of a model. */
export interface BNOptions {
  /**
   * Added to the running variance. Default 1e-5 (PyTorch's), not TF.js's 1e-3:
   * the zoo follows the reference recipes. Folding always reads the layer's own value.
   */
  readonly epsilon?: number;
  /**
   * TF convention: `moving = moving * momentum + batch * (1 - momentum)`. Default
   * 0.9, PyTorch's momentum=0.1; TF.js's own default 0.99 lags badly in short runs.
   */
  readonly momentum?: number;
}

export const DEFAULT_BN_EPSILON = 1e-5;
export const DEFAULT_BN_MOMENTUM = 0.9;

/**
 * The four BN tensors of one branch, owned by the layer that holds the branch.
 * Inference uses the running statistics; training normalizes with batch moments
 * and updates the running statistics as tf.layers.batchNormalization does.
 */
export class BNWeights {
  readonly gamma: tf.LayerVariable;
  readonly beta: tf.LayerVariable;
  readonly movingMean: tf.LayerVariable;
  readonly movingVariance: tf.LayerVariable;

  constructor(
    add: WeightAdder,
    prefix: string,
    channels: number,
    readonly epsilon: number,
    readonly momentum: number,
  ) {
    this.gamma = add(`${prefix}_gamma`, [channels], tf.initializers.ones(), true);
    this.beta = add(`${prefix}_beta`, [channels], tf.initializers.zeros(), true);
    this.movingMean = add(`${prefix}_moving_mean`, [channels], tf.initializers.zeros(), false);
    this.movingVariance = add(
      `${prefix}_moving_variance`,
      [channels],
      tf.initializers.ones(),
      false,
    );
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (!training) {
      return tf.batchNorm4d(
        x,
        this.movingMean.read() as tf.Tensor1D,
        this.movingVariance.read() as tf.Tensor1D,
        this.beta.read() as tf.Tensor1D,
        this.gamma.read() as tf.Tensor1D,
        this.epsilon,
      );
    }
    return this.trainingForward(
      x,
      this.gamma.read() as tf.Tensor1D,
      this.beta.read() as tf.Tensor1D,
    );
  }

  /**
   * Batch-statistics BN with its closed-form gradient
   * `dx = gamma * invStd * (dy - mean(dy) - xhat * mean(dy * xhat))`,
   * `dgamma = sum(dy * xhat)`, `dbeta = sum(dy)`. Autodiff of tf.batchNorm
   * broadcasts with Tile, which the wasm backend runs slowly (it was the largest
   * kernel in a MobileOne training step); this needs only reductions and
   * broadcasting arithmetic. The running statistics are updated on the way.
   */
  private readonly trainingForward = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, gamma, beta, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    this.updateRunningStats(x as tf.Tensor4D, mean, variance);
    const invStd = tf.rsqrt(variance.add(this.epsilon));
    const xhat = x.sub(mean).mul(invStd);
    save([xhat, invStd, gamma]);
    return {
      value: xhat.mul(gamma).add(beta) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dbeta = dy.sum([0, 1, 2]);
        const dgamma = dy.mul(xh).sum([0, 1, 2]);
        const n = dy.size / dy.shape[3]!;
        const dx = dy
          .sub(dbeta.div(n))
          .sub(xh.mul(dgamma.div(n)))
          .mul(g.mul(inv));
        return [dx, dgamma, dbeta];
      },
    };
  }) as (x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor4D;

  private updateRunningStats(x: tf.Tensor4D, mean: tf.Tensor, variance: tf.Tensor): void {
    const m = this.momentum;
    tf.tidy(() => {
      const n = x.shape[0] * x.shape[1] * x.shape[2];
      // Running variance is the unbiased estimate, as PyTorch keeps it.
      const unbiased = n > 1 ? variance.mul(n / (n - 1)) : variance;
      this.movingMean.write(
        this.movingMean
          .read()
          .mul(m)
          .add(mean.mul(1 - m)),
      );
      this.movingVariance.write(
        this.movingVariance
          .read()
          .mul(m)
          .add(unbiased.mul(1 - m)),
      );
    });
  }

  /** The running statistics as a @repnets/fuse BatchNorm (async: safe on every backend). */
  async toFuse(): Promise<BatchNorm> {
    const [gamma, beta, mean, variance] = await Promise.all(
      [this.gamma, this.beta, this.movingMean, this.movingVariance].map(
        (v) => v.read().data() as Promise<Float32Array>,
      ),
    );
    return { gamma, beta, mean: mean!, variance: variance!, eps: this.epsilon };
  }
}
