/**
 * MobileOne (Vasu et al., CVPR 2023) as records: Table 7's width multipliers,
 * branch counts and SE units, as apple/ml-mobileone `mobileone.py` PARAMS and
 * timm's `mobileone_*` define them.
 */
import {
  ArchError,
  type ArchOptions,
  type BlockRecord,
  block,
  type NetworkRecord,
  positive,
  resolveInput,
  widths,
} from './records.js';
import { BASE_WIDTHS, stemWidth } from './repvgg.js';

/** One MobileOne: width multipliers, conv branches k, SE units per stage. */
export interface MobileOneArch {
  readonly widths: readonly [number, number, number, number];
  readonly branches: number;
  /** Units per stage (counted from the end) with SE; absent: none. */
  readonly seUnits?: readonly [number, number, number, number];
}

/** Units per stage of every MobileOne: 2, 8, 10, 1 (each a depthwise then a pointwise block). */
export const MOBILEONE_DEPTHS = [2, 8, 10, 1] as const;

export const MOBILEONE_ARCHS = {
  mobileone_s0: { widths: [0.75, 1, 1, 2], branches: 4 },
  mobileone_s1: { widths: [1.5, 1.5, 2, 2.5], branches: 1 },
  mobileone_s2: { widths: [1.5, 2, 2.5, 4], branches: 1 },
  mobileone_s3: { widths: [2, 2.5, 3, 4], branches: 1 },
  // use_se: the last half of stage 3 and all of stage 4 (timm: se_blocks=(0, 0, 5, 1)).
  mobileone_s4: { widths: [3, 3.5, 3.5, 4], branches: 1, seUnits: [0, 0, 5, 1] },
} as const satisfies Record<string, MobileOneArch>;

/** A MobileOne from stage specs: the general form the named ones expand to. */
export interface MobileOneLayout {
  /** Output channels of the stem block (3x3). */
  readonly stem: number;
  readonly stemStride?: number;
  /**
   * Each unit of `depth` is a depthwise 3x3 block then a pointwise 1x1 block to
   * `channels`; the first depthwise block has stride `stride` (default 2). The
   * last `seUnits` units (both halves) have squeeze-excite before the activation.
   */
  readonly stages: readonly {
    readonly depth: number;
    readonly channels: number;
    readonly stride?: number;
    readonly seUnits?: number;
  }[];
  /** k: the kxk conv+BN branches of the stage blocks. */
  readonly convBranches: number;
  /** Branches of the stem; 1 in both official sources whatever k is. */
  readonly stemConvBranches?: number;
}

/** The blocks of a MobileOne: a 3x3 stem, then depthwise 3x3 + pointwise 1x1 pairs. */
export function mobileoneBlocks(
  arch: string,
  inChannels: number,
  l: MobileOneLayout,
): BlockRecord[] {
  positive(arch, 'stem', l.stem);
  positive(arch, 'inChannels', inChannels);
  positive(arch, 'convBranches', l.convBranches);
  const stemK = l.stemConvBranches ?? 1;
  positive(arch, 'stemConvBranches', stemK);
  const blocks: BlockRecord[] = [
    block(arch, {
      name: 'stage0',
      kind: 'mobileone',
      stage: 0,
      index: 0,
      inChannels,
      outChannels: l.stem,
      kernelSize: 3,
      stride: l.stemStride ?? 2,
      groups: 1,
      branches: { kxk: stemK, scale: true, identity: false },
      se: 'none',
      activation: 'relu',
    }),
  ];
  let prev = l.stem;
  l.stages.forEach((s, k) => {
    positive(arch, `stages[${k}].depth`, s.depth);
    positive(arch, `stages[${k}].channels`, s.channels);
    const seUnits = s.seUnits ?? 0;
    if (!Number.isInteger(seUnits) || seUnits < 0 || seUnits > s.depth)
      throw new ArchError(arch, `stages[${k}].seUnits is ${seUnits}, expected 0..${s.depth}`);
    for (let u = 0; u < s.depth; u++) {
      const stride = u === 0 ? (s.stride ?? 2) : 1;
      const common = {
        kind: 'mobileone',
        stage: k + 1,
        se: u >= s.depth - seUnits ? 'pre' : 'none',
        activation: 'relu',
      } as const;
      blocks.push(
        block(arch, {
          ...common,
          name: `stage${k + 1}_unit${u}_dw`,
          index: 2 * u,
          inChannels: prev,
          outChannels: prev,
          kernelSize: 3,
          stride,
          groups: prev,
          branches: { kxk: l.convBranches, scale: true, identity: stride === 1 },
        }),
        block(arch, {
          ...common,
          name: `stage${k + 1}_unit${u}_pw`,
          index: 2 * u + 1,
          inChannels: prev,
          outChannels: s.channels,
          kernelSize: 1,
          stride: 1,
          groups: 1,
          branches: { kxk: l.convBranches, scale: false, identity: prev === s.channels },
        }),
      );
      prev = s.channels;
    }
  });
  return blocks;
}

/** A named MobileOne (MOBILEONE_ARCHS) as its record. */
export function mobileoneRecord(
  name: string,
  arch: MobileOneArch,
  o: ArchOptions = {},
): NetworkRecord {
  const base = resolveInput(name, o);
  // One multiplier per stage (widths() checked the count), as BASE_WIDTHS has one width per stage.
  const w = widths(name, o.widthMultipliers, arch.widths);
  const blocks = mobileoneBlocks(name, base.input.channels, {
    stem: stemWidth(w[0]!),
    stemStride: base.stemStride,
    stages: MOBILEONE_DEPTHS.map((depth, s) => ({
      depth,
      channels: Math.floor(BASE_WIDTHS[s]! * w[s]!),
      seUnits: arch.seUnits?.[s] ?? 0,
    })),
    convBranches: arch.branches,
  });
  return { name, family: 'mobileone', ...base, blocks };
}
