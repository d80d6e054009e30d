import * as tf from '@tensorflow/tfjs';
import type { BNOptions } from '../layers/batchnorm-weights.js';
import { glorotUniform } from '../layers/init-seed.js';

/** Options every zoo builder takes. */
export interface ModelOptions {
  /** Classifier outputs (default 1000). */
  readonly numClasses?: number;
  /** Input height and width (default 224). */
  readonly inputSize?: number | readonly [number, number];
  /** Input channels: 3 for RGB (default), 1 for MNIST. */
  readonly channels?: number;
  /** Replaces the family's per-stage width multipliers. */
  readonly widthMultipliers?: readonly number[];
  /**
   * 'imagenet' (default): stride-2 stem, as published. 'cifar': stride-1 stem,
   * for 28-32 px inputs (MNIST, CIFAR), so the last stage still sees 2x2.
   */
  readonly variant?: 'imagenet' | 'cifar';
  readonly bn?: BNOptions;
  /**
   * Seed of the initial weights: the same seed builds the same weights (default:
   * unseeded, as TF.js).
   */
  readonly seed?: number;
  /** Model name (default: the zoo name). */
  readonly name?: string;
}

export interface ResolvedOptions {
  readonly numClasses: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly stemStride: number;
  readonly bn: BNOptions;
}

export function resolve(opts: ModelOptions, family: string): ResolvedOptions {
  const numClasses = opts.numClasses ?? 1000;
  const [height, width] =
    typeof opts.inputSize === 'number'
      ? [opts.inputSize, opts.inputSize]
      : (opts.inputSize ?? [224, 224]);
  const channels = opts.channels ?? 3;
  for (const [k, v] of Object.entries({ numClasses, height, width, channels })) {
    if (!Number.isInteger(v) || v < 1)
      throw new Error(`${family}: option '${k}' must be a positive integer, got ${v}`);
  }
  if (opts.variant !== undefined && opts.variant !== 'imagenet' && opts.variant !== 'cifar') {
    throw new Error(
      `${family}: option 'variant' must be 'imagenet' or 'cifar', got '${String(opts.variant)}'`,
    );
  }
  return {
    numClasses,
    height,
    width,
    channels,
    stemStride: opts.variant === 'cifar' ? 1 : 2,
    bn: opts.bn ?? {},
  };
}

export function widthsOrThrow(
  family: string,
  given: readonly number[] | undefined,
  defaults: readonly number[],
): readonly number[] {
  const w = given ?? defaults;
  if (w.length !== defaults.length || !w.every((m) => m > 0)) {
    throw new Error(
      `${family}: widthMultipliers must be ${defaults.length} positive numbers, got [${w.join(', ')}]`,
    );
  }
  return w;
}

export function head(x: tf.SymbolicTensor, numClasses: number): tf.SymbolicTensor {
  const pooled = tf.layers.globalAveragePooling2d({ name: 'head_pool' }).apply(x);
  return tf.layers
    .dense({ units: numClasses, name: 'head_fc', kernelInitializer: glorotUniform() })
    .apply(pooled) as tf.SymbolicTensor;
}

export function inputFor(o: ResolvedOptions): tf.SymbolicTensor {
  return tf.input({ shape: [o.height, o.width, o.channels], name: 'input' });
}
