import * as tf from '@tensorflow/tfjs';
import { single } from './conv-ops.js';
import { type CommonBlockArgs, channelsOf, layerArgs } from './layer-args.js';
import { DEFAULT_SE_RATIO, type SEValues, SEWeights, seHidden } from './se-weights.js';
import type { WeightAdder } from './weight-adder.js';

export interface SEBlockArgs
  extends Pick<CommonBlockArgs, 'name' | 'trainable' | 'inputShape' | 'batchInputShape'> {
  /** Hidden width as a fraction of the channels (default 1/16, as RepVGG and MobileOne use). */
  readonly ratio?: number;
}

/** Squeeze-excitation as a standalone layer: `x * sigmoid(up(relu(down(mean_hw(x)))))`. */
export class SEBlock extends tf.layers.Layer {
  static readonly className = 'SEBlock';
  readonly ratio: number;
  private se?: SEWeights;

  constructor(args: SEBlockArgs = {}) {
    super(layerArgs(args));
    this.ratio = args.ratio ?? DEFAULT_SE_RATIO;
    if (!(this.ratio > 0 && this.ratio <= 1)) {
      throw new Error(`SEBlock '${this.name}': ratio must be in (0, 1], got ${args.ratio}`);
    }
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = channelsOf(this.name, inputShape);
    const add: WeightAdder = (name, shape, init, trainable = true) =>
      this.addWeight(name, shape, 'float32', init, undefined, trainable);
    this.se = new SEWeights(add, 'se', c, seHidden(c, this.ratio));
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => this.se!.apply(single(inputs)));
  }

  /** The trained values, for the deploy form and ONNX export. */
  seValues(): Promise<SEValues> {
    if (!this.se) throw new Error(`SEBlock '${this.name}': not built`);
    return this.se.toFuse();
  }

  /** Hidden channels of the reduce conv (once built). */
  get hidden(): number {
    if (!this.se) throw new Error(`SEBlock '${this.name}': not built`);
    return this.se.hidden;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ratio: this.ratio };
  }
}
