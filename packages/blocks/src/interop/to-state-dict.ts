/**
 * A zoo model back into a PyTorch state dict of timm's or the authors' layout,
 * in the order the source's modules register their tensors, so that module
 * loads it with `strict=True`: the key table is fuse's (`stateDictKeys`), the
 * values the layers' own.
 */
import {
  architecture,
  type BatchNorm,
  type BlockRecord,
  type ConvBN,
  type FoldedConv,
  isArchitectureName,
  type KeyRole,
  type LayoutName,
  makeKernel,
  type NetworkRecord,
  type StateDictKeys,
  type StateTensor,
  stateDictKeys,
  toOIHW,
} from '@repnets/fuse';
import type * as tf from '@tensorflow/tfjs';
import { deployLayerNames } from '../deploy-layers.js';
import { BranchBlock, type TrainedBranches } from '../layers/branch-block.js';
import type { SEValues } from '../layers/se-weights.js';
import type { Form } from '../zoo/from-record.js';
import { recordOf } from '../zoo/record-of.js';
import { checkLayoutArgument, layoutFor, type StateDictLayout } from './torch-layout.js';

const OP = 'toStateDict';

export interface ToStateDictOptions {
  /** The key layout: 'timm', 'official', or a full name (`timm-mobileone`, ...). */
  readonly layout: StateDictLayout;
  /** 'train' (every branch and BN) or 'deploy' (each block one conv); default: the model's own form. */
  readonly form?: Form;
  /** BatchNorm `num_batches_tracked` values by key (as `importStateDict` returns them); 0 for any other. */
  readonly counters?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /**
   * The model's record, for a model not built in this process by
   * createModel / modelFromRecord / importStateDict (one loaded from disk): a
   * published name or `architecture(name, options)`. Default: the record it
   * was built from, else the published model of its name.
   */
  readonly model?: string | NetworkRecord;
}

/** What a block's layers hold, in fuse's terms (OIHW kernels). */
type BlockValues =
  | {
      readonly form: 'train';
      readonly layer: BranchBlock;
      readonly branches: TrainedBranches;
      readonly se?: SEValues;
    }
  | { readonly form: 'deploy'; readonly conv: FoldedConv<'HWIO'>; readonly se?: SEValues };

const f32 = (shape: readonly number[], data: Float32Array): StateTensor => ({
  shape: [...shape],
  data,
  dtype: 'F32',
});

function layerOf(model: tf.LayersModel, name: string): tf.layers.Layer | undefined {
  try {
    return model.getLayer(name);
  } catch {
    return undefined;
  }
}

/** A weighted layer's [kernel, bias] as float32 arrays, the kernel as HWIO [k, k, in/groups, out]. */
function convValues(
  model: tf.LayersModel,
  name: string,
  hwio: readonly number[],
): FoldedConv<'HWIO'> {
  const layer = layerOf(model, name);
  const [kernel, bias] = layer?.getWeights() ?? [];
  const size = hwio.reduce((p, d) => p * d, 1);
  if (kernel === undefined || bias === undefined || kernel.size !== size)
    throw new Error(
      `${OP}: the deploy layer '${name}' ${layer === undefined ? 'is missing' : `holds [${kernel?.shape.join(', ')}]`}, expected a kernel of [${hwio.join(', ')}] and a bias`,
    );
  return {
    kernel: makeKernel('HWIO', hwio, kernel.dataSync() as Float32Array),
    bias: bias.dataSync() as Float32Array,
  };
}

/** The model's form: train when its first block is a branch block. */
function formOf(model: tf.LayersModel, record: NetworkRecord): Form {
  const first = record.blocks[0];
  return first !== undefined && layerOf(model, first.name) instanceof BranchBlock
    ? 'train'
    : 'deploy';
}

function readBlock(model: tf.LayersModel, r: BlockRecord, form: Form): BlockValues {
  const layer = layerOf(model, r.name);
  if (form === 'train') {
    if (!(layer instanceof BranchBlock))
      throw new Error(
        `${OP}: block '${r.name}' is ${layer === undefined ? 'not in the model' : `a ${layer.getClassName()}`}, not a train-form branch block`,
      );
    const s = layer.spec;
    const want = [r.inChannels, r.outChannels, r.kernelSize, r.stride, r.groups];
    const got = [s.inChannels, s.outChannels, s.kernelSize, s.stride, s.groups];
    if (want.some((v, i) => v !== got[i]) || s.branches.kxk !== r.branches.kxk)
      throw new Error(
        `${OP}: layer '${r.name}' is ${got.join('/')} (in/out/kernel/stride/groups) with ${s.branches.kxk} kxk branches, but the record says ${want.join('/')} with ${r.branches.kxk}: pass the model's record as options.model`,
      );
    const se = layer.seValuesSync();
    return { form, layer, branches: layer.trainedBranchesSync(), ...(se ? { se } : {}) };
  }
  const names = deployLayerNames(r.name, r.se);
  const conv = convValues(model, names.conv, [
    r.kernelSize,
    r.kernelSize,
    r.inChannels / r.groups,
    r.outChannels,
  ]);
  if (names.seDown === undefined || names.seUp === undefined) return { form, conv };
  const down = layerOf(model, names.seDown)?.getWeights()[0];
  const hidden = down?.shape[3] ?? 0;
  const se = {
    down: convValues(model, names.seDown, [1, 1, r.outChannels, hidden]),
    up: convValues(model, names.seUp, [1, 1, hidden, r.outChannels]),
  };
  return { form, conv, se };
}

/** The value of one key from its block's values, by the role fuse's table gives it. */
function keyValue(
  role: KeyRole,
  v: BlockValues,
  key: string,
  counter: (key: string) => number,
): StateTensor {
  if (role.field === 'counter')
    return { shape: [], data: new Float64Array([counter(key)]), dtype: 'I64' };
  if (role.part === 'se-down' || role.part === 'se-up') {
    const c = role.part === 'se-down' ? v.se?.down : v.se?.up;
    if (c === undefined) throw new Error(`${OP}: '${key}' names an SE the model does not have`);
    return role.field === 'kernel'
      ? f32(toOIHW(c.kernel).shape, toOIHW(c.kernel).data)
      : f32([c.bias.length], c.bias);
  }
  if (role.part === 'deploy') {
    if (v.form !== 'deploy')
      throw new Error(`${OP}: '${key}' is a deploy key of a train-form block`);
    const k = toOIHW(v.conv.kernel);
    return role.field === 'kernel' ? f32(k.shape, k.data) : f32([v.conv.bias.length], v.conv.bias);
  }
  if (v.form !== 'train') throw new Error(`${OP}: '${key}' is a branch key of a deploy-form block`);
  const b = v.branches;
  let bn: BatchNorm | undefined;
  let conv: ConvBN<'HWIO'> | undefined;
  if (role.part === 'scale' && role.field === 'kernel' && b.bareScale !== undefined) {
    // QARepVGG's 1x1: a bare conv, no BN.
    const k = toOIHW(b.bareScale.kernel);
    return f32(k.shape, k.data);
  }
  if (role.part === 'identity') bn = b.identity;
  else if (role.part === 'post') bn = b.post;
  else {
    conv = role.part === 'kxk' ? b.kxk[role.index] : b.scale;
    bn = conv?.bn;
  }
  if (bn === undefined) throw new Error(`${OP}: '${key}' names a branch the model does not have`);
  if (role.field === 'kernel') {
    const k = toOIHW(conv!.kernel);
    return f32(k.shape, k.data);
  }
  const data =
    role.field === 'gamma'
      ? bn.gamma
      : role.field === 'beta'
        ? bn.beta
        : role.field === 'mean'
          ? bn.mean
          : role.field === 'variance'
            ? bn.variance
            : undefined;
  if (data === undefined) throw new Error(`${OP}: '${key}': the BN has no ${role.field}`);
  return f32([data.length], data);
}

/** The record of a model without one: its name's published record at the model's classes and input. */
function recordByName(model: tf.LayersModel): NetworkRecord {
  const name = model.name.replace(/_deploy$/, '');
  if (!isArchitectureName(name))
    throw new Error(
      `${OP}: model '${model.name}' was not built here by createModel, modelFromRecord or importStateDict, and its name is no architecture: pass its record as options.model (architecture(name, options))`,
    );
  return recordFor(model, name);
}

/** `name`'s published record at `model`'s classes, input size and stem stride. */
function recordFor(model: tf.LayersModel, name: string): NetworkRecord {
  if (!isArchitectureName(name))
    throw new Error(`${OP}: options.model '${name}' is no architecture name`);
  const [, height, width, channels] = model.inputs[0]?.shape ?? [];
  const classes = model.outputs[0]?.shape.at(-1);
  const options = {
    ...(typeof classes === 'number' ? { numClasses: classes } : {}),
    ...(typeof height === 'number' && typeof width === 'number'
      ? { inputSize: [height, width] as const }
      : {}),
    ...(typeof channels === 'number' ? { channels } : {}),
  };
  const record = architecture(name, options);
  const stem = record.blocks[0];
  const layer = stem !== undefined ? layerOf(model, stem.name) : undefined;
  const stride = layer instanceof BranchBlock ? layer.strides : undefined;
  return stride === 1 ? architecture(name, { ...options, stemStride: 1 }) : record;
}

/** The model's SE widths put into the record, for the key table's shapes. */
function withModelSE(record: NetworkRecord, values: readonly BlockValues[]): NetworkRecord {
  const blocks = record.blocks.map((b, i) => {
    const hidden = values[i]?.se?.down.kernel.shape[3];
    return hidden === undefined ? b : { ...b, seHidden: hidden };
  });
  return { ...record, blocks };
}

/** fuse's key table, its refusal (a network no layout holds) in this function's name. */
function keyTable(layout: LayoutName, record: NetworkRecord, form: Form): StateDictKeys {
  try {
    return stateDictKeys(layout, record, { form, withCounters: true });
  } catch (e) {
    throw new Error(`${OP}: ${(e as Error).message}`);
  }
}

function counterOf(counters: ToStateDictOptions['counters']): (key: string) => number {
  if (counters === undefined) return () => 0;
  if (counters instanceof Map) return (k) => counters.get(k) ?? 0;
  const o = counters as Readonly<Record<string, number>>;
  return (k) => (Object.hasOwn(o, k) ? (o[k] ?? 0) : 0);
}

/**
 * The state dict of a RepVGG, MobileOne or QARepVGG zoo model in timm's or
 * the authors' layout (QARepVGG: the authors' only, cxxgtxy/QARepVGG): every key in the order that layout's PyTorch module
 * registers it (so `load_state_dict(..., strict=True)` takes it), kernels
 * OIHW, BN counters as I64 (from `counters`, else 0), the classifier
 * (`head.fc.*` / `linear.*`) last. Train form writes every branch, deploy form
 * one conv per block (folded here from a train-form model). Write it with
 * `writeSafetensors`. Reads the weights synchronously (dataSync).
 */
export function toStateDict(
  model: tf.LayersModel,
  options: ToStateDictOptions,
): Map<string, StateTensor> {
  if (options === null || typeof options !== 'object')
    throw new Error(`${OP}: options { layout } are required ('timm' or 'official')`);
  const layoutArg = checkLayoutArgument(OP, options.layout);
  const given = options.model;
  const record =
    given === undefined
      ? (recordOf(model) ?? recordByName(model))
      : typeof given === 'string'
        ? recordFor(model, given)
        : given;
  const own = formOf(model, record);
  const form = options.form ?? own;
  if (form !== 'train' && form !== 'deploy')
    throw new Error(`${OP}: form must be 'train' or 'deploy', got '${String(form)}'`);
  if (form === 'train' && own === 'deploy')
    throw new Error(
      `${OP}: model '${model.name}' is in deploy form (each block one conv): it has no branches to write in train form; write form 'deploy'`,
    );
  const layout = layoutFor(OP, layoutArg, record);
  // The layout must hold the network before any weight is read.
  keyTable(layout, record, form);
  const read = record.blocks.map((r) => readBlock(model, r, own));
  const values: BlockValues[] =
    form === own
      ? read
      : read.map((v) => {
          if (v.form !== 'train') throw new Error(`${OP}: unreachable: a deploy block to unfold`);
          // The block's own fold, as reparameterize folds it.
          const conv = v.layer.foldTrained(v.branches);
          return { form: 'deploy', conv, ...(v.se ? { se: v.se } : {}) };
        });
  const table = keyTable(layout, withModelSE(record, values), form);
  const counter = counterOf(options.counters);
  const out = new Map<string, StateTensor>();
  table.blocks.forEach((b, i) => {
    for (const k of b.keys) out.set(k.key, keyValue(k.role, values[i]!, k.key, counter));
  });
  const head = layerOf(model, 'head_fc');
  const [kernel, bias] = head?.getWeights() ?? [];
  if (kernel === undefined || bias === undefined || kernel.shape.length !== 2)
    throw new Error(
      `${OP}: model '${model.name}' has no dense head 'head_fc' to write as the classifier`,
    );
  const [features = 0, classes = 0] = kernel.shape;
  const k = kernel.dataSync() as Float32Array;
  const weight = new Float32Array(classes * features);
  for (let c = 0; c < classes; c++)
    for (let f = 0; f < features; f++) weight[c * features + f] = k[f * classes + c]!;
  out.set(`${table.classifier}.weight`, f32([classes, features], weight));
  out.set(`${table.classifier}.bias`, f32([classes], Float32Array.from(bias.dataSync())));
  return out;
}
