import * as tf from '@tensorflow/tfjs';
import { type ActivationName, activate, convOutSize, groupedConv2d, single } from './conv-ops.js';
import { heNormal } from './init-seed.js';
import { type CommonBlockArgs, channelsOf, layerArgs } from './layer-args.js';

export interface GroupConv2DArgs
  extends Pick<CommonBlockArgs, 'name' | 'trainable' | 'inputShape' | 'batchInputShape'> {
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides?: number;
  readonly groups: number;
  /** Symmetric zero padding on every side (default 0). */
  readonly pad?: number;
  readonly useBias?: boolean;
  /** 'relu' or 'linear' (default). */
  readonly activation?: ActivationName;
  /** 'heNormal' (default) or 'zeros' (for layers whose weights are set right away). */
  readonly kernelInitializer?: 'heNormal' | 'zeros';
}

/**
 * A grouped convolution with bias, the deploy form of grouped blocks (RepVGG
 * g2/g4). TF.js has no groups argument; the kernel is HWIO [k, k, in/groups, out]
 * and runs as split / conv / concat (or depthwise when groups == in channels).
 */
export class GroupConv2D extends tf.layers.Layer {
  static readonly className = 'GroupConv2D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly groups: number;
  readonly pad: number;
  readonly useBias: boolean;
  readonly kernelInitializer: 'heNormal' | 'zeros';
  readonly activation: ActivationName;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;

  constructor(args: GroupConv2DArgs) {
    super(layerArgs(args));
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
    this.groups = args.groups;
    this.pad = args.pad ?? 0;
    this.useBias = args.useBias ?? true;
    this.kernelInitializer = args.kernelInitializer ?? 'heNormal';
    this.activation = args.activation ?? 'linear';
    if (!Number.isInteger(this.groups) || this.groups < 1 || this.filters % this.groups !== 0) {
      throw new Error(
        `GroupConv2D '${this.name}': groups ${args.groups} must divide filters ${args.filters}`,
      );
    }
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const inC = channelsOf(this.name, inputShape);
    if (inC % this.groups !== 0) {
      throw new Error(
        `GroupConv2D '${this.name}': groups ${this.groups} does not divide ${inC} input channels`,
      );
    }
    const k = this.kernelSize;
    const init = this.kernelInitializer === 'zeros' ? tf.initializers.zeros() : heNormal();
    this.kernel = this.addWeight(
      'kernel',
      [k, k, inC / this.groups, this.filters],
      'float32',
      init,
    );
    if (this.useBias)
      this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const k = this.kernelSize;
    return [
      s[0] ?? null,
      convOutSize(s[1] ?? null, k, this.strides, this.pad),
      convOutSize(s[2] ?? null, k, this.strides, this.pad),
      this.filters,
    ];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const y = groupedConv2d(
        single(inputs),
        this.kernel!.read() as tf.Tensor4D,
        this.strides,
        this.pad,
        this.groups,
      );
      return activate(this.bias ? y.add<tf.Tensor4D>(this.bias.read()) : y, this.activation);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      groups: this.groups,
      pad: this.pad,
      useBias: this.useBias,
      kernelInitializer: this.kernelInitializer,
      activation: this.activation,
    };
  }
}
