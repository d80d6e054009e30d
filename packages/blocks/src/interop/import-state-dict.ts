/**
 * A PyTorch state dict (timm or official RepVGG / MobileOne, official
 * QARepVGG; train or deploy form) into the zoo model of its architecture, in either form: fuse parses
 * it against the architecture record, the record builds the model, and every
 * tensor goes into its layer by the record's block names.
 */
import {
  architecture,
  type BlockRecord,
  type ConvBN,
  detectLayout,
  type FoldedConv,
  foldReparamBlock,
  isArchitectureName,
  type LayoutName,
  type NetworkRecord,
  type ParsedStateDict,
  type ParseStateDictOptions,
  parseStateDict,
  type ReparamBlock,
  type SqueezeExcite,
  type StateDict,
  StateDictError,
  type StateTensor,
  toHWIO,
} from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { deployLayerNames } from '../deploy-layers.js';
import { BranchBlock } from '../layers/branch-block.js';
import { withZeroInit } from '../layers/init-seed.js';
import { DEFAULT_SE_RATIO, type SEValues, seHidden } from '../layers/se-weights.js';
import type { Form } from '../zoo/from-record.js';
import { modelFromRecord } from '../zoo/index.js';
import { rememberRecord } from '../zoo/record-of.js';
import { checkLayoutArgument, checkSourceHolds, type StateDictLayout } from './torch-layout.js';

const OP = 'importStateDict';

export interface ImportStateDictOptions {
  /** 'train' (default): every branch and BN, to fine-tune; 'deploy': each block folded into one conv. */
  readonly form?: Form;
  /** The key layout, or just its source ('timm', 'official'); detected from the keys when left out. */
  readonly layout?: StateDictLayout;
  /**
   * The architecture: a published name (`repvgg_a0`, `mobileone_s0`, ...) or a
   * record (`architecture(name, options)`). Without it, the published model
   * whose keys and shapes the checkpoint has is used; a checkpoint of another
   * width or depth needs its record here.
   */
  readonly model?: string | NetworkRecord;
  /** Classes the model must have (default: the checkpoint classifier's). */
  readonly numClasses?: number;
  /**
   * Ignore the checkpoint's classifier and start a freshly initialized head of
   * `numClasses` outputs (fine-tuning on other classes, as timm's
   * `num_classes=` does).
   */
  readonly newHead?: boolean;
  /** Input height and width (default: the record's, 224 for a published name). */
  readonly inputSize?: number | readonly [number, number];
  /** The stem's stride, 1 or 2 (no tensor holds it; default: the record's). */
  readonly stemStride?: 1 | 2;
  /** BatchNorm epsilon of the source, which state dicts do not store (default PyTorch's 1e-5). */
  readonly eps?: number;
  /** Model name (default: the record's; deploy form with `_deploy`). */
  readonly name?: string;
}

export interface ImportedStateDict {
  readonly model: tf.LayersModel;
  readonly layout: LayoutName;
  /** The record the model was built from (classes, input size, SE widths as the checkpoint has them). */
  readonly record: NetworkRecord;
  readonly form: Form;
  /** Each BatchNorm's `num_batches_tracked` as read, by key: pass to `toStateDict` to write them back. */
  readonly counters: ReadonlyMap<string, number>;
  /** The classifier's keys in the checkpoint (`head.fc.*` timm, `linear.*` official). */
  readonly headKeys: { readonly weight: string; readonly bias: string };
}

const CLASSIFIER: Readonly<Record<'timm' | 'official', string>> = {
  timm: 'head.fc',
  official: 'linear',
};

/**
 * The given short layout as a full one: detected, and refused when the keys
 * are another source's. With a model, fuse picks the layout of the keys for
 * it (a deploy-form QARepVGG has official RepVGG's keys).
 */
function fullLayout(
  sd: StateDict,
  layout: StateDictLayout | undefined,
  model: string | NetworkRecord | undefined,
): LayoutName | undefined {
  if (layout === undefined || (layout !== 'timm' && layout !== 'official')) return layout;
  const record =
    typeof model === 'string' && isArchitectureName(model) ? architecture(model) : model;
  if (record !== undefined && typeof record !== 'string') checkSourceHolds(OP, layout, record);
  const found = detectLayout(sd);
  if (found === null) return undefined; // parseStateDict says why
  if (!found.startsWith(`${layout}-`))
    throw new Error(`${OP}: layout is '${layout}', but the keys are in the ${found} layout`);
  return model !== undefined ? undefined : found;
}

/** The state dict as a Map, in its order. */
function asMap(input: StateDict | Readonly<Record<string, StateTensor>>): StateDict {
  if (input === null || typeof input !== 'object')
    throw new Error(`${OP}: stateDict must be a Map or an object of { shape, data } tensors`);
  return input instanceof Map ? input : new Map(Object.entries(input));
}

/** A key without DataParallel's `module.` prefix, as parseStateDict strips it. */
const bare = (key: string) => (key.startsWith('module.') ? key.slice('module.'.length) : key);

const modelName = (m: string | NetworkRecord) => (typeof m === 'string' ? m : m.name);

/**
 * Parses against options.model; when the checkpoint does not fit it but is a
 * published model, says which in one line.
 */
function parse(sd: StateDict, options: ParseStateDictOptions): ParsedStateDict {
  try {
    return parseStateDict(sd, options);
  } catch (e) {
    if (!(e instanceof StateDictError) || options.model === undefined) throw e;
    let found: string | undefined;
    try {
      found = parseStateDict(sd, { ...options, model: undefined }).model?.name;
    } catch {
      // Fits no published model either: the first error says what is wrong.
    }
    const asked = modelName(options.model);
    if (found !== undefined && found !== asked)
      throw new Error(
        `${OP}: this checkpoint is ${found}, not ${asked}: pass model '${found}' (or none, to detect it)`,
      );
    throw e;
  }
}

const sizeOf = (inputSize: number | readonly [number, number]) =>
  typeof inputSize === 'number' ? [inputSize, inputSize] : inputSize;

/** A conv+BN branch of fuse (OIHW) as the layer takes it (HWIO). */
const hwio = (b: ConvBN<'OIHW'>): ConvBN<'HWIO'> => ({ kernel: toHWIO(b.kernel), bn: b.bn });

function seHWIO(se: SqueezeExcite): SEValues {
  return {
    down: { kernel: toHWIO(se.down.kernel), bias: se.down.bias },
    up: { kernel: toHWIO(se.up.kernel), bias: se.up.bias },
  };
}

/** The record's blocks with each SE's width as the checkpoint has it, where the layers' default differs. */
function withCheckpointSE(blocks: readonly BlockRecord[], parsed: ParsedStateDict): BlockRecord[] {
  return blocks.map((b, i) => {
    const hidden = parsed.blocks[i]?.se?.down.kernel.shape[0];
    if (hidden === undefined || hidden === seHidden(b.outChannels, DEFAULT_SE_RATIO)) {
      const { seHidden: _, ...rest } = b;
      return rest;
    }
    return { ...b, seHidden: hidden };
  });
}

function branchBlock(model: tf.LayersModel, r: BlockRecord): BranchBlock {
  const layer = model.getLayer(r.name);
  if (!(layer instanceof BranchBlock))
    throw new Error(`${OP}: layer '${r.name}' is a ${layer.getClassName()}, not a branch block`);
  return layer;
}

function setTrainBlock(model: tf.LayersModel, r: BlockRecord, b: ReparamBlock): void {
  if (b.kind === 'deployed') throw new Error(`${OP}: block '${b.name}' is in deploy form`);
  const layer = branchBlock(model, r);
  if (b.kind === 'repvgg') {
    const { dense, conv1x1, identity } = b.params;
    layer.setTrainedBranches({
      kxk: [hwio(dense)],
      ...(conv1x1 !== undefined ? { scale: hwio(conv1x1) } : {}),
      ...(identity !== undefined ? { identity } : {}),
    });
  } else if (b.kind === 'qarepvgg') {
    const { dense, conv1x1, identity, bn } = b.params;
    if ((identity === true) !== layer.hasIdentity)
      throw new Error(
        `${OP}: block '${b.name}' ${identity ? 'has' : 'has no'} identity branch in the checkpoint's record, but layer '${r.name}' ${layer.hasIdentity ? 'has' : 'has none'}`,
      );
    layer.setTrainedBranches({
      kxk: [hwio(dense)],
      ...(conv1x1 !== undefined ? { bareScale: { kernel: toHWIO(conv1x1) } } : {}),
      post: bn,
    });
  } else {
    const { convs, scale, identity } = b.params;
    layer.setTrainedBranches({
      kxk: convs.map(hwio),
      ...(scale !== undefined ? { scale: hwio(scale) } : {}),
      ...(identity !== undefined ? { identity } : {}),
    });
  }
  if (b.se !== undefined) layer.setSEValues(seHWIO(b.se));
}

/** Sets `values` into a layer whose weights are [kernel, bias], the kernel reshaped to the layer's own layout. */
function setConv(layer: tf.layers.Layer, conv: FoldedConv<'HWIO'>): void {
  // The variables' shapes: getWeights() would hand out the variables' own tensors.
  const [kernel, bias] = layer.weights.map((w) => w.shape);
  if (
    kernel === undefined ||
    bias === undefined ||
    tf.util.sizeFromShape(kernel as number[]) !== conv.kernel.data.length
  )
    throw new Error(
      `${OP}: layer '${layer.name}' holds [${kernel?.join(', ')}], given a kernel [${conv.kernel.shape.join(', ')}]`,
    );
  const values = [tf.tensor(conv.kernel.data, kernel as number[]), tf.tensor1d(conv.bias)];
  layer.setWeights(values);
  tf.dispose(values);
}

function setDeployBlock(model: tf.LayersModel, r: BlockRecord, b: ReparamBlock): void {
  const names = deployLayerNames(r.name, r.se);
  const conv = foldReparamBlock(b);
  setConv(model.getLayer(names.conv), { kernel: toHWIO(conv.kernel), bias: conv.bias });
  if (b.se !== undefined && names.seDown !== undefined && names.seUp !== undefined) {
    const se = seHWIO(b.se);
    setConv(model.getLayer(names.seDown), se.down);
    setConv(model.getLayer(names.seUp), se.up);
  }
}

/** The classifier [classes, features] into head_fc ([features, classes]). */
function setHead(model: tf.LayersModel, weight: StateTensor, bias: StateTensor): void {
  const [classes = 0, features = 0] = weight.shape;
  const kernel = new Float32Array(classes * features);
  for (let c = 0; c < classes; c++)
    for (let f = 0; f < features; f++) kernel[f * classes + c] = weight.data[c * features + f]!;
  const values = [
    tf.tensor2d(kernel, [features, classes]),
    tf.tensor1d(Float32Array.from(bias.data)),
  ];
  model.getLayer('head_fc').setWeights(values);
  tf.dispose(values);
}

function checkClasses(options: ImportStateDictOptions): void {
  const n = options.numClasses;
  if (n !== undefined && !(Number.isInteger(n) && n > 0))
    throw new Error(`${OP}: numClasses must be a positive integer, got ${String(n)}`);
  if (options.newHead === true && n === undefined)
    throw new Error(`${OP}: newHead needs numClasses, the size of the new head`);
}

/**
 * Loads a PyTorch state dict of a published RepVGG or MobileOne (timm or the
 * authors' layout) or of a QARepVGG (cxxgtxy/QARepVGG's layout), as
 * `readSafetensors` or `readTorchCheckpoint` return it, into the RepNets
 * model of its architecture: in train form every branch
 * conv (OIHW -> HWIO), its BN's gamma, beta and running statistics, the
 * identity BN and the squeeze-excite; in deploy form each block folded into
 * one conv (a deploy-form checkpoint's convs as they are). The classifier
 * (`head.fc` / `linear`) becomes `head_fc`. The BN layers get the source's
 * epsilon, so the logits are PyTorch's.
 */
export function importStateDict(
  stateDict: StateDict | Readonly<Record<string, StateTensor>>,
  options: ImportStateDictOptions = {},
): ImportedStateDict {
  const form = options.form ?? 'train';
  if (form !== 'train' && form !== 'deploy')
    throw new Error(`${OP}: form must be 'train' or 'deploy', got '${String(form)}'`);
  checkClasses(options);
  const sd = asMap(stateDict);
  const given = options.layout === undefined ? undefined : checkLayoutArgument(OP, options.layout);
  const layout = fullLayout(sd, given, options.model);
  const eps = options.eps ?? 1e-5;
  const parsed = parse(sd, {
    ...(layout !== undefined ? { layout } : {}),
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.stemStride !== undefined ? { stemStride: options.stemStride } : {}),
    eps,
  });
  const base = parsed.model;
  if (base === undefined)
    throw new Error(
      `${OP}: the checkpoint matches no published ${parsed.family} model (another width or depth): pass its record as options.model (architecture(name, options))`,
    );
  if (form === 'train') {
    const deployed = parsed.blocks.find((b) => b.kind === 'deployed');
    if (deployed !== undefined)
      throw new Error(
        `${OP}: this checkpoint is in deploy form (${deployed.deployKeys.weight}: each block already one conv), so it has no branches for the train form; import it with form: 'deploy'`,
      );
  }

  const source = parsed.layout.startsWith('timm-') ? 'timm' : 'official';
  const prefix = CLASSIFIER[source];
  const headKeys = { weight: `${prefix}.weight`, bias: `${prefix}.bias` };
  const features = base.blocks.at(-1)?.outChannels ?? 0;
  const weight = parsed.passThrough.get(headKeys.weight);
  const bias = parsed.passThrough.get(headKeys.bias);
  const other = [...parsed.passThrough.keys()].filter(
    (k) => k !== headKeys.weight && k !== headKeys.bias,
  );
  if (other.length > 0)
    throw new Error(`${OP}: tensors outside the blocks that no layer holds: ${other.join(', ')}`);
  let numClasses: number;
  if (options.newHead === true) {
    numClasses = options.numClasses!;
  } else {
    if (weight === undefined || bias === undefined)
      throw new Error(
        `${OP}: the checkpoint has no classifier ('${headKeys.weight}' and '${headKeys.bias}'): pass newHead: true and numClasses to start a new one`,
      );
    const [classes = 0, inFeatures] = weight.shape;
    if (weight.shape.length !== 2 || inFeatures !== features || bias.shape[0] !== classes)
      throw new Error(
        `${OP}: the classifier is [${weight.shape.join(', ')}] with bias [${bias.shape.join(', ')}], expected [classes, ${features}] and [classes]`,
      );
    if (options.numClasses !== undefined && options.numClasses !== classes)
      throw new Error(
        `${OP}: the checkpoint's classifier has ${classes} classes, but numClasses is ${options.numClasses}: pass newHead: true to start a new ${options.numClasses}-class head`,
      );
    numClasses = classes;
  }

  const [height, width] = sizeOf(options.inputSize ?? [base.input.height, base.input.width]);
  const record: NetworkRecord = {
    ...base,
    numClasses,
    input: { ...base.input, height: height!, width: width! },
    blocks: withCheckpointSE(base.blocks, parsed),
  };
  const build = () =>
    modelFromRecord(record, {
      form,
      bn: { epsilon: eps },
      ...(options.name !== undefined ? { name: options.name } : {}),
    });
  // Every weight is set below (all but a new head's): no random numbers to draw first.
  const model = options.newHead === true ? build() : withZeroInit(build);
  try {
    record.blocks.forEach((r, i) => {
      const b = parsed.blocks[i]!;
      if (form === 'train') setTrainBlock(model, r, b);
      else setDeployBlock(model, r, b);
    });
    if (options.newHead !== true) setHead(model, weight!, bias!);
  } catch (e) {
    model.dispose();
    throw e;
  }

  const counters = new Map<string, number>();
  for (const [key, t] of sd) {
    if (key.endsWith('.num_batches_tracked') && t.data.length === 1)
      counters.set(bare(key), t.data[0]!);
  }
  return {
    model: rememberRecord(model, record),
    layout: parsed.layout,
    record,
    form,
    counters,
    headKeys,
  };
}
