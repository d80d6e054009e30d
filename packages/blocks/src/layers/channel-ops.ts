import * as tf from '@tensorflow/tfjs';
import { single } from './conv-ops.js';
import { type CommonBlockArgs, channelsOf, layerArgs } from './layer-args.js';

type PlainArgs = Pick<CommonBlockArgs, 'name' | 'trainable' | 'inputShape' | 'batchInputShape'>;

export interface ChannelSplitArgs extends PlainArgs {
  /** Which part to keep, 0-based. */
  readonly part: number;
  /** Number of equal parts (default 2, ShuffleNetV2's split). */
  readonly parts?: number;
}

/** Keeps one of `parts` equal slices of the channels (ShuffleNetV2's channel split). */
export class ChannelSplit extends tf.layers.Layer {
  static readonly className = 'ChannelSplit';
  readonly part: number;
  readonly parts: number;

  constructor(args: ChannelSplitArgs) {
    super(layerArgs(args));
    this.part = args.part;
    this.parts = args.parts ?? 2;
    if (!Number.isInteger(this.part) || this.part < 0 || this.part >= this.parts) {
      throw new Error(
        `ChannelSplit '${this.name}': part must be in [0, ${this.parts}), got ${args.part}`,
      );
    }
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const c = channelsOf(this.name, inputShape);
    if (c % this.parts !== 0)
      throw new Error(`ChannelSplit '${this.name}': ${c} channels do not split into ${this.parts}`);
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [s[0] ?? null, s[1] ?? null, s[2] ?? null, c / this.parts];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = single(inputs);
    const c = x.shape[3] / this.parts;
    return tf.slice(x, [0, 0, 0, this.part * c], [-1, -1, -1, c]);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), part: this.part, parts: this.parts };
  }
}

export interface ChannelShuffleArgs extends PlainArgs {
  readonly groups?: number;
}

/** ShuffleNet's channel shuffle: [.., g, C/g] -> [.., C/g, g] on the channel axis. */
export class ChannelShuffle extends tf.layers.Layer {
  static readonly className = 'ChannelShuffle';
  readonly groups: number;

  constructor(args: ChannelShuffleArgs = {}) {
    super(layerArgs(args));
    this.groups = args.groups ?? 2;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const c = channelsOf(this.name, inputShape);
    if (c % this.groups !== 0)
      throw new Error(
        `ChannelShuffle '${this.name}': ${c} channels do not split into ${this.groups} groups`,
      );
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const [n, h, w, c] = x.shape;
      const g = this.groups;
      return x
        .reshape([n, h, w, g, c / g])
        .transpose([0, 1, 2, 4, 3])
        .reshape([n, h, w, c]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups };
  }
}
