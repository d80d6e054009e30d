import * as tf from '@tensorflow/tfjs';
import { bnArgs } from '../layers/block-base.js';
import { MobileOneBlock } from '../layers/mobileone-block.js';
import { head, inputFor, type ModelOptions, resolve, widthsOrThrow } from './common.js';

export interface MobileOneSpec {
  readonly widths: readonly [number, number, number, number];
  /** k: over-parameterized conv branches per block. */
  readonly branches: number;
  readonly se: boolean;
}

/** Width multipliers and branch counts from Vasu et al. (CVPR 2023), Table 7, and apple/ml-mobileone. */
export const MOBILEONE_SPECS = {
  mobileone_s0: { widths: [0.75, 1.0, 1.0, 2.0], branches: 4, se: false },
  mobileone_s1: { widths: [1.5, 1.5, 2.0, 2.5], branches: 1, se: false },
  mobileone_s2: { widths: [1.5, 2.0, 2.5, 4.0], branches: 1, se: false },
  mobileone_s3: { widths: [2.0, 2.5, 3.0, 4.0], branches: 1, se: false },
  mobileone_s4: { widths: [3.0, 3.5, 3.5, 4.0], branches: 1, se: true },
} as const satisfies Record<string, MobileOneSpec>;

export type MobileOneName = keyof typeof MOBILEONE_SPECS;

const DEPTHS = [2, 8, 10, 1];
/** SE sits in the last 5 units of stage 3 and the unit of stage 4 (S4 only). */
const SE_UNITS = [0, 0, 5, 1];

/**
 * Builds a MobileOne in training form: a 3x3 stem block (3 -> min(64, 64*w0),
 * stride 2), four stages of units (2, 8, 10, 1), each a depthwise 3x3 block then
 * a pointwise 1x1 block, global average pooling and a linear head. SE, where
 * used, sits before the activation.
 */
export function buildMobileOne(
  spec: MobileOneSpec,
  opts: ModelOptions = {},
  name = 'mobileone',
): tf.LayersModel {
  const o = resolve(opts, name);
  const w = widthsOrThrow(name, opts.widthMultipliers, spec.widths);
  const bn = bnArgs(o.bn);
  const input = inputFor(o);
  let inC = Math.min(64, Math.floor(64 * w[0]!));
  let x = new MobileOneBlock({
    filters: inC,
    kernelSize: 3,
    strides: o.stemStride,
    branches: 1,
    name: 'stage0',
    ...bn,
  }).apply(input) as tf.SymbolicTensor;
  const planes = [64, 128, 256, 512].map((p, s) => Math.floor(p * w[s]!));
  DEPTHS.forEach((depth, s) => {
    const seUnits = spec.se ? SE_UNITS[s]! : 0;
    for (let u = 0; u < depth; u++) {
      const se = u >= depth - seUnits ? 'pre' : 'none';
      const common = { branches: spec.branches, se, ...bn } as const;
      x = new MobileOneBlock({
        filters: inC,
        kernelSize: 3,
        strides: u === 0 ? 2 : 1,
        groups: 'depthwise',
        name: `stage${s + 1}_unit${u}_dw`,
        ...common,
      }).apply(x) as tf.SymbolicTensor;
      x = new MobileOneBlock({
        filters: planes[s]!,
        kernelSize: 1,
        name: `stage${s + 1}_unit${u}_pw`,
        ...common,
      }).apply(x) as tf.SymbolicTensor;
      inC = planes[s]!;
    }
  });
  return tf.model({ inputs: input, outputs: head(x, o.numClasses), name: opts.name ?? name });
}
