import type { BlockRecord, NetworkRecord } from '../arch/index.js';
import { FuseError } from '../errors.js';
import { checkpointModel } from './checkpoint-model.js';
import { BN_COUNTER, BN_FIELDS, KEY_SCHEMES, type KeyScheme, type LayoutName } from './layouts.js';

/** A key a block must hold, its shape, and what it is to the fold. */
export interface ExpectedKey {
  readonly key: string;
  readonly shape: readonly number[];
  /** BatchNorm's step counter: allowed, never required, never read. */
  readonly counter?: boolean;
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
): ExpectedKey[] {
  const keys: ExpectedKey[] = [{ key: `${prefix}.conv.weight`, shape: weight }];
  for (const f of Object.keys(BN_FIELDS)) keys.push({ key: `${prefix}.bn.${f}`, shape: [out] });
  if (counters) keys.push({ key: `${prefix}.bn.${BN_COUNTER}`, shape: [], counter: true });
  return keys;
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
      for (const f of Object.keys(BN_FIELDS)) {
        keys.push({ key: `${name}.${scheme.identity}.${f}`, shape: [out] });
      }
      if (counters)
        keys.push({ key: `${name}.${scheme.identity}.${BN_COUNTER}`, shape: [], counter: true });
    }
    if (part === 'convs') {
      for (let j = 0; j < kxk; j++) {
        const prefix = scheme.convsIndexed
          ? `${name}.${scheme.convs}.${j}`
          : `${name}.${scheme.convs}`;
        keys.push(...convBN(prefix, [out, ipg, k, k], out, counters));
      }
    }
    if (part === 'scale' && scale) {
      keys.push(...convBN(`${name}.${scheme.scale}`, [out, ipg, 1, 1], out, counters));
    }
  }
  return keys;
}

function seKeys(scheme: KeyScheme, name: string, out: number, r: number): ExpectedKey[] {
  const { module, down, up } = scheme.se;
  return [
    { key: `${name}.${module}.${down}.weight`, shape: [r, out, 1, 1] },
    { key: `${name}.${module}.${down}.bias`, shape: [r] },
    { key: `${name}.${module}.${up}.weight`, shape: [out, r, 1, 1] },
    { key: `${name}.${module}.${up}.bias`, shape: [out] },
  ];
}

/** The deploy-form keys of one block: the source's re-parameterized conv (with bias) and its SE. */
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
    },
    { key: `${name}.${scheme.deploy}.bias`, shape: [spec.outChannels] },
  ];
  const se = spec.se !== 'none' ? seKeys(scheme, name, spec.outChannels, seChannels) : [];
  return [...conv, ...se];
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
