import type { BlockRecord, NetworkRecord } from '../arch/index.js';
import { FuseError } from '../errors.js';
import { checkpointModel } from './checkpoint-model.js';
import { BN_COUNTER, BN_FIELDS, KEY_SCHEMES, type KeyScheme, type LayoutName } from './layouts.js';

/**
 * What a key holds in its block: which part (a kxk branch by index, the 1x1
 * scale branch, the identity BN, the BN after the sum, the SE's reduce or
 * expand conv, the deploy conv) and which tensor of it, named as @repnets/fuse names them (`kernel`
 * OIHW, BN `gamma`/`beta`/`mean`/`variance`, BN's step `counter`, a conv's `bias`).
 */
export interface KeyRole {
  /** `post`: the BN after the branch sum (QARepVGG). */
  readonly part: 'kxk' | 'scale' | 'identity' | 'post' | 'se-down' | 'se-up' | 'deploy';
  /** The kxk branch's index (MobileOne has several); 0 elsewhere. */
  readonly index: number;
  readonly field: 'kernel' | 'bias' | 'gamma' | 'beta' | 'mean' | 'variance' | 'counter';
}

/** A key a block must hold, its shape, and what it is to the fold. */
export interface ExpectedKey {
  readonly key: string;
  readonly shape: readonly number[];
  /** BatchNorm's step counter: allowed, never required, never read. */
  readonly counter?: boolean;
  readonly role: KeyRole;
}

const BN_ROLE = {
  weight: 'gamma',
  bias: 'beta',
  running_mean: 'mean',
  running_var: 'variance',
} as const satisfies Record<keyof typeof BN_FIELDS, KeyRole['field']>;

function bnKeys(
  prefix: string,
  out: number,
  counters: boolean,
  part: KeyRole['part'],
  index: number,
): ExpectedKey[] {
  const keys: ExpectedKey[] = (Object.keys(BN_FIELDS) as (keyof typeof BN_FIELDS)[]).map((f) => ({
    key: `${prefix}.${f}`,
    shape: [out],
    role: { part, index, field: BN_ROLE[f] },
  }));
  if (counters)
    keys.push({
      key: `${prefix}.${BN_COUNTER}`,
      shape: [],
      counter: true,
      role: { part, index, field: 'counter' },
    });
  return keys;
}

export interface ExpectedKeysOptions {
  /** Also list each BatchNorm's `num_batches_tracked` (shape [], I64 in PyTorch). */
  readonly withCounters?: boolean;
}

function convBN(
  prefix: string,
  weight: readonly number[],
  out: number,
  counters: boolean,
  part: 'kxk' | 'scale',
  index: number,
): ExpectedKey[] {
  return [
    { key: `${prefix}.conv.weight`, shape: weight, role: { part, index, field: 'kernel' } },
    ...bnKeys(`${prefix}.bn`, out, counters, part, index),
  ];
}

/**
 * The train-form keys of one block in `scheme`'s naming, in the order the
 * source module registers them. `seChannels` is the SE's reduced width (read
 * from the checkpoint when parsing; the source's own rule otherwise).
 */
export function trainBlockKeys(
  scheme: KeyScheme,
  spec: BlockRecord,
  seChannels = scheme.seChannels(spec.outChannels),
  counters = true,
): ExpectedKey[] {
  const name = scheme.blockName(spec);
  const { outChannels: out, inChannels: cin, groups, kernelSize: k } = spec;
  const ipg = cin / groups;
  const { kxk, scale, identity } = spec.branches;
  const keys: ExpectedKey[] = [];
  for (const part of scheme.order) {
    if (part === 'se' && spec.se !== 'none') keys.push(...seKeys(scheme, name, out, seChannels));
    if (part === 'identity' && identity) {
      keys.push(...bnKeys(`${name}.${scheme.identity}`, out, counters, 'identity', 0));
    }
    if (part === 'convs') {
      for (let j = 0; j < kxk; j++) {
        const prefix = scheme.convsIndexed
          ? `${name}.${scheme.convs}.${j}`
          : `${name}.${scheme.convs}`;
        keys.push(...convBN(prefix, [out, ipg, k, k], out, counters, 'kxk', j));
      }
    }
    if (part === 'scale' && scale) {
      if (scheme.bareScale === true)
        keys.push({
          key: `${name}.${scheme.scale}.weight`,
          shape: [out, ipg, 1, 1],
          role: { part: 'scale', index: 0, field: 'kernel' },
        });
      else
        keys.push(
          ...convBN(`${name}.${scheme.scale}`, [out, ipg, 1, 1], out, counters, 'scale', 0),
        );
    }
    if (part === 'post' && scheme.post !== undefined)
      keys.push(...bnKeys(`${name}.${scheme.post}`, out, counters, 'post', 0));
  }
  return keys;
}

function seKeys(scheme: KeyScheme, name: string, out: number, r: number): ExpectedKey[] {
  const { module, down, up } = scheme.se;
  const role = (part: 'se-down' | 'se-up', field: 'kernel' | 'bias') => ({
    part,
    index: 0,
    field,
  });
  return [
    {
      key: `${name}.${module}.${down}.weight`,
      shape: [r, out, 1, 1],
      role: role('se-down', 'kernel'),
    },
    { key: `${name}.${module}.${down}.bias`, shape: [r], role: role('se-down', 'bias') },
    { key: `${name}.${module}.${up}.weight`, shape: [out, r, 1, 1], role: role('se-up', 'kernel') },
    { key: `${name}.${module}.${up}.bias`, shape: [out], role: role('se-up', 'bias') },
  ];
}

/** The deploy-form keys of one block: the source's re-parameterized conv (with bias) and its SE, in the source's order. */
export function deployBlockKeys(
  scheme: KeyScheme,
  spec: BlockRecord,
  seChannels = scheme.seChannels(spec.outChannels),
): ExpectedKey[] {
  const name = scheme.blockName(spec);
  const k = spec.kernelSize;
  const conv: ExpectedKey[] = [
    {
      key: `${name}.${scheme.deploy}.weight`,
      shape: [spec.outChannels, spec.inChannels / spec.groups, k, k],
      role: { part: 'deploy', index: 0, field: 'kernel' },
    },
    {
      key: `${name}.${scheme.deploy}.bias`,
      shape: [spec.outChannels],
      role: { part: 'deploy', index: 0, field: 'bias' },
    },
  ];
  const se = spec.se !== 'none' ? seKeys(scheme, name, spec.outChannels, seChannels) : [];
  // The official modules register their SE before the deploy conv, timm's after it.
  return scheme.order[0] === 'se' ? [...se, ...conv] : [...conv, ...se];
}

/** The scheme of `layout` and the record of `model`, whose blocks it must hold. */
function checkFamily(
  op: string,
  layout: LayoutName,
  model: string | NetworkRecord,
): { scheme: KeyScheme; record: NetworkRecord } {
  const scheme = KEY_SCHEMES[layout];
  if (scheme === undefined) {
    throw new FuseError(
      op,
      'layout',
      `is '${String(layout)}', expected one of ${Object.keys(KEY_SCHEMES).join(', ')}`,
    );
  }
  const { record, family } = checkpointModel(op, 'model', model);
  if (scheme.family !== family) {
    throw new FuseError(
      op,
      'model',
      `'${record.name}' is a ${family} model, but layout '${layout}' holds ${scheme.family} blocks`,
    );
  }
  return { scheme, record };
}

/**
 * Every key and shape of the blocks of `model` (a published model's name, or
 * a record) in train form, as `layout` names them (the classifier head is
 * left out: its size is the user's). Useful to write a checkpoint another
 * framework can load, or to check one by hand.
 */
export function trainStateDictShapes(
  layout: LayoutName,
  model: string | NetworkRecord,
  options: ExpectedKeysOptions = {},
): Map<string, readonly number[]> {
  const { scheme, record } = checkFamily('trainStateDictShapes', layout, model);
  const out = new Map<string, readonly number[]>();
  for (const spec of record.blocks) {
    for (const e of trainBlockKeys(scheme, spec, undefined, options.withCounters ?? false))
      out.set(e.key, e.shape);
  }
  return out;
}

/** Every key and shape of the blocks of `model` in the source's deploy form (head left out). */
export function deployStateDictShapes(
  layout: LayoutName,
  model: string | NetworkRecord,
): Map<string, readonly number[]> {
  const { scheme, record } = checkFamily('deployStateDictShapes', layout, model);
  const out = new Map<string, readonly number[]>();
  for (const spec of record.blocks) {
    for (const e of deployBlockKeys(scheme, spec)) out.set(e.key, e.shape);
  }
  return out;
}

export interface StateDictKeysOptions {
  /** 'train' (default): every branch and BN; 'deploy': the source's re-parameterized conv per block. */
  readonly form?: 'train' | 'deploy';
  /** Train form: list each BatchNorm's `num_batches_tracked` too, as PyTorch saves it (default true). */
  readonly withCounters?: boolean;
}

/** Every key of one block, in the order its PyTorch module registers them. */
export interface BlockKeys {
  readonly block: BlockRecord;
  /** The block's module path, e.g. `stages.0.1` (timm) or `stage1.1` (official). */
  readonly module: string;
  readonly keys: readonly ExpectedKey[];
}

/** The full key table of a model in one layout and form. */
export interface StateDictKeys {
  readonly layout: LayoutName;
  readonly record: NetworkRecord;
  readonly blocks: readonly BlockKeys[];
  /** The classifier Linear's module, `head.fc` (timm) or `linear` (official): `.weight` [classes, features] and `.bias`. */
  readonly classifier: string;
}

/**
 * Every key of `model` (a published name or a record) in `layout` and form,
 * block by block in the source's registration order, each with what it holds
 * ({@link KeyRole}): the table a writer follows to produce a state dict the
 * source's module loads with `strict=True` (the classifier, after the blocks,
 * is named by `classifier`). An SE's reduced width is the record's
 * `seHidden` where it has one, else the source's own rule.
 */
export function stateDictKeys(
  layout: LayoutName,
  model: string | NetworkRecord,
  options: StateDictKeysOptions = {},
): StateDictKeys {
  const { scheme, record } = checkFamily('stateDictKeys', layout, model);
  const form = options.form ?? 'train';
  if (form !== 'train' && form !== 'deploy')
    throw new FuseError(
      'stateDictKeys',
      'options.form',
      `is '${String(form)}', expected 'train' or 'deploy'`,
    );
  const blocks = record.blocks.map((spec) => {
    const r = spec.seHidden ?? scheme.seChannels(spec.outChannels);
    const keys =
      form === 'train'
        ? trainBlockKeys(scheme, spec, r, options.withCounters ?? true)
        : deployBlockKeys(scheme, spec, r);
    return { block: spec, module: scheme.blockName(spec), keys };
  });
  return { layout, record, blocks, classifier: scheme.classifier };
}
