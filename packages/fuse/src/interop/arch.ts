/**
 * Architecture configs: the per-block geometry (channels, kernel, stride,
 * groups, branches) of the RepVGG and MobileOne models, so a checkpoint can be
 * checked against what the model must hold and strides that no tensor shape
 * reveals are known. The numbers are those of DingXiaoH/RepVGG `repvgg.py` and
 * apple/ml-mobileone `mobileone.py`, which timm's byobnet.py configs reproduce
 * (`_rep_vgg_bcfg`, `_mobileone_bcfg`).
 */

import { FuseError } from '../errors.js';
import type { BlockFamily } from './layouts.js';

/** One re-parameterizable block of a model, in network order. */
export interface BlockSpec {
  /** 0 is the stem; stages count from 1. */
  readonly stage: number;
  /** Index of the block within its stage. */
  readonly index: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Odd, square kernel of the kxk branches (and of the folded conv). */
  readonly kernelSize: number;
  readonly stride: number;
  readonly groups: number;
  /** Number of kxk conv+BN branches: 1 for RepVGG, k for MobileOne. */
  readonly convBranches: number;
  /** Whether there is a 1x1 conv+BN branch (RepVGG always; MobileOne when the kernel is > 1). */
  readonly scaleBranch: boolean;
  /** Whether there is an identity BN branch (in == out and stride 1, in all four sources). */
  readonly identity: boolean;
  /** Whether a squeeze-excite follows the branch sum (before the ReLU). */
  readonly se: boolean;
}

export interface ArchConfig {
  readonly name: string;
  readonly family: BlockFamily;
  /** Image channels the stem reads. */
  readonly inChannels: number;
  readonly blocks: readonly BlockSpec[];
}

export interface RepVGGArchOptions {
  readonly name: string;
  /** Image channels; 3 unless said otherwise. */
  readonly inChannels?: number;
  /** Output channels of the stem block (a stride-2 RepVGG block). */
  readonly stem: number;
  /** Each stage starts with a block of stride `stride` (default 2), then stride-1 blocks. */
  readonly stages: readonly {
    readonly depth: number;
    readonly channels: number;
    readonly stride?: number;
  }[];
  /** Groups of the grouped layers; 1 (the default) for none. */
  readonly groups?: number;
  /**
   * Which layers use `groups`, counted from 1 at the first block after the stem.
   * Default: the even ones, as `optional_groupwise_layers` in repvgg.py (timm's
   * every-second-block-of-a-stage rule picks the same layers for the B models).
   */
  readonly groupedLayers?: readonly number[];
  /** Squeeze-excite in every block, stem included (RepVGG-D2se). */
  readonly se?: boolean;
}

export interface MobileOneArchOptions {
  readonly name: string;
  readonly inChannels?: number;
  /** Output channels of the stem block (3x3, stride 2). */
  readonly stem: number;
  /**
   * Each unit of `depth` is a depthwise 3x3 block then a pointwise 1x1 block to
   * `channels`; the first depthwise block has stride `stride` (default 2). The
   * last `seUnits` units (both halves) have squeeze-excite.
   */
  readonly stages: readonly {
    readonly depth: number;
    readonly channels: number;
    readonly stride?: number;
    readonly seUnits?: number;
  }[];
  /** k: the number of kxk conv+BN branches of the stage blocks. */
  readonly convBranches: number;
  /** Branches of the stem; 1 in both sources whatever k is. */
  readonly stemConvBranches?: number;
}

function positive(op: string, arg: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) {
    throw new FuseError(op, arg, `is ${String(n)}, expected a positive integer`);
  }
}

/** A RepVGG architecture: stem, then stages of 3x3 blocks with a 1x1 branch and identity. */
export function defineRepVGG(o: RepVGGArchOptions): ArchConfig {
  const op = 'defineRepVGG';
  const inChannels = o.inChannels ?? 3;
  positive(op, 'stem', o.stem);
  positive(op, 'inChannels', inChannels);
  const groups = o.groups ?? 1;
  positive(op, 'groups', groups);
  const se = o.se ?? false;
  const blocks: BlockSpec[] = [];
  const add = (
    stage: number,
    index: number,
    cin: number,
    cout: number,
    stride: number,
    g: number,
  ) => {
    if (cin % g !== 0 || cout % g !== 0) {
      throw new FuseError(
        op,
        'groups',
        `is ${g}, which does not divide block ${stage}.${index} (${cin} -> ${cout} channels)`,
      );
    }
    blocks.push({
      stage,
      index,
      inChannels: cin,
      outChannels: cout,
      kernelSize: 3,
      stride,
      groups: g,
      convBranches: 1,
      scaleBranch: true,
      identity: cin === cout && stride === 1,
      se,
    });
  };
  add(0, 0, inChannels, o.stem, 2, 1);
  const grouped = new Set(o.groupedLayers ?? []);
  let layer = 1;
  let prev = o.stem;
  o.stages.forEach((s, k) => {
    positive(op, `stages[${k}].depth`, s.depth);
    positive(op, `stages[${k}].channels`, s.channels);
    for (let i = 0; i < s.depth; i++, layer++) {
      const isGrouped = o.groupedLayers === undefined ? layer % 2 === 0 : grouped.has(layer);
      add(k + 1, i, prev, s.channels, i === 0 ? (s.stride ?? 2) : 1, isGrouped ? groups : 1);
      prev = s.channels;
    }
  });
  return { name: o.name, family: 'repvgg', inChannels, blocks };
}

/** A MobileOne architecture: stem, then stages of depthwise 3x3 + pointwise 1x1 block pairs. */
export function defineMobileOne(o: MobileOneArchOptions): ArchConfig {
  const op = 'defineMobileOne';
  const inChannels = o.inChannels ?? 3;
  positive(op, 'stem', o.stem);
  positive(op, 'inChannels', inChannels);
  positive(op, 'convBranches', o.convBranches);
  const stemK = o.stemConvBranches ?? 1;
  positive(op, 'stemConvBranches', stemK);
  const blocks: BlockSpec[] = [
    {
      stage: 0,
      index: 0,
      inChannels,
      outChannels: o.stem,
      kernelSize: 3,
      stride: 2,
      groups: 1,
      convBranches: stemK,
      scaleBranch: true,
      identity: false,
      se: false,
    },
  ];
  let prev = o.stem;
  o.stages.forEach((s, k) => {
    positive(op, `stages[${k}].depth`, s.depth);
    positive(op, `stages[${k}].channels`, s.channels);
    const seUnits = s.seUnits ?? 0;
    if (!Number.isInteger(seUnits) || seUnits < 0 || seUnits > s.depth) {
      throw new FuseError(op, `stages[${k}].seUnits`, `is ${seUnits}, expected 0..${s.depth}`);
    }
    for (let u = 0; u < s.depth; u++) {
      const stride = u === 0 ? (s.stride ?? 2) : 1;
      const se = u >= s.depth - seUnits;
      const common = { stage: k + 1, convBranches: o.convBranches, se };
      blocks.push({
        ...common,
        index: 2 * u,
        inChannels: prev,
        outChannels: prev,
        kernelSize: 3,
        stride,
        groups: prev,
        scaleBranch: true,
        identity: stride === 1,
      });
      blocks.push({
        ...common,
        index: 2 * u + 1,
        inChannels: prev,
        outChannels: s.channels,
        kernelSize: 1,
        stride: 1,
        groups: 1,
        scaleBranch: false,
        identity: prev === s.channels,
      });
      prev = s.channels;
    }
  });
  return { name: o.name, family: 'mobileone', inChannels, blocks };
}

const REPVGG_BASE = [64, 128, 256, 512] as const;
const REPVGG_A = [2, 4, 14, 1] as const;
const REPVGG_B = [4, 6, 16, 1] as const;

/** One published RepVGG: blocks per stage 1-4, width multipliers, grouped convs, SE. */
export interface RepVGGArch {
  readonly depths: readonly [number, number, number, number];
  readonly widths: readonly [number, number, number, number];
  /** Groups of the even-indexed blocks counted from stage 1 (official g2/g4 maps). */
  readonly groups?: number;
  readonly se?: boolean;
}

/**
 * Depths and width multipliers of Ding et al. (CVPR 2021), Table 2, as
 * create_RepVGG_* in repvgg.py and timm's repvgg_* cfgs define them. The
 * @repnets/blocks zoo builds its RepVGGs from this table.
 */
export const REPVGG_ARCHS = {
  repvgg_a0: { depths: REPVGG_A, widths: [0.75, 0.75, 0.75, 2.5] },
  repvgg_a1: { depths: REPVGG_A, widths: [1, 1, 1, 2.5] },
  repvgg_a2: { depths: REPVGG_A, widths: [1.5, 1.5, 1.5, 2.75] },
  repvgg_b0: { depths: REPVGG_B, widths: [1, 1, 1, 2.5] },
  repvgg_b1: { depths: REPVGG_B, widths: [2, 2, 2, 4] },
  repvgg_b1g2: { depths: REPVGG_B, widths: [2, 2, 2, 4], groups: 2 },
  repvgg_b1g4: { depths: REPVGG_B, widths: [2, 2, 2, 4], groups: 4 },
  repvgg_b2: { depths: REPVGG_B, widths: [2.5, 2.5, 2.5, 5] },
  repvgg_b2g2: { depths: REPVGG_B, widths: [2.5, 2.5, 2.5, 5], groups: 2 },
  repvgg_b2g4: { depths: REPVGG_B, widths: [2.5, 2.5, 2.5, 5], groups: 4 },
  repvgg_b3: { depths: REPVGG_B, widths: [3, 3, 3, 5] },
  repvgg_b3g2: { depths: REPVGG_B, widths: [3, 3, 3, 5], groups: 2 },
  repvgg_b3g4: { depths: REPVGG_B, widths: [3, 3, 3, 5], groups: 4 },
  repvgg_d2se: { depths: [8, 14, 24, 1], widths: [2.5, 2.5, 2.5, 5], se: true },
} as const satisfies Record<string, RepVGGArch>;

/** One published MobileOne: width multipliers, conv branches k, SE units per stage. */
export interface MobileOneArch {
  readonly widths: readonly [number, number, number, number];
  readonly branches: number;
  /** Units per stage (counted from the end) with SE; absent: none. */
  readonly seUnits?: readonly [number, number, number, number];
}

/** Units per stage of every MobileOne: 2, 8, 10, 1 (each a depthwise then a pointwise block). */
export const MOBILEONE_DEPTHS = [2, 8, 10, 1] as const;

/**
 * Width multipliers, branch counts and SE units of Vasu et al. (CVPR 2023),
 * Table 7, as mobileone.py's PARAMS and timm's mobileone_* define them. The
 * @repnets/blocks zoo builds its MobileOnes from this table.
 */
export const MOBILEONE_ARCHS = {
  mobileone_s0: { widths: [0.75, 1, 1, 2], branches: 4 },
  mobileone_s1: { widths: [1.5, 1.5, 2, 2.5], branches: 1 },
  mobileone_s2: { widths: [1.5, 2, 2.5, 4], branches: 1 },
  mobileone_s3: { widths: [2, 2.5, 3, 4], branches: 1 },
  // use_se: the last half of stage 3 and all of stage 4 (timm: se_blocks=(0, 0, 5, 1)).
  mobileone_s4: { widths: [3, 3.5, 3.5, 4], branches: 1, seUnits: [0, 0, 5, 1] },
} as const satisfies Record<string, MobileOneArch>;

const REPVGG: Readonly<Record<string, RepVGGArch>> = REPVGG_ARCHS;
const MOBILEONE: Readonly<Record<string, MobileOneArch>> = MOBILEONE_ARCHS;

/** The model names {@link archConfig} knows. */
export const ARCH_NAMES: readonly string[] = [...Object.keys(REPVGG), ...Object.keys(MOBILEONE)];

/**
 * `RepVGG-A0`, `repvgg_a0`, `repvgg_a0.rvgg_in1k`, `MobileOne-S0` and `s0` all
 * name the same model: timm spells names with `_` and a pretrained tag after
 * a dot, the official repos with `-` and capitals.
 */
function canonicalName(name: string): string {
  const n = name.trim().toLowerCase().split('.')[0]!.replace(/-/g, '_');
  return /^s[0-4]$/.test(n) ? `mobileone_${n}` : n;
}

/** The architecture of a named RepVGG or MobileOne model (see {@link ARCH_NAMES}). */
export function archConfig(name: string): ArchConfig {
  const key = canonicalName(name);
  const r = REPVGG[key];
  if (r !== undefined) {
    return defineRepVGG({
      name: key,
      // min(64, int(64 * width_multiplier[0])) in both sources
      stem: Math.min(64, Math.floor(64 * r.widths[0])),
      stages: r.depths.map((depth, s) => ({
        depth,
        channels: Math.floor(REPVGG_BASE[s]! * r.widths[s]!),
      })),
      groups: r.groups,
      se: r.se,
    });
  }
  const m = MOBILEONE[key];
  if (m !== undefined) {
    return defineMobileOne({
      name: key,
      stem: Math.min(64, Math.floor(64 * m.widths[0])),
      stages: MOBILEONE_DEPTHS.map((depth, s) => ({
        depth,
        channels: Math.floor(REPVGG_BASE[s]! * m.widths[s]!),
        seUnits: m.seUnits?.[s] ?? 0,
      })),
      convBranches: m.branches,
    });
  }
  throw new FuseError(
    'archConfig',
    'name',
    `is '${name}', expected one of ${ARCH_NAMES.join(', ')}`,
  );
}
