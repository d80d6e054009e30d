import { type RepVGGArch, repvggRecord } from '@repnets/fuse';
import { REPVGG_ARCHS, REPVGG_COMPACT, simplenetRecord } from '@repnets/fuse/arch';
import type * as tf from '@tensorflow/tfjs';
import type { SEPosition } from '../layers/se-weights.js';
import { buildChain } from './chain.js';
import { archOptions, type ModelOptions } from './common.js';

/** One RepVGG architecture as the zoo takes it: the record table's entry, with SE before or after the activation. */
export type RepVGGSpec = Omit<RepVGGArch, 'se'> & { readonly se?: SEPosition };

const spec = (a: RepVGGArch): RepVGGSpec => ({
  depths: a.depths,
  widths: a.widths,
  ...(a.groups !== undefined ? { groups: a.groups } : {}),
  ...(a.se ? { se: 'pre' as const } : {}),
});

/**
 * The zoo's RepVGGs: Ding et al. (CVPR 2021), Table 2, and our compact
 * variant, as the records of @repnets/fuse define them.
 */
export const REPVGG_SPECS = {
  ...(Object.fromEntries(
    Object.entries(REPVGG_ARCHS).map(([name, arch]) => [name, spec(arch)]),
  ) as Record<keyof typeof REPVGG_ARCHS, RepVGGSpec>),
  repvgg_compact: spec(REPVGG_COMPACT),
};

export type RepVGGName = keyof typeof REPVGG_SPECS;

/**
 * Builds a RepVGG: a RepVGG stem block (3 -> min(64, 64a), stride 2), four
 * stages of RepVGG blocks (64a, 128a, 256a, 512b channels, the first block of
 * each at stride 2), global average pooling and a linear head; in training
 * form unless `form: 'deploy'`.
 */
export function buildRepVGG(
  s: RepVGGSpec,
  opts: ModelOptions = {},
  name = 'repvgg',
): tf.LayersModel {
  const record = repvggRecord(
    name,
    { depths: s.depths, widths: s.widths, ...(s.groups !== undefined ? { groups: s.groups } : {}) },
    archOptions(name, opts),
  );
  const se = s.se ?? 'none';
  return buildChain({ ...record, blocks: record.blocks.map((b) => ({ ...b, se })) }, opts);
}

/**
 * The three-block net of the original PyTorch RepNets project: RepVGG blocks
 * 3->64 (stride 2), 64->128 (stride 2), 128->128, global pool, linear.
 */
export function buildSimpleNet(opts: ModelOptions = {}): tf.LayersModel {
  return buildChain(simplenetRecord(archOptions('simplenet', opts)), opts);
}
