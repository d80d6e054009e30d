/**
 * RepVGG (Ding et al., CVPR 2021) and its relatives as records: the published
 * A/B/D2se models (Table 2; the numbers of DingXiaoH/RepVGG `repvgg.py`, which
 * timm's `_rep_vgg_bcfg` reproduces), our compact variant, and the original
 * RepNets project's three-block SimpleNet.
 */
import {
  type ArchOptions,
  type BlockRecord,
  block,
  type NetworkRecord,
  positive,
  resolveInput,
  type SEPlacement,
  widths,
} from './records.js';

/** One RepVGG: blocks per stage 1-4, width multipliers, grouped convs, SE. */
export interface RepVGGArch {
  readonly depths: readonly [number, number, number, number];
  readonly widths: readonly [number, number, number, number];
  /** Groups of the grouped layers (the even ones counted from stage 1, as the official g2/g4 maps). */
  readonly groups?: number;
  readonly se?: boolean;
}

const A = [2, 4, 14, 1] as const;
const B = [4, 6, 16, 1] as const;

/** Depths and width multipliers of Table 2, as create_RepVGG_* in repvgg.py and timm's repvgg_* define them. */
export const REPVGG_ARCHS = {
  repvgg_a0: { depths: A, widths: [0.75, 0.75, 0.75, 2.5] },
  repvgg_a1: { depths: A, widths: [1, 1, 1, 2.5] },
  repvgg_a2: { depths: A, widths: [1.5, 1.5, 1.5, 2.75] },
  repvgg_b0: { depths: B, widths: [1, 1, 1, 2.5] },
  repvgg_b1: { depths: B, widths: [2, 2, 2, 4] },
  repvgg_b1g2: { depths: B, widths: [2, 2, 2, 4], groups: 2 },
  repvgg_b1g4: { depths: B, widths: [2, 2, 2, 4], groups: 4 },
  repvgg_b2: { depths: B, widths: [2.5, 2.5, 2.5, 5] },
  repvgg_b2g2: { depths: B, widths: [2.5, 2.5, 2.5, 5], groups: 2 },
  repvgg_b2g4: { depths: B, widths: [2.5, 2.5, 2.5, 5], groups: 4 },
  repvgg_b3: { depths: B, widths: [3, 3, 3, 5] },
  repvgg_b3g2: { depths: B, widths: [3, 3, 3, 5], groups: 2 },
  repvgg_b3g4: { depths: B, widths: [3, 3, 3, 5], groups: 4 },
  repvgg_d2se: { depths: [8, 14, 24, 1], widths: [2.5, 2.5, 2.5, 5], se: true },
} as const satisfies Record<string, RepVGGArch>;

/**
 * Ours, not from the paper: one block per stage at half A1 width (32-64-128-256,
 * 5 layers), for 28-32 px inputs with stem stride 1; 0.45M parameters at 10 classes.
 */
export const REPVGG_COMPACT: RepVGGArch = { depths: [1, 1, 1, 1], widths: [0.5, 0.5, 0.5, 0.5] };

/** The stage widths every RepVGG (and MobileOne) multiplies. */
export const BASE_WIDTHS = [64, 128, 256, 512] as const;

/** Stem channels of RepVGG and MobileOne: min(64, int(64 * a)) in both official sources. */
export const stemWidth = (multiplier: number): number => Math.min(64, Math.floor(64 * multiplier));

/** A RepVGG from stage specs: the general form the named ones expand to. */
export interface RepVGGLayout {
  /** Output channels of the stem block. */
  readonly stem: number;
  readonly stemStride?: number;
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
  readonly se?: SEPlacement;
}

/** The blocks of a RepVGG: 3x3 blocks with a 1x1 branch, identity where shapes allow. */
export function repvggBlocks(arch: string, inChannels: number, l: RepVGGLayout): BlockRecord[] {
  positive(arch, 'stem', l.stem);
  positive(arch, 'inChannels', inChannels);
  const groups = l.groups ?? 1;
  positive(arch, 'groups', groups);
  const se = l.se ?? 'none';
  const rec = (
    name: string,
    stage: number,
    index: number,
    cin: number,
    cout: number,
    stride: number,
    g: number,
  ) =>
    block(arch, {
      name,
      kind: 'repvgg',
      stage,
      index,
      inChannels: cin,
      outChannels: cout,
      kernelSize: 3,
      stride,
      groups: g,
      branches: { kxk: 1, scale: true, identity: cin === cout && stride === 1 },
      se,
      activation: 'relu',
    });
  const blocks = [rec('stage0', 0, 0, inChannels, l.stem, l.stemStride ?? 2, 1)];
  const grouped = new Set(l.groupedLayers ?? []);
  let layer = 1;
  let prev = l.stem;
  l.stages.forEach((s, k) => {
    positive(arch, `stages[${k}].depth`, s.depth);
    positive(arch, `stages[${k}].channels`, s.channels);
    for (let i = 0; i < s.depth; i++, layer++) {
      const isGrouped = l.groupedLayers === undefined ? layer % 2 === 0 : grouped.has(layer);
      const stride = i === 0 ? (s.stride ?? 2) : 1;
      blocks.push(
        rec(`stage${k + 1}_block${i}`, k + 1, i, prev, s.channels, stride, isGrouped ? groups : 1),
      );
      prev = s.channels;
    }
  });
  return blocks;
}

/** A named RepVGG (REPVGG_ARCHS or `repvgg_compact`) as its record. */
export function repvggRecord(name: string, arch: RepVGGArch, o: ArchOptions = {}): NetworkRecord {
  const base = resolveInput(name, o);
  // One multiplier per stage (widths() checked the count), as BASE_WIDTHS has one width per stage.
  const w = widths(name, o.widthMultipliers, arch.widths);
  const blocks = repvggBlocks(name, base.input.channels, {
    stem: stemWidth(w[0]!),
    stemStride: base.stemStride,
    stages: arch.depths.map((depth, s) => ({
      depth,
      channels: Math.floor(BASE_WIDTHS[s]! * w[s]!),
    })),
    groups: arch.groups,
    se: arch.se ? 'pre' : 'none',
  });
  return { name, family: 'repvgg', ...base, blocks };
}

/**
 * The three-block net of the original PyTorch RepNets project: RepVGG blocks
 * 3->64 and 64->128 at stride 2, then 128->128; 32 px inputs and 10 classes by
 * default. Its first block is stride 2 whatever `stemStride` says, as there.
 */
export function simplenetRecord(o: ArchOptions = {}): NetworkRecord {
  const name = 'simplenet';
  const base = resolveInput(name, o, { numClasses: 10, inputSize: 32 });
  const [w0, w1] = widths(name, o.widthMultipliers, [1, 1]);
  const c0 = Math.round(64 * w0!);
  const c1 = Math.round(128 * w1!);
  const blocks = repvggBlocks(name, base.input.channels, {
    stem: c0,
    stemStride: 2,
    stages: [{ depth: 2, channels: c1 }],
  }).map((b, i) => ({ ...b, name: `block${i}` }));
  return { name, family: 'simplenet', ...base, stemStride: 2, blocks };
}
