import { REPVGG_ARCHS, type RepVGGArch } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { bnArgs } from '../layers/block-base.js';
import { RepVGGBlock } from '../layers/repvgg-block.js';
import type { SEPosition } from '../layers/se-weights.js';
import { head, inputFor, type ModelOptions, resolve, widthsOrThrow } from './common.js';

/** One RepVGG architecture: blocks per stage 1-4, width multipliers, groups. */
export interface RepVGGSpec {
  readonly depths: readonly [number, number, number, number];
  readonly widths: readonly [number, number, number, number];
  /** Groups of the even-indexed blocks counted from stage 1 (official g2/g4 maps). */
  readonly groups?: number;
  readonly se?: SEPosition;
}

/** A published RepVGG as the zoo builds it: SE (D2se) sits before the activation. */
function zooSpec(a: RepVGGArch): RepVGGSpec {
  return {
    depths: a.depths,
    widths: a.widths,
    ...(a.groups !== undefined ? { groups: a.groups } : {}),
    ...(a.se ? { se: 'pre' as const } : {}),
  };
}

/**
 * Ding et al. (CVPR 2021), Table 2, and the official configs (the table lives in
 * @repnets/fuse, which reads those checkpoints), plus our compact variant.
 */
export const REPVGG_SPECS = {
  ...(Object.fromEntries(
    Object.entries(REPVGG_ARCHS).map(([name, arch]) => [name, zooSpec(arch)]),
  ) as Record<keyof typeof REPVGG_ARCHS, RepVGGSpec>),
  /**
   * Ours, not from the paper: one block per stage at half A1 width (32-64-128-256,
   * 5 layers), for 28-32 px inputs with `variant: 'cifar'`; 0.45M parameters at
   * 10 classes. The MNIST recipe of @repnets/train trains it.
   */
  repvgg_compact: { depths: [1, 1, 1, 1], widths: [0.5, 0.5, 0.5, 0.5] } as RepVGGSpec,
};

export type RepVGGName = keyof typeof REPVGG_SPECS;

/**
 * Builds a RepVGG in training form: a RepVGG stem block (3 -> min(64, 64a),
 * stride 2), four stages of RepVGG blocks (64a, 128a, 256a, 512b channels, the
 * first block of each at stride 2), global average pooling and a linear head.
 */
export function buildRepVGG(
  spec: RepVGGSpec,
  opts: ModelOptions = {},
  name = 'repvgg',
): tf.LayersModel {
  const o = resolve(opts, name);
  const w = widthsOrThrow(name, opts.widthMultipliers, spec.widths);
  const bn = bnArgs(o.bn);
  const se = spec.se ?? 'none';
  const input = inputFor(o);
  const stem = Math.min(64, Math.floor(64 * w[0]!));
  let x = new RepVGGBlock({
    filters: stem,
    strides: o.stemStride,
    se,
    name: 'stage0',
    ...bn,
  }).apply(input) as tf.SymbolicTensor;
  const planes = [64, 128, 256, 512].map((p, s) => Math.floor(p * w[s]!));
  // The official maps group blocks 2, 4, 6, ..., counting from the first block of stage 1 as 1.
  let layerIndex = 1;
  spec.depths.forEach((depth, s) => {
    for (let b = 0; b < depth; b++) {
      const groups = spec.groups && layerIndex % 2 === 0 ? spec.groups : 1;
      x = new RepVGGBlock({
        filters: planes[s]!,
        strides: b === 0 ? 2 : 1,
        groups,
        se,
        name: `stage${s + 1}_block${b}`,
        ...bn,
      }).apply(x) as tf.SymbolicTensor;
      layerIndex++;
    }
  });
  return tf.model({ inputs: input, outputs: head(x, o.numClasses), name: opts.name ?? name });
}

/**
 * The three-block net of the original PyTorch RepNets project: RepVGG blocks
 * 3->64 (stride 2), 64->128 (stride 2), 128->128, global pool, linear.
 */
export function buildSimpleNet(opts: ModelOptions = {}): tf.LayersModel {
  const o = resolve({ numClasses: 10, inputSize: 32, ...opts }, 'simplenet');
  const [w0, w1] = widthsOrThrow('simplenet', opts.widthMultipliers, [1, 1]);
  const bn = bnArgs(o.bn);
  const input = inputFor(o);
  let x = new RepVGGBlock({
    filters: Math.round(64 * w0!),
    strides: 2,
    name: 'block0',
    ...bn,
  }).apply(input) as tf.SymbolicTensor;
  x = new RepVGGBlock({ filters: Math.round(128 * w1!), strides: 2, name: 'block1', ...bn }).apply(
    x,
  ) as tf.SymbolicTensor;
  x = new RepVGGBlock({ filters: Math.round(128 * w1!), strides: 1, name: 'block2', ...bn }).apply(
    x,
  ) as tf.SymbolicTensor;
  return tf.model({
    inputs: input,
    outputs: head(x, o.numClasses),
    name: opts.name ?? 'simplenet',
  });
}
