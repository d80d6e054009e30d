/**
 * QARepVGG (Chu et al., 2022, "Make RepVGG Greater Again: A Quantization-aware
 * Approach") as records: RepVGG's A0-A2 and B0 widths and depths with the
 * quantization-friendly block (BN only on the 3x3 branch and after the sum),
 * so a RepVGG and a QARepVGG of one size differ in nothing else.
 */
import type { ArchOptions, NetworkRecord } from './records.js';
import { REPVGG_ARCHS, type RepVGGArch, repvggRecord } from './repvgg.js';

/** The RepVGG sizes the paper reports QARepVGG at, with the same tables. */
export const QAREPVGG_ARCHS = {
  qarepvgg_a0: REPVGG_ARCHS.repvgg_a0,
  qarepvgg_a1: REPVGG_ARCHS.repvgg_a1,
  qarepvgg_a2: REPVGG_ARCHS.repvgg_a2,
  qarepvgg_b0: REPVGG_ARCHS.repvgg_b0,
} as const satisfies Record<string, RepVGGArch>;

/** A named QARepVGG as its record: the RepVGG record of that size with every block a 'qarepvgg' block. */
export function qarepvggRecord(name: string, arch: RepVGGArch, o: ArchOptions = {}): NetworkRecord {
  const r = repvggRecord(name, arch, o);
  return {
    ...r,
    family: 'qarepvgg',
    blocks: r.blocks.map((b) => ({ ...b, kind: 'qarepvgg' as const })),
  };
}
