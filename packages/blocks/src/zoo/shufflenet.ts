import * as tf from '@tensorflow/tfjs';
import { bnArgs } from '../layers/block-base.js';
import { ChannelShuffle, ChannelSplit } from '../layers/channel-ops.js';
import { ConvBN } from '../layers/conv-bn.js';
import { RepVGGBlock } from '../layers/repvgg-block.js';
import { head, inputFor, type ModelOptions, resolve } from './common.js';

/** Stage output channels of ShuffleNetV2 (Ma et al., ECCV 2018, Table 5). */
export const SHUFFLENET_SPECS = {
  repshufflenetv2_x0_5: [24, 48, 96, 192, 1024],
  repshufflenetv2_x1_0: [24, 116, 232, 464, 1024],
} as const satisfies Record<string, readonly number[]>;

export type RepShuffleNetName = keyof typeof SHUFFLENET_SPECS;

const REPEATS = [4, 8, 4];

type Bn = ReturnType<typeof bnArgs>;

/** 1x1 conv+BN+ReLU, then a depthwise RepVGG block (3x3, 1x1 and identity BN branches, no activation). */
function pwThenDw(
  x: tf.SymbolicTensor,
  mid: number,
  stride: number,
  name: string,
  bn: Bn,
): tf.SymbolicTensor {
  const p = new ConvBN({
    filters: mid,
    kernelSize: 1,
    activation: 'relu',
    name: `${name}_pw1`,
    ...bn,
  }).apply(x);
  return new RepVGGBlock({
    filters: mid,
    strides: stride,
    groups: 'depthwise',
    activation: 'linear',
    name: `${name}_dw`,
    ...bn,
  }).apply(p) as tf.SymbolicTensor;
}

function pw(x: tf.SymbolicTensor, out: number, name: string, bn: Bn): tf.SymbolicTensor {
  return new ConvBN({ filters: out, kernelSize: 1, activation: 'relu', name, ...bn }).apply(
    x,
  ) as tf.SymbolicTensor;
}

/**
 * One ShuffleNetV2 unit whose depthwise convs are RepVGG blocks. Stride 1:
 * split the channels, transform one half (1x1, rep-dw 3x3, 1x1), concatenate,
 * shuffle. Stride 2: both halves see the whole input (left: rep-dw 3x3 s2, 1x1;
 * right: 1x1, rep-dw 3x3 s2, 1x1), concatenate, shuffle.
 */
function unit(
  x: tf.SymbolicTensor,
  out: number,
  stride: number,
  name: string,
  bn: Bn,
): tf.SymbolicTensor {
  const half = out / 2;
  let left: tf.SymbolicTensor;
  let right: tf.SymbolicTensor;
  if (stride === 1) {
    left = new ChannelSplit({ part: 0, name: `${name}_split0` }).apply(x) as tf.SymbolicTensor;
    const r = new ChannelSplit({ part: 1, name: `${name}_split1` }).apply(x) as tf.SymbolicTensor;
    right = pw(pwThenDw(r, half, 1, `${name}_right`, bn), half, `${name}_right_pw2`, bn);
  } else {
    const inC = x.shape[3] as number;
    const l = new RepVGGBlock({
      filters: inC,
      strides: 2,
      groups: 'depthwise',
      activation: 'linear',
      name: `${name}_left_dw`,
      ...bn,
    }).apply(x) as tf.SymbolicTensor;
    left = pw(l, half, `${name}_left_pw`, bn);
    right = pw(pwThenDw(x, half, 2, `${name}_right`, bn), half, `${name}_right_pw2`, bn);
  }
  const cat = tf.layers
    .concatenate({ axis: -1, name: `${name}_concat` })
    .apply([left, right]) as tf.SymbolicTensor;
  return new ChannelShuffle({ groups: 2, name: `${name}_shuffle` }).apply(cat) as tf.SymbolicTensor;
}

/**
 * RepShuffleNetV2: ShuffleNetV2 (stem 3x3 s2 + 3x3 max-pool s2, stages of 4, 8,
 * 4 units, 1x1 conv to 1024, pool, linear) with every depthwise conv replaced by
 * a depthwise RepVGG block and the stem by a RepVGG block. Our layout of the
 * original RepNets project's idea; every rep block folds to one conv.
 */
export function buildRepShuffleNetV2(
  channels: readonly number[],
  opts: ModelOptions = {},
  name = 'repshufflenetv2',
): tf.LayersModel {
  const o = resolve(opts, name);
  const w = opts.widthMultipliers;
  const widths = w
    ? channels.map((c, j) =>
        Math.max(2, Math.round((c * (w[Math.min(j, w.length - 1)] ?? 1)) / 2) * 2),
      )
    : channels;
  const bn = bnArgs(o.bn);
  const input = inputFor(o);
  let x = new RepVGGBlock({
    filters: widths[0]!,
    strides: o.stemStride,
    name: 'stem',
    ...bn,
  }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.zeroPadding2d({ padding: 1, name: 'stem_pool_pad' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .maxPooling2d({ poolSize: 3, strides: o.stemStride, padding: 'valid', name: 'stem_pool' })
    .apply(x) as tf.SymbolicTensor;
  REPEATS.forEach((n, s) => {
    for (let u = 0; u < n; u++)
      x = unit(x, widths[s + 1]!, u === 0 ? 2 : 1, `stage${s + 2}_unit${u}`, bn);
  });
  x = pw(x, widths[4]!, 'conv5', bn);
  return tf.model({ inputs: input, outputs: head(x, o.numClasses), name: opts.name ?? name });
}
