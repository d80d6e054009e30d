/**
 * The state-dict key layouts of the PyTorch sources of RepVGG, MobileOne and
 * QARepVGG checkpoints: four for RepVGG and MobileOne (timm's and the authors'),
 * one for QARepVGG (the authors'). Module names below are as the sources define them:
 * timm's `timm/models/byobnet.py` (`RepVggBlock`, `MobileOneBlock`, built from
 * `ConvNormAct` = `conv` + `bn`, identity a `BatchNormAct2d`, SE a `SEModule`
 * with `fc1`/`fc2`, stem `stem`, blocks `stages.N.M`, then `final_conv` and
 * `head.fc`), DingXiaoH/RepVGG `repvgg.py` (`RepVGGBlock`: `rbr_dense`,
 * `rbr_1x1`, `rbr_identity`, deploy `rbr_reparam`, SE `se.down`/`se.up`;
 * `stage0`, `stage1.0`..., `linear`) and apple/ml-mobileone `mobileone.py`
 * (`MobileOneBlock`: `rbr_conv.N`, `rbr_scale`, `rbr_skip`, deploy
 * `reparam_conv`, SE `se.reduce`/`se.expand`; same stage names, `linear`)
 * and cxxgtxy/QARepVGG `repvgg.py` (the paper authors' classification code:
 * `QARepVGGBlockV2`, its default block, in DingXiaoH's `RepVGG` skeleton:
 * `rbr_dense` conv+BN, `rbr_1x1` a bare conv, `rbr_identity` an `nn.Identity`
 * without tensors, `bn` after the sum; deploy `rbr_reparam`). YOLOv6's
 * `QARepVGGBlock` names its tensors the same way inside a detector.
 */

export type LayoutName =
  | 'timm-repvgg'
  | 'timm-mobileone'
  | 'official-repvgg'
  | 'official-mobileone'
  | 'official-qarepvgg';

export const LAYOUT_NAMES: readonly LayoutName[] = [
  'timm-repvgg',
  'timm-mobileone',
  'official-repvgg',
  'official-mobileone',
  'official-qarepvgg',
];

/**
 * RepVGG blocks: one kxk branch, a 1x1 branch, identity. MobileOne: k kxk
 * branches, scale, skip. QARepVGG: RepVGG's branches with BN on the kxk only,
 * and a BN after the sum.
 */
export type BlockFamily = 'repvgg' | 'mobileone' | 'qarepvgg';

/** Where a block sits: stage 0 is the stem (a block of its own in every source). */
export interface BlockPosition {
  readonly stage: number;
  readonly index: number;
}

/** The parts of a block, in the order the source module registers them (its state-dict order). */
export type BlockPart = 'se' | 'identity' | 'convs' | 'scale' | 'post';

export interface KeyScheme {
  readonly layout: LayoutName;
  readonly family: BlockFamily;
  /** Module path of a block, e.g. `stages.0.1` (timm) or `stage1.1` (official). */
  blockName(p: BlockPosition): string;
  /** Splits a key into its block and the key inside the block; null outside every block. */
  splitKey(key: string): (BlockPosition & { readonly name: string; readonly rest: string }) | null;
  /** Conv+BN module of the kxk branches; indexed (`name.N`) for MobileOne's ModuleList. */
  readonly convs: string;
  readonly convsIndexed: boolean;
  /** Conv+BN module of the 1x1 branch (RepVGG's 1x1, MobileOne's scale branch). */
  readonly scale: string;
  /** true: the 1x1 branch is a bare Conv2d without bias or BN (`<scale>.weight`), as QARepVGG's. */
  readonly bareScale?: boolean;
  /** The identity BatchNorm2d module (QARepVGG's identity holds no tensor and is not in `order`). */
  readonly identity: string;
  /** The BatchNorm2d after the branch sum, for a family that has one (QARepVGG's `bn`). */
  readonly post?: string;
  /** The squeeze-excite module and its reduce / expand 1x1 convs (with bias). */
  readonly se: { readonly module: string; readonly down: string; readonly up: string };
  /** The single conv with bias that the source's own re-parameterization leaves. */
  readonly deploy: string;
  /** The classifier Linear module (after global pooling). */
  readonly classifier: string;
  /** Top-level modules that are not blocks and pass through unchanged. */
  readonly passThrough: readonly string[];
  readonly order: readonly BlockPart[];
  /**
   * Reduced channels of the block's SE for `channels` outputs, as the source
   * computes them (only used to describe expected shapes; parsing reads them
   * from the tensors).
   */
  seChannels(channels: number): number;
}

const TIMM_BLOCK = /^stages\.(0|[1-9]\d*)\.(0|[1-9]\d*)\.(.+)$/;
const OFFICIAL_BLOCK = /^stage([1-9]\d*)\.(0|[1-9]\d*)\.(.+)$/;

function timmSplit(key: string) {
  if (key.startsWith('stem.')) return { stage: 0, index: 0, name: 'stem', rest: key.slice(5) };
  const m = TIMM_BLOCK.exec(key);
  if (m === null) return null;
  return {
    stage: Number(m[1]) + 1,
    index: Number(m[2]),
    name: `stages.${m[1]}.${m[2]}`,
    rest: m[3]!,
  };
}

function officialSplit(key: string) {
  if (key.startsWith('stage0.')) return { stage: 0, index: 0, name: 'stage0', rest: key.slice(7) };
  const m = OFFICIAL_BLOCK.exec(key);
  if (m === null) return null;
  return { stage: Number(m[1]), index: Number(m[2]), name: `stage${m[1]}.${m[2]}`, rest: m[3]! };
}

const timmName = (p: BlockPosition) =>
  p.stage === 0 ? 'stem' : `stages.${p.stage - 1}.${p.index}`;
const officialName = (p: BlockPosition) =>
  p.stage === 0 ? 'stage0' : `stage${p.stage}.${p.index}`;

/** timm's SEModule: make_divisible(channels / 16, divisor 8, round_limit 0). */
const timmSeDivisor8 = (c: number) => Math.max(8, Math.floor((c / 16 + 4) / 8) * 8);

/** DingXiaoH/RepVGG's keys; the QARepVGG authors build on the same skeleton and names. */
const OFFICIAL_REPVGG: KeyScheme = {
  layout: 'official-repvgg',
  family: 'repvgg',
  blockName: officialName,
  splitKey: officialSplit,
  convs: 'rbr_dense',
  convsIndexed: false,
  scale: 'rbr_1x1',
  identity: 'rbr_identity',
  se: { module: 'se', down: 'down', up: 'up' },
  deploy: 'rbr_reparam',
  classifier: 'linear',
  passThrough: ['linear'],
  order: ['se', 'identity', 'convs', 'scale'],
  // SEBlock(out_channels, internal_neurons=out_channels // 16)
  seChannels: (c) => Math.floor(c / 16),
};

export const KEY_SCHEMES: Readonly<Record<LayoutName, KeyScheme>> = {
  'timm-repvgg': {
    layout: 'timm-repvgg',
    family: 'repvgg',
    blockName: timmName,
    splitKey: timmSplit,
    convs: 'conv_kxk',
    convsIndexed: false,
    scale: 'conv_1x1',
    identity: 'identity',
    se: { module: 'attn', down: 'fc1', up: 'fc2' },
    deploy: 'reparam_conv',
    classifier: 'head.fc',
    passThrough: ['final_conv', 'head'],
    order: ['identity', 'convs', 'scale', 'se'],
    // repvgg_d2se passes rd_ratio 1/16 with rd_divisor 1: a plain rounding.
    seChannels: (c) => Math.max(1, Math.floor(c / 16 + 0.5)),
  },
  'timm-mobileone': {
    layout: 'timm-mobileone',
    family: 'mobileone',
    blockName: timmName,
    splitKey: timmSplit,
    convs: 'conv_kxk',
    convsIndexed: true,
    scale: 'conv_scale',
    identity: 'identity',
    se: { module: 'attn', down: 'fc1', up: 'fc2' },
    deploy: 'reparam_conv',
    classifier: 'head.fc',
    passThrough: ['final_conv', 'head'],
    order: ['identity', 'convs', 'scale', 'se'],
    seChannels: timmSeDivisor8,
  },
  'official-repvgg': OFFICIAL_REPVGG,
  'official-mobileone': {
    layout: 'official-mobileone',
    family: 'mobileone',
    blockName: officialName,
    splitKey: officialSplit,
    convs: 'rbr_conv',
    convsIndexed: true,
    scale: 'rbr_scale',
    identity: 'rbr_skip',
    se: { module: 'se', down: 'reduce', up: 'expand' },
    deploy: 'reparam_conv',
    classifier: 'linear',
    passThrough: ['linear'],
    order: ['se', 'identity', 'convs', 'scale'],
    // SEBlock(in_channels, rd_ratio=0.0625): int(in_channels * rd_ratio)
    seChannels: (c) => Math.floor(c * 0.0625),
  },
  'official-qarepvgg': {
    ...OFFICIAL_REPVGG,
    layout: 'official-qarepvgg',
    family: 'qarepvgg',
    bareScale: true,
    post: 'bn',
    // QARepVGGBlockV2 swaps its parent's conv+BN rbr_1x1 for a bare conv in
    // place and registers `bn` after everything its parent registered; its
    // rbr_identity is an nn.Identity (registered before rbr_dense, no tensors).
    order: ['se', 'convs', 'scale', 'post'],
  },
};

/** PyTorch BatchNorm2d parameter and buffer names, and what the fold calls them. */
export const BN_FIELDS = {
  weight: 'gamma',
  bias: 'beta',
  running_mean: 'mean',
  running_var: 'variance',
} as const;

/** BatchNorm's step counter: an I64 buffer no fold needs, dropped from the deploy form. */
export const BN_COUNTER = 'num_batches_tracked';

export type BNField = (typeof BN_FIELDS)[keyof typeof BN_FIELDS];
