import type { BatchNorm } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { batchNormTraining, runningStats } from './batchnorm-training.js';
import type { WeightAdder } from './weight-adder.js';

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
    const { y, mean, variance } = batchNormTraining(
      x,
      this.gamma.read() as tf.Tensor1D,
      this.beta.read() as tf.Tensor1D,
      this.epsilon,
    );
    this.updateRunningStats(x, mean, variance);
    tf.dispose([mean, variance]);
    return y;
  }

  private updateRunningStats(x: tf.Tensor4D, mean: tf.Tensor, variance: tf.Tensor): void {
    const [nextMean, nextVariance] = runningStats(
      this.movingMean.read(),
      this.movingVariance.read(),
      mean,
      variance,
      this.momentum,
      x.shape[0] * x.shape[1] * x.shape[2],
    );
    this.movingMean.write(nextMean!);
    this.movingVariance.write(nextVariance!);
    tf.dispose([nextMean!, nextVariance!]); // the variables keep the data
  }

  /** Sets gamma, beta and the running statistics (lengths checked by the caller). */
  set(bn: BatchNorm): void {
    const pairs: [tf.LayerVariable, Float32Array][] = [
      [this.gamma, bn.gamma ?? new Float32Array(bn.mean.length).fill(1)],
      [this.beta, bn.beta ?? new Float32Array(bn.mean.length)],
      [this.movingMean, bn.mean],
      [this.movingVariance, bn.variance],
    ];
    for (const [v, data] of pairs) {
      const t = tf.tensor1d(data, 'float32');
      v.write(t);
      t.dispose();
    }
  }

  /** {@link toFuse} read synchronously (dataSync). */
  toFuseSync(): BatchNorm {
    const [gamma, beta, mean, variance] = [
      this.gamma,
      this.beta,
      this.movingMean,
      this.movingVariance,
    ].map((v) => v.read().dataSync() as Float32Array);
    return { gamma: gamma!, beta: beta!, mean: mean!, variance: variance!, eps: this.epsilon };
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
