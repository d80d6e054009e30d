import { type FoldedConv, makeKernel } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { glorotUniform, heNormal } from './init-seed.js';
import type { WeightAdder } from './weight-adder.js';

/** Where a block applies squeeze-excitation: before its nonlinearity (RepVGG-D2se) or after (RepVGGplus). */
export type SEPosition = 'none' | 'pre' | 'post';

/** Hidden width of an SE block: channels * ratio, at least 1 (both papers use 1/16). */
/** Hidden channels per input channel of a squeeze-excite unless told otherwise (RepVGG-D2se, MobileOne). */
export const DEFAULT_SE_RATIO = 1 / 16;

export function seHidden(channels: number, ratio: number): number {
  return Math.max(1, Math.floor(channels * ratio));
}

/** A squeeze-excite's values: the reduce and the expand 1x1 conv, each with its bias. */
export interface SEValues {
  /** HWIO [1, 1, C, hidden]. */
  readonly down: FoldedConv<'HWIO'>;
  /** HWIO [1, 1, hidden, C]. */
  readonly up: FoldedConv<'HWIO'>;
}

/**
 * Squeeze-excitation `x * sigmoid(up(relu(down(mean_hw(x)))))` with 1x1 convs
 * with bias. Folding does not touch it: it survives reparameterization as is.
 */
export class SEWeights {
  readonly downKernel: tf.LayerVariable;
  readonly downBias: tf.LayerVariable;
  readonly upKernel: tf.LayerVariable;
  readonly upBias: tf.LayerVariable;

  constructor(
    add: WeightAdder,
    prefix: string,
    channels: number,
    readonly hidden: number,
  ) {
    this.downKernel = add(`${prefix}_down_kernel`, [1, 1, channels, hidden], heNormal());
    this.downBias = add(`${prefix}_down_bias`, [hidden], tf.initializers.zeros());
    this.upKernel = add(`${prefix}_up_kernel`, [1, 1, hidden, channels], glorotUniform());
    this.upBias = add(`${prefix}_up_bias`, [channels], tf.initializers.zeros());
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const s = tf.mean(x, [1, 2], true) as tf.Tensor4D;
    const h = tf.relu(
      tf.conv2d(s, this.downKernel.read() as tf.Tensor4D, 1, 0).add(this.downBias.read()),
    );
    const g = tf.sigmoid(
      tf
        .conv2d(h as tf.Tensor4D, this.upKernel.read() as tf.Tensor4D, 1, 0)
        .add(this.upBias.read()),
    );
    return x.mul<tf.Tensor4D>(g);
  }

  /** {@link toFuse} read synchronously (dataSync). */
  toFuseSync(): SEValues {
    const conv = (k: tf.LayerVariable, b: tf.LayerVariable): FoldedConv<'HWIO'> => ({
      kernel: makeKernel('HWIO', k.shape as number[], k.read().dataSync() as Float32Array),
      bias: b.read().dataSync() as Float32Array,
    });
    return { down: conv(this.downKernel, this.downBias), up: conv(this.upKernel, this.upBias) };
  }

  /** The trained values, by name, as @repnets/fuse's folded convs (1x1 HWIO kernels with bias). */
  async toFuse(): Promise<SEValues> {
    const data = async (v: tf.LayerVariable) => (await v.read().data()) as Float32Array;
    const conv = async (k: tf.LayerVariable, b: tf.LayerVariable): Promise<FoldedConv<'HWIO'>> => ({
      kernel: makeKernel('HWIO', k.shape as number[], await data(k)),
      bias: await data(b),
    });
    return {
      down: await conv(this.downKernel, this.downBias),
      up: await conv(this.upKernel, this.upBias),
    };
  }
}
