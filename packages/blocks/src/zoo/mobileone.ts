import { MOBILEONE_ARCHS, MOBILEONE_DEPTHS } from '@repnets/fuse';
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

/**
 * Width multipliers and branch counts from Vasu et al. (CVPR 2023), Table 7, and
 * apple/ml-mobileone (the table lives in @repnets/fuse, which reads those checkpoints).
 */
export const MOBILEONE_SPECS = Object.fromEntries(
  Object.entries(MOBILEONE_ARCHS).map(([name, a]) => [
    name,
    { widths: a.widths, branches: a.branches, se: 'seUnits' in a },
  ]),
) as Record<keyof typeof MOBILEONE_ARCHS, MobileOneSpec>;

export type MobileOneName = keyof typeof MOBILEONE_SPECS;

/** SE sits in the last 5 units of stage 3 and the unit of stage 4 (S4 only). */
const SE_UNITS = MOBILEONE_ARCHS.mobileone_s4.seUnits;

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
  MOBILEONE_DEPTHS.forEach((depth, s) => {
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
