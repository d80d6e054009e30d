import { type MobileOneArch, mobileoneRecord } from '@repnets/fuse';
import { MOBILEONE_ARCHS } from '@repnets/fuse/arch';
import type * as tf from '@tensorflow/tfjs';
import { buildChain } from './chain.js';
import { archOptions, type ModelOptions } from './common.js';

/** One MobileOne as the zoo takes it: the record table's entry (widths, branches k, SE units). */
export type MobileOneSpec = MobileOneArch;

/** Vasu et al. (CVPR 2023), Table 7, as the records of @repnets/fuse define them. */
export const MOBILEONE_SPECS: Record<keyof typeof MOBILEONE_ARCHS, MobileOneSpec> = MOBILEONE_ARCHS;

export type MobileOneName = keyof typeof MOBILEONE_SPECS;

/**
 * Builds a MobileOne: a 3x3 stem block (3 -> min(64, 64*w0), stride 2), four
 * stages of units (2, 8, 10, 1), each a depthwise 3x3 block then a pointwise
 * 1x1 block, global average pooling and a linear head; SE, where the spec has
 * it, before the activation. Training form unless `form: 'deploy'`.
 */
export function buildMobileOne(
  spec: MobileOneSpec,
  opts: ModelOptions = {},
  name = 'mobileone',
): tf.LayersModel {
  return buildChain(mobileoneRecord(name, spec, archOptions(name, opts)), opts);
}
