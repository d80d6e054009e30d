/**
 * Reads a flat PyTorch state dict of a RepVGG, MobileOne or QARepVGG network into its
 * re-parameterizable blocks, each as the OIHW parameter record the block folds
 * take, with the geometry (channels, stride, groups) that tensors alone do not
 * carry.
 */

import {
  architecture,
  type BlockGeometry,
  type BlockRecord,
  type NetworkRecord,
  PUBLISHED_ARCHITECTURES,
  QAREPVGG_ARCHS,
} from '../arch/index.js';
import type { BatchNorm } from '../batchnorm.js';
import type { ConvBN } from '../conv-bn.js';
import { FuseError } from '../errors.js';
import type { FoldedConv } from '../fold-branches.js';
import { type KernelOIHW, makeKernel } from '../kernel-layout.js';
import type { MobileOneBlockParams } from '../mobileone.js';
import type { QARepVGGBlockParams } from '../qarepvgg.js';
import type { RepVGGBlockParams } from '../repvgg.js';
import { blockFamilyOf, checkpointModel, qarepvggSEReason } from './checkpoint-model.js';
import { layoutEvidence, layoutHint } from './detect.js';
import { deployBlockKeys, trainBlockKeys } from './keys.js';
import {
  type BlockFamily,
  type BlockPosition,
  BN_COUNTER,
  BN_FIELDS,
  KEY_SCHEMES,
  type KeyScheme,
  LAYOUT_NAMES,
  type LayoutName,
} from './layouts.js';
import { type StateDict, type StateTensor, toStateDict } from './state-dict.js';
import { type ShapeMismatch, StateDictError } from './state-dict-error.js';

/** The squeeze-excite after a block's branch sum: x * sigmoid(up(relu(down(mean_hw(x))))). */
export interface SqueezeExcite {
  /** Reduce: 1x1 conv OIHW [r, C, 1, 1] with bias [r]. */
  readonly down: FoldedConv<'OIHW'>;
  /** Expand: 1x1 conv OIHW [C, r, 1, 1] with bias [C]. */
  readonly up: FoldedConv<'OIHW'>;
  /** Its four keys, copied unchanged into the deploy form. */
  readonly keys: readonly string[];
}

/** What every block carries, whatever form it is in. */
export interface BlockInfo extends BlockPosition, BlockGeometry {
  /** Module path in the source, e.g. `stages.0.1` (timm) or `stage1.1` (official). */
  readonly name: string;
  /** Symmetric zero padding, (kernelSize - 1) / 2, in train and deploy form alike. */
  readonly padding: number;
  /** Applied to the branch sum (or the deploy conv) before the ReLU, in every source read. */
  readonly se?: SqueezeExcite;
  /** Keys of the folded conv in the source framework's own deploy form. */
  readonly deployKeys: { readonly weight: string; readonly bias: string };
  /** Source keys the folded conv replaces (branch tensors and BN counters, or the deploy conv). */
  readonly sourceKeys: readonly string[];
}

export interface RepVGGBlockEntry extends BlockInfo {
  readonly kind: 'repvgg';
  readonly params: RepVGGBlockParams<'OIHW'>;
}

export interface MobileOneBlockEntry extends BlockInfo {
  readonly kind: 'mobileone';
  readonly params: MobileOneBlockParams<'OIHW'>;
}

export interface QARepVGGBlockEntry extends BlockInfo {
  readonly kind: 'qarepvgg';
  readonly params: QARepVGGBlockParams<'OIHW'>;
}

/** A block the checkpoint already holds in deploy form (one conv with bias). */
export interface DeployedBlockEntry extends BlockInfo {
  readonly kind: 'deployed';
  readonly conv: FoldedConv<'OIHW'>;
}

export type ReparamBlock =
  | RepVGGBlockEntry
  | MobileOneBlockEntry
  | QARepVGGBlockEntry
  | DeployedBlockEntry;

export interface ParseStateDictOptions {
  /** The key layout; detected from the keys when left out. */
  readonly layout?: LayoutName;
  /**
   * A published model's name (`repvgg_a0`, `RepVGG-B1g4`, `mobileone_s0`,
   * ...) or a record (`architecture(name, options)`, `repvggRecord`,
   * `mobileoneRecord`) whose blocks the layout holds: every key is checked
   * against the record and strides come from it. Without one, the state dict is checked against the records of
   * every published model of its family, and the one it matches exactly is
   * used (reported as `model`); only a state dict that matches none (a
   * custom width or depth) falls back to geometry inferred from the tensors
   * (see the README): groups from the channel chain, stride 2 for the stem
   * (unless `stemStride` says otherwise) and each stage's first block unless
   * it has an identity branch. The result's `strides` says which it was.
   */
  readonly model?: string | NetworkRecord;
  /**
   * The stem's stride, 1 or 2: no tensor holds it. Without it the stem has the
   * stride of `model` or of the published record matched (2, as published),
   * and inferred geometry assumes 2 (what `strides.stemStrideFrom: 'assumed'`
   * says). A network trained at 28-32 px with the zoo's `stemStride: 1` (a
   * CIFAR RepVGG, `repvgg_compact`) needs 1 here. It overrides the stem of a
   * given `model` too (a published name always has the published stride 2).
   */
  readonly stemStride?: 1 | 2;
  /** BatchNorm epsilon (state dicts do not store it); PyTorch's default, 1e-5. */
  readonly eps?: number;
  /**
   * With `false`, keys the layout does not know (another head, an extra
   * module) pass through unchanged instead of being reported as unexpected.
   * Default true.
   */
  readonly strict?: boolean;
}

/** A prefix removed from the keys before parsing, and from how many. */
export interface StrippedPrefix {
  /** `module.`: what (Distributed)DataParallel puts before every key of the model it wraps. */
  readonly prefix: string;
  readonly keys: number;
}

/** A block whose stride no tensor shows, and the stride it was given. */
export interface AssumedStride {
  readonly name: string;
  readonly stride: number;
}

/** Where a parse's strides came from: a state dict stores none. */
export interface StrideSource {
  /**
   * `model`: options.model; `published`: the record of the published model
   * the keys and shapes match; `inferred`: no record (a custom width or
   * depth), so the stem and each stage's first block without an identity
   * branch are taken as stride 2.
   */
  readonly from: 'model' | 'published' | 'inferred';
  /** The stride the stem was given. */
  readonly stemStride: number;
  /** `option`: options.stemStride; `record`: the model's or published record's; `assumed`: inferred, 2. */
  readonly stemStrideFrom: 'option' | 'record' | 'assumed';
  /**
   * Inferred only: every block whose stride nothing stated (a block with an
   * identity branch is stride 1 for certain; a QARepVGG identity holds no
   * tensor, so there every block is listed), in network order; empty when
   * a record gave the strides. The stem is here unless options.stemStride
   * stated it.
   */
  readonly assumed: readonly AssumedStride[];
}

export interface ParsedStateDict {
  readonly layout: LayoutName;
  /**
   * Set when keys came with the `module.` prefix of a model saved from
   * (Distributed)DataParallel: it was stripped, as timm's `clean_state_dict`
   * does, and the result (like `passThrough`) names the keys without it.
   */
  readonly strippedPrefix?: StrippedPrefix;
  readonly family: BlockFamily;
  /** The record the state dict was checked against: options.model, or the published model it matched. */
  readonly model?: NetworkRecord;
  /** Where the blocks' strides came from, and which were assumed. */
  readonly strides: StrideSource;
  /** Blocks in network order: stem, then each stage's blocks. */
  readonly blocks: readonly ReparamBlock[];
  /** Tensors outside every block (head, `final_conv`, unknown keys when not strict), in source order. */
  readonly passThrough: ReadonlyMap<string, StateTensor>;
}

type Part = 'convs' | 'scale' | 'identity' | 'post' | 'se' | 'deploy';

/** The train-form parts, whose presence says a block is not in deploy form. */
const TRAIN_PARTS: readonly Part[] = ['convs', 'scale', 'identity', 'post'];

const BN_NAMES = new Set<string>([...Object.keys(BN_FIELDS), BN_COUNTER]);
const isConvBN = (t: string) =>
  t === 'conv.weight' || (t.startsWith('bn.') && BN_NAMES.has(t.slice(3)));

/** Which part of a block a key (relative to the block) belongs to; null for a name the layout does not use. */
function classify(s: KeyScheme, rest: string): { part: Part; branch: number } | null {
  const dot = rest.indexOf('.');
  if (dot < 0) return null;
  const head = rest.slice(0, dot);
  const tail = rest.slice(dot + 1);
  if (head === s.convs) {
    if (!s.convsIndexed) return isConvBN(tail) ? { part: 'convs', branch: 0 } : null;
    const m = /^(0|[1-9]\d*)\.(.+)$/.exec(tail);
    return m !== null && isConvBN(m[2]!) ? { part: 'convs', branch: Number(m[1]) } : null;
  }
  if (head === s.scale) {
    const ok = s.bareScale === true ? tail === 'weight' : isConvBN(tail);
    return ok ? { part: 'scale', branch: 0 } : null;
  }
  // An identity without tensors (QARepVGG's nn.Identity) is left out of the order.
  if (head === s.identity && s.order.includes('identity'))
    return BN_NAMES.has(tail) ? { part: 'identity', branch: 0 } : null;
  if (s.post !== undefined && head === s.post)
    return BN_NAMES.has(tail) ? { part: 'post', branch: 0 } : null;
  if (head === s.deploy)
    return tail === 'weight' || tail === 'bias' ? { part: 'deploy', branch: 0 } : null;
  if (head === s.se.module) {
    const [mod, field, extra] = tail.split('.');
    const ok = (mod === s.se.down || mod === s.se.up) && (field === 'weight' || field === 'bias');
    return ok && extra === undefined ? { part: 'se', branch: 0 } : null;
  }
  return null;
}

interface PresentBlock extends BlockPosition {
  readonly name: string;
  /** Full key -> tensor, in source order. */
  readonly tensors: Map<string, StateTensor>;
}

interface Collected {
  readonly missing: string[];
  readonly unexpected: string[];
  readonly mismatched: ShapeMismatch[];
  readonly other: string[];
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, j) => d === b[j]);

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

/** A key only official RepVGG's train form has, which a QARepVGG checkpoint cannot. */
const REPVGG_ONLY = /(^|\.)rbr_(1x1|identity)\./;

function resolveLayout(
  op: string,
  sd: StateDict,
  layout: LayoutName | undefined,
  model: string | NetworkRecord | undefined,
): LayoutName {
  if (layout !== undefined) {
    if (!LAYOUT_NAMES.includes(layout)) {
      throw new FuseError(
        op,
        'options.layout',
        `is '${String(layout)}', expected one of ${LAYOUT_NAMES.join(', ')}`,
      );
    }
    return layout;
  }
  const ev = layoutEvidence(sd);
  if (
    ev.layout === 'official-repvgg' &&
    model !== undefined &&
    checkpointModel(op, 'options.model', model).family === 'qarepvgg' &&
    ![...sd.keys()].some((k) => REPVGG_ONLY.test(k))
  ) {
    // A deploy-form QARepVGG has official RepVGG's keys: the model says which it is.
    return 'official-qarepvgg';
  }
  if (ev.layout !== null) return ev.layout;
  const found = Object.entries(ev.matches).map(([l, k]) => `${l} (e.g. '${k}')`);
  if (found.length > 1) {
    throw new FuseError(
      op,
      'stateDict',
      `mixes key layouts: ${found.join(', ')}; pass options.layout to choose one`,
    );
  }
  throw new FuseError(op, 'stateDict', `has no recognizable layout: ${layoutHint(sd.keys())}`);
}

function resolveModel(
  op: string,
  model: string | NetworkRecord | undefined,
  scheme: KeyScheme,
  stemStride: number | undefined,
): NetworkRecord | undefined {
  if (model === undefined) return undefined;
  const { record, family } = checkpointModel(op, 'options.model', model);
  if (family !== scheme.family) {
    throw new FuseError(
      op,
      'options.model',
      `'${record.name}' is a ${family} model, but layout '${scheme.layout}' holds ${scheme.family} blocks`,
    );
  }
  if (stemStride === undefined) return record;
  const blocks = record.blocks.map((b) => (isStem(b) ? { ...b, stride: stemStride } : b));
  return { ...record, stemStride, blocks };
}

const isStem = (b: BlockPosition) => b.stage === 0 && b.index === 0;

/** options.stemStride, checked: 1 or 2, as the architecture records allow. */
function checkStemStride(op: string, v: unknown): 1 | 2 | undefined {
  if (v === undefined || v === 1 || v === 2) return v;
  const shown = typeof v === 'string' ? `'${v.slice(0, 20)}'` : String(v);
  throw new FuseError(
    op,
    'options.stemStride',
    `is ${shown}, expected 1 or 2 (the stem's stride, which no tensor of a state dict holds)`,
  );
}

/** A tensor's shape when it has four dimensions (a conv weight), else undefined. */
function key4(t: StateTensor | undefined): readonly [number, number, number, number] | undefined {
  if (t === undefined) return undefined;
  const [o, i, h, w, ...more] = t.shape;
  return o !== undefined && i !== undefined && h !== undefined && w !== undefined && !more.length
    ? [o, i, h, w]
    : undefined;
}

/**
 * The geometry of a block from its tensors: out channels and kernel from the
 * weights, in channels from the identity branch (in == out) or else from the
 * block before it (these networks are plain chains), groups = in / weight.shape[1],
 * stride 2 for each stage's first block unless it has an identity, `stemStride`
 * for the stem.
 */
function inferSpec(
  scheme: KeyScheme,
  block: PresentBlock,
  parts: ReadonlyMap<string, { part: Part; branch: number }>,
  prev: { channels: number; name: string } | undefined,
  other: string[],
  stemStride: number,
): BlockRecord {
  const { name } = block;
  const get = (rest: string) => block.tensors.get(`${name}.${rest}`);
  let branches = 1;
  const has = new Set<Part>();
  for (const r of parts.values()) {
    has.add(r.part);
    if (r.part === 'convs') branches = Math.max(branches, r.branch + 1);
  }
  const convKey = (j: number) =>
    scheme.convsIndexed ? `${scheme.convs}.${j}.conv.weight` : `${scheme.convs}.conv.weight`;
  let refKey: string | undefined;
  let kxk: readonly [number, number, number, number] | undefined;
  for (const rest of [
    ...Array.from({ length: branches }, (_, j) => convKey(j)),
    `${scheme.deploy}.weight`,
  ]) {
    kxk = key4(get(rest));
    if (kxk !== undefined) {
      refKey = `${name}.${rest}`;
      break;
    }
  }
  const oneKey =
    scheme.bareScale === true ? `${scheme.scale}.weight` : `${scheme.scale}.conv.weight`;
  const one = key4(get(oneKey));
  if (kxk === undefined && one !== undefined) refKey = `${name}.${oneKey}`;
  const ref = kxk ?? one;
  let vectorLength: number | undefined;
  for (const [key, t] of block.tensors) {
    const p = parts.get(key)?.part;
    if (
      (p === 'convs' || p === 'scale' || p === 'identity' || p === 'post') &&
      t.shape.length === 1
    ) {
      vectorLength = t.shape[0];
      break;
    }
  }
  const out = ref?.[0] ?? vectorLength ?? prev?.channels ?? 1;
  const oneBranch = scheme.family !== 'mobileone';
  const k = kxk !== undefined ? kxk[2] : oneBranch || has.has('scale') ? 3 : 1;
  if (kxk !== undefined && (kxk[2] !== kxk[3] || kxk[2] % 2 === 0)) {
    other.push(
      `${refKey} ${shapeText(kxk)} has a ${kxk[2]}x${kxk[3]} kernel; these blocks need an odd square kernel`,
    );
  }
  // QARepVGG's identity holds no tensor: a block has one where the chain allows
  // (in == out past each stage's first block), as the source builds it.
  const bareIdentity = scheme.family === 'qarepvgg';
  const chained = prev?.channels ?? ref?.[1] ?? out;
  const identity = bareIdentity ? block.index !== 0 && chained === out : has.has('identity');
  const ipg = ref?.[1];
  let inChannels = identity ? out : chained;
  if (identity && prev !== undefined && prev.channels !== out) {
    other.push(
      `${name} has an identity branch, so its input must have its ${out} output channels, but ${prev.name} outputs ${prev.channels}`,
    );
  }
  let groups = 1;
  if (ipg !== undefined && ipg > 0) {
    if (inChannels % ipg === 0 && out % (inChannels / ipg) === 0) {
      groups = inChannels / ipg;
    } else {
      const from = identity
        ? 'its identity branch'
        : prev !== undefined
          ? `the output of ${prev.name}`
          : 'the stem input';
      other.push(
        `${refKey} ${shapeText(ref!)} reads ${ipg} channels per group, but the block's input has ${inChannels} (${from}): not a whole number of groups`,
      );
      inChannels = ipg;
    }
  }
  // Named by its module path: no zoo layer name exists for a block of a checkpoint.
  return {
    name,
    kind: scheme.family,
    stage: block.stage,
    index: block.index,
    inChannels,
    outChannels: out,
    kernelSize: k,
    stride: identity ? 1 : block.index === 0 ? (block.stage === 0 ? stemStride : 2) : 1,
    groups,
    branches: {
      kxk: oneBranch ? 1 : branches,
      scale: oneBranch ? true : k > 1,
      identity,
    },
    // Every source puts the SE after the branch sum, before the ReLU; QARepVGG's
    // (before its BN after the sum) is refused by the caller.
    se: has.has('se') && !bareIdentity ? 'pre' : 'none',
    activation: 'relu',
  };
}

/**
 * The names a checkpoint is matched against without a model: the published
 * RepVGG and MobileOne models, and QARepVGG's A0-B0 (the sizes the paper and
 * cxxgtxy/QARepVGG's `create_QARepVGGBlockV2_*` define, though no weights
 * of them are published).
 */
const MATCHED_ARCHITECTURES: readonly string[] = [
  ...PUBLISHED_ARCHITECTURES,
  ...Object.keys(QAREPVGG_ARCHS),
];

/**
 * The parse against the one published model of the layout's family whose
 * record the state dict matches exactly (block names, every key and shape),
 * or undefined when none does: then the caller infers the geometry. Models of
 * one family differ in depth, width or groups, so at most one matches.
 */
function publishedModel(
  sd: StateDict,
  layout: LayoutName,
  options: ParseStateDictOptions,
): ParsedStateDict | undefined {
  const family = KEY_SCHEMES[layout].family;
  const blocks = new Set<string>();
  for (const key of sd.keys()) {
    const split = KEY_SCHEMES[layout].splitKey(key);
    if (split) blocks.add(split.name);
  }
  for (const name of MATCHED_ARCHITECTURES) {
    const record = architecture(name);
    // Cheap first: the same block count before a full check of every key.
    if (blockFamilyOf(record) !== family || record.blocks.length !== blocks.size) continue;
    try {
      return parseAs(
        'parseStateDict',
        sd,
        layout,
        { ...options, layout, model: record },
        'published',
      );
    } catch (e) {
      if (!(e instanceof StateDictError)) throw e;
    }
  }
  return undefined;
}

/** The SE's reduced width as the checkpoint has it, for the expected shapes. */
function seWidth(scheme: KeyScheme, block: PresentBlock, out: number): number {
  const p = `${block.name}.${scheme.se.module}`;
  const down = block.tensors.get(`${p}.${scheme.se.down}.weight`);
  const up = block.tensors.get(`${p}.${scheme.se.up}.weight`);
  const bias = block.tensors.get(`${p}.${scheme.se.down}.bias`);
  return down?.shape[0] ?? up?.shape[1] ?? bias?.shape[0] ?? scheme.seChannels(out);
}

function buildBlock(
  scheme: KeyScheme,
  spec: BlockRecord,
  block: PresentBlock,
  deployed: boolean,
  sourceKeys: readonly string[],
  eps: number,
): ReparamBlock {
  const { name } = block;
  const tensor = (rest: string) => block.tensors.get(`${name}.${rest}`)!;
  const f32 = (rest: string) => tensor(rest).data as Float32Array;
  const kernel = (rest: string): KernelOIHW => makeKernel('OIHW', tensor(rest).shape, f32(rest));
  const bn = (prefix: string): BatchNorm => ({
    gamma: f32(`${prefix}.weight`),
    beta: f32(`${prefix}.bias`),
    mean: f32(`${prefix}.running_mean`),
    variance: f32(`${prefix}.running_var`),
    eps,
  });
  const convBN = (prefix: string): ConvBN<'OIHW'> => ({
    kernel: kernel(`${prefix}.conv.weight`),
    bn: bn(`${prefix}.bn`),
  });
  const s = scheme.se;
  const se: SqueezeExcite | undefined =
    spec.se !== 'none'
      ? {
          down: {
            kernel: kernel(`${s.module}.${s.down}.weight`),
            bias: f32(`${s.module}.${s.down}.bias`),
          },
          up: {
            kernel: kernel(`${s.module}.${s.up}.weight`),
            bias: f32(`${s.module}.${s.up}.bias`),
          },
          keys: [s.down, s.up].flatMap((m) => [
            `${name}.${s.module}.${m}.weight`,
            `${name}.${s.module}.${m}.bias`,
          ]),
        }
      : undefined;
  const info: BlockInfo = {
    name,
    stage: spec.stage,
    index: spec.index,
    inChannels: spec.inChannels,
    outChannels: spec.outChannels,
    kernelSize: spec.kernelSize,
    stride: spec.stride,
    groups: spec.groups,
    padding: (spec.kernelSize - 1) / 2,
    ...(se !== undefined ? { se } : {}),
    deployKeys: {
      weight: `${name}.${scheme.deploy}.weight`,
      bias: `${name}.${scheme.deploy}.bias`,
    },
    sourceKeys,
  };
  if (deployed) {
    return {
      ...info,
      kind: 'deployed',
      conv: { kernel: kernel(`${scheme.deploy}.weight`), bias: f32(`${scheme.deploy}.bias`) },
    };
  }
  const convs = Array.from({ length: spec.branches.kxk }, (_, j) =>
    convBN(scheme.convsIndexed ? `${scheme.convs}.${j}` : scheme.convs),
  );
  if (scheme.family === 'qarepvgg') {
    const [dense] = convs;
    if (dense === undefined || scheme.post === undefined)
      throw new FuseError('parseStateDict', name, 'is a QARepVGG block without its kxk branch');
    const params: QARepVGGBlockParams<'OIHW'> = {
      dense,
      ...(spec.branches.scale ? { conv1x1: kernel(`${scheme.scale}.weight`) } : {}),
      identity: spec.branches.identity,
      bn: bn(scheme.post),
      groups: spec.groups,
      stride: spec.stride,
    };
    return { ...info, kind: 'qarepvgg', params };
  }
  const identity = spec.branches.identity ? bn(scheme.identity) : undefined;
  const scale = spec.branches.scale ? convBN(scheme.scale) : undefined;
  if (scheme.family === 'repvgg') {
    const [dense] = convs;
    // A record's RepVGG block has its one kxk branch; only a hand-made record lacks it.
    if (dense === undefined)
      throw new FuseError('parseStateDict', name, 'is a RepVGG block without its kxk branch');
    const params: RepVGGBlockParams<'OIHW'> = {
      dense,
      ...(scale !== undefined ? { conv1x1: scale } : {}),
      ...(identity !== undefined ? { identity } : {}),
      groups: spec.groups,
      stride: spec.stride,
    };
    return { ...info, kind: 'repvgg', params };
  }
  const params: MobileOneBlockParams<'OIHW'> = {
    convs,
    ...(scale !== undefined ? { scale } : {}),
    ...(identity !== undefined ? { identity } : {}),
    groups: spec.groups,
    stride: spec.stride,
  };
  return { ...info, kind: 'mobileone', params };
}

/**
 * Squeeze-excites of width 0, one line for all blocks: official RepVGG's
 * `c // 16` and apple's `int(c * 0.0625)` give 0 below 16 channels, a module
 * PyTorch builds and saves but no deploy layer here can hold. The first
 * block's keys are named with their shapes, the others by block.
 */
function emptySEs(layout: LayoutName, blocks: readonly { name: string; keys: string[] }[]): string {
  const [first, ...rest] = blocks;
  const others = rest.length > 0 ? `; the same in ${rest.map((b) => b.name).join(', ')}` : '';
  return `a squeeze-excite of width 0 (${first!.keys.join(', ')}${others}): ${layout}'s SE width is 0 below 16 channels, and no deploy layer holds an SE of width 0; only blocks of at least 16 channels can carry one`;
}

const DATA_PARALLEL = 'module.';

/**
 * The state dict without the `module.` prefix (Distributed)DataParallel puts
 * before the keys of the model it wraps, removed from every key that has it,
 * as timm's `clean_state_dict` does; with how many keys had it. A stripped key
 * that another key already has is refused: which copy is meant is unknown.
 */
export function withoutDataParallelPrefix(
  op: string,
  sd: StateDict,
): { readonly stateDict: StateDict; readonly stripped?: StrippedPrefix } {
  let count = 0;
  for (const key of sd.keys()) if (key.startsWith(DATA_PARALLEL)) count++;
  if (count === 0) return { stateDict: sd };
  for (const key of sd.keys()) {
    if (!key.startsWith(DATA_PARALLEL)) continue;
    const bare = key.slice(DATA_PARALLEL.length);
    if (sd.has(bare)) {
      throw new FuseError(
        op,
        'stateDict',
        `has both '${bare}' and '${key}': strip the DataParallel prefix '${DATA_PARALLEL}' yourself, keeping the copy you mean`,
      );
    }
  }
  // In source order, each key once, under its bare name.
  const out = new Map<string, StateTensor>();
  for (const [key, t] of sd) {
    out.set(key.startsWith(DATA_PARALLEL) ? key.slice(DATA_PARALLEL.length) : key, t);
  }
  return { stateDict: out, stripped: { prefix: DATA_PARALLEL, keys: count } };
}

/**
 * What would make a state dict that failed fit, to lead its error: the layout
 * its keys are in when another was forced, the published model its keys and
 * shapes match when another was named.
 */
function fixHints(sd: StateDict, layout: LayoutName, options: ParseStateDictOptions): string[] {
  const hints: string[] = [];
  if (options.layout !== undefined) {
    const detected = layoutEvidence(sd).layout;
    // A deploy-form QARepVGG checkpoint is detected as official RepVGG: no other layout to suggest.
    const ambiguous = detected === 'official-repvgg' && layout === 'official-qarepvgg';
    if (detected !== null && detected !== layout && !ambiguous) {
      hints.push(
        `its keys are in the ${detected} layout: pass that layout (or none, to detect it)`,
      );
      return hints;
    }
  }
  if (options.model !== undefined) {
    // publishedModel puts each record in place of the model asked for.
    const match = publishedModel(sd, layout, options)?.model;
    const asked = typeof options.model === 'string' ? options.model : options.model.name;
    if (match !== undefined && match.name !== asked) {
      hints.push(
        `its keys and shapes are those of '${match.name}': pass that model (or none, to detect it)`,
      );
    }
  }
  return hints;
}

/**
 * Splits a flat state dict of one of the layouts into its blocks (in OIHW,
 * ready for `foldRepVGGBlock` / `foldMobileOneBlock` / `foldQARepVGGBlock`)
 * and the tensors that pass through. Every missing, unexpected or mis-shaped key is collected and thrown
 * at once as a {@link StateDictError}.
 */
export function parseStateDict(
  stateDict: StateDict | Readonly<Record<string, StateTensor>>,
  options: ParseStateDictOptions = {},
): ParsedStateDict {
  const op = 'parseStateDict';
  checkStemStride(op, options.stemStride);
  const { stateDict: sd, stripped } = withoutDataParallelPrefix(op, toStateDict(op, stateDict));
  const layout = resolveLayout(op, sd, options.layout, options.model);
  const parsed =
    (options.model === undefined ? publishedModel(sd, layout, options) : undefined) ??
    parseAs(op, sd, layout, options, 'model', () => fixHints(sd, layout, options));
  return stripped !== undefined ? { ...parsed, strippedPrefix: stripped } : parsed;
}

/**
 * The parse of a checked state dict in a known layout (against `options.model`
 * when given, else by inference); `source` says whether that model was asked
 * for or is the published record matched; `hints`, when given, says what would
 * make a failing one fit, to lead the error.
 */
function parseAs(
  op: string,
  sd: StateDict,
  layout: LayoutName,
  options: ParseStateDictOptions,
  source: 'model' | 'published',
  hints?: () => string[],
): ParsedStateDict {
  const scheme = KEY_SCHEMES[layout];
  // Checked once by parseStateDict, the one way in (publishedModel tries each record through here).
  const stemStride = options.stemStride;
  const model = resolveModel(op, options.model, scheme, stemStride);
  const eps = options.eps ?? 1e-5;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) {
    throw new FuseError(op, 'options.eps', `is ${String(eps)}, expected a finite number > 0`);
  }
  const strict = options.strict ?? true;

  const found: Collected = { missing: [], unexpected: [], mismatched: [], other: [] };
  const passThrough = new Map<string, StateTensor>();
  const present = new Map<string, PresentBlock>();
  for (const [key, t] of sd) {
    const split = scheme.splitKey(key);
    if (split !== null) {
      let b = present.get(split.name);
      if (b === undefined) {
        b = { stage: split.stage, index: split.index, name: split.name, tensors: new Map() };
        present.set(split.name, b);
      }
      b.tensors.set(key, t);
    } else if (scheme.passThrough.some((p) => key.startsWith(`${p}.`)) || !strict) {
      passThrough.set(key, t);
    } else {
      found.unexpected.push(key);
    }
  }

  const byPosition = (a: BlockPosition, b: BlockPosition) => a.stage - b.stage || a.index - b.index;
  let order: BlockPosition[];
  if (model !== undefined) {
    order = [...model.blocks];
    const known = new Set(model.blocks.map((b) => scheme.blockName(b)));
    for (const b of present.values()) {
      if (!known.has(b.name)) found.unexpected.push(...b.tensors.keys());
    }
  } else {
    order = [...present.values()].sort(byPosition);
  }

  const built: Array<() => ReparamBlock> = [];
  const assumed: AssumedStride[] = [];
  const emptySE: { name: string; keys: string[] }[] = [];
  let stem: number | undefined;
  let prev: { channels: number; name: string } | undefined;
  for (const pos of order) {
    const name = scheme.blockName(pos);
    const block = present.get(name);
    const fromModel = model !== undefined ? (pos as BlockRecord) : undefined;
    if (block === undefined) {
      // Only reachable with a model: every key of the absent block is missing.
      for (const e of trainBlockKeys(scheme, fromModel!))
        if (e.counter !== true) found.missing.push(e.key);
      prev = { channels: fromModel!.outChannels, name };
      continue;
    }
    const parts = new Map<string, { part: Part; branch: number }>();
    const unknown: string[] = [];
    for (const key of block.tensors.keys()) {
      const r = classify(scheme, key.slice(name.length + 1));
      if (r !== null) parts.set(key, r);
      else unknown.push(key);
    }
    const spec = fromModel ?? inferSpec(scheme, block, parts, prev, found.other, stemStride ?? 2);
    if (isStem(spec)) stem = spec.stride;
    // Inferred strides are certain only where an identity branch needs stride 1.
    // (QARepVGG's identity holds no tensor, so there it was inferred too.)
    if (
      fromModel === undefined &&
      (!spec.branches.identity || scheme.family === 'qarepvgg') &&
      !(isStem(spec) && stemStride !== undefined)
    )
      assumed.push({ name, stride: spec.stride });
    const partSet = new Set([...parts.values()].map((r) => r.part));
    const deployed = partSet.has('deploy') && !TRAIN_PARTS.some((p) => partSet.has(p));
    if (scheme.family === 'qarepvgg' && partSet.has('se'))
      found.other.push(`${name}.${scheme.se.module}: ${qarepvggSEReason}`);
    const r = seWidth(scheme, block, spec.outChannels);
    const expected = deployed
      ? deployBlockKeys(scheme, spec, r)
      : trainBlockKeys(scheme, spec, r, true);
    const expectedKeys = new Set(expected.map((e) => e.key));
    // SE tensors stay in the deploy form; everything else of the block is replaced.
    const sePrefix = `${name}.${scheme.se.module}.`;
    const sourceKeys: string[] = [];
    const empty: string[] = [];
    for (const e of expected) {
      const t = block.tensors.get(e.key);
      if (t === undefined) {
        if (e.counter !== true) found.missing.push(e.key);
        continue;
      }
      if (!e.key.startsWith(sePrefix)) sourceKeys.push(e.key);
      if (e.counter === true) continue;
      if (!sameShape(t.shape, e.shape)) {
        found.mismatched.push({ key: e.key, shape: t.shape, expected: e.shape });
      } else if (t.shape.includes(0)) {
        empty.push(`${e.key} ${shapeText(t.shape)}`);
      } else if (!(t.data instanceof Float32Array)) {
        found.other.push(
          `${e.key} holds integer data${t.dtype ? ` (${t.dtype})` : ''}, but a conv or BatchNorm tensor must be float`,
        );
      }
    }
    if (empty.length > 0) {
      if (spec.se !== 'none' && r === 0) emptySE.push({ name, keys: empty });
      else found.other.push(`${empty.join(', ')}: empty (a zero dimension)`);
    }
    for (const key of block.tensors.keys()) {
      if (expectedKeys.has(key)) continue;
      if (!strict && unknown.includes(key)) passThrough.set(key, block.tensors.get(key)!);
      else found.unexpected.push(key);
    }
    // Built only once the whole checkpoint has checked out (a problem anywhere throws first).
    built.push(() => buildBlock(scheme, spec, block, deployed, sourceKeys, eps));
    prev = { channels: spec.outChannels, name };
  }

  if (emptySE.length > 0) found.other.push(emptySEs(layout, emptySE));
  if (
    found.missing.length + found.unexpected.length + found.mismatched.length + found.other.length >
    0
  ) {
    const what =
      model !== undefined
        ? `the ${layout} layout of model '${model.name}'`
        : `the ${layout} layout`;
    throw new StateDictError(op, what, found, hints?.() ?? []);
  }
  const strides: StrideSource = {
    from: model !== undefined ? source : 'inferred',
    stemStride: stem ?? stemStride ?? 2,
    stemStrideFrom:
      stemStride !== undefined ? 'option' : model !== undefined ? 'record' : 'assumed',
    assumed,
  };
  return {
    layout,
    family: scheme.family,
    ...(model !== undefined ? { model } : {}),
    strides,
    blocks: built.map((b) => b()),
    passThrough: new Map([...sd].filter(([key]) => passThrough.has(key))),
  };
}
