/**
 * A RepNets deploy model (TF.js, stock layers) from a PyTorch checkpoint that
 * @repnets/fuse has folded: timm or official RepVGG / MobileOne, train or deploy
 * form. Every block becomes the same deploy conv `reparameterize` emits; the
 * classifier (`linear` or `head.fc`) becomes global pooling and a Dense layer.
 */
import {
  type FusedBlock,
  type FuseStateDictResult,
  fuseStateDict,
  type ParseStateDictOptions,
  type StateDict,
  type StateTensor,
  toHWIO,
} from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { applyDeployConv, type PendingWeights } from '../deploy-layers.js';
import type { SEValues } from '../layers/se-weights.js';

export interface CheckpointModelOptions {
  /** Input height and width (default 224). */
  readonly inputSize?: number | readonly [number, number];
  /** Model name (default: the architecture's, else 'checkpoint'). */
  readonly name?: string;
}

/** The classifier: `linear.*` (official) or `head.fc.*` (timm), weight [classes, features]. */
function classifier(passThrough: ReadonlyMap<string, StateTensor>): {
  weight: StateTensor;
  bias?: StateTensor;
} {
  for (const prefix of ['linear', 'head.fc', 'fc']) {
    const weight = passThrough.get(`${prefix}.weight`);
    if (weight) return { weight, bias: passThrough.get(`${prefix}.bias`) };
  }
  const keys = [...passThrough.keys()].join(', ') || 'none';
  throw new Error(
    `checkpoint model: no classifier weight ('linear.weight' or 'head.fc.weight'); tensors outside blocks: ${keys}`,
  );
}

/**
 * Builds the deploy-form TF.js model of an already fused checkpoint. Tensors
 * outside the blocks other than the classifier (a timm `final_conv` with
 * weights, say) are refused by name rather than silently dropped.
 */
export function modelFromFused(
  fused: FuseStateDictResult,
  options: CheckpointModelOptions = {},
): tf.LayersModel {
  // Everything in the fused dict but the blocks' own convs: SE, classifier, anything else.
  const deployKeys = new Set(fused.folded.flatMap((b) => [b.deployKeys.weight, b.deployKeys.bias]));
  const passThrough = new Map([...fused.stateDict].filter(([k]) => !deployKeys.has(k)));
  const blocks = fused.folded;
  const [first] = blocks;
  if (!first) throw new Error('checkpoint model: the checkpoint has no blocks');
  const head = classifier(passThrough);
  const used = new Set([...passThrough.keys()].filter((k) => /^(linear|head\.fc|fc)\./.test(k)));
  const seKeys = new Set(blocks.flatMap((b) => b.se?.keys ?? []));
  const leftover = [...passThrough.keys()].filter(
    (k) => !used.has(k) && !seKeys.has(k) && !/num_batches_tracked$/.test(k),
  );
  if (leftover.length) {
    throw new Error(
      `checkpoint model: tensors this builder does not know how to place: ${leftover.join(', ')}`,
    );
  }
  const size = options.inputSize ?? 224;
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  const input = tf.input({ shape: [h, w, first.inChannels], name: 'input' });
  const pending: PendingWeights[] = [];
  let x = input as tf.SymbolicTensor;
  for (const b of blocks) x = applyBlock(x, b, pending);
  const features = blocks.at(-1)!.outChannels;
  const [classes, inFeatures] = head.weight.shape as [number, number];
  if (inFeatures !== features) {
    throw new Error(
      `checkpoint model: classifier weight is [${head.weight.shape}], but the last block has ${features} channels`,
    );
  }
  x = tf.layers.globalAveragePooling2d({ name: 'head_pool' }).apply(x) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: classes, name: 'head_fc', kernelInitializer: 'zeros' });
  x = dense.apply(x) as tf.SymbolicTensor;
  const kernel = new Float32Array(classes * features);
  for (let c = 0; c < classes; c++)
    for (let f = 0; f < features; f++)
      kernel[f * classes + c] = head.weight.data[c * features + f]!;
  pending.push({
    layer: dense,
    weights: [
      tf.tensor2d(kernel, [features, classes]),
      tf.tensor1d(head.bias ? Float32Array.from(head.bias.data) : new Float32Array(classes)),
    ],
  });
  const model = tf.model({
    inputs: input,
    outputs: x,
    name: options.name ?? fused.model?.name ?? 'checkpoint',
  });
  for (const p of pending) {
    p.layer.setWeights(p.weights);
    tf.dispose(p.weights);
  }
  return model;
}

function applyBlock(
  x: tf.SymbolicTensor,
  b: FusedBlock,
  pending: PendingWeights[],
): tf.SymbolicTensor {
  const name = b.name.replace(/[^\w]/g, '_');
  const conv = {
    filters: b.outChannels,
    kernelSize: b.kernelSize,
    strides: b.stride,
    pad: b.padding,
    groups: b.groups,
    inChannels: b.inChannels,
    folded: { kernel: toHWIO(b.conv.kernel), bias: b.conv.bias },
    activation: 'relu',
  } as const;
  if (b.se === undefined) return applyDeployConv(x, name, { ...conv, se: 'none' }, pending);
  // PyTorch's 1x1 convs are OIHW; the deploy layers take HWIO, as the zoo's SE does.
  const seValues: SEValues = {
    down: { kernel: toHWIO(b.se.down.kernel), bias: b.se.down.bias },
    up: { kernel: toHWIO(b.se.up.kernel), bias: b.se.up.bias },
  };
  // Every source applies SE to the branch sum, before the activation.
  return applyDeployConv(x, name, { ...conv, se: 'pre', seValues }, pending);
}

/**
 * Folds a PyTorch state dict (timm or official RepVGG / MobileOne, detected
 * from its keys unless `layout` is given) and builds its deploy model.
 */
export function modelFromStateDict(
  stateDict: StateDict | Readonly<Record<string, StateTensor>>,
  options: CheckpointModelOptions & ParseStateDictOptions = {},
): { model: tf.LayersModel; fused: FuseStateDictResult } {
  const fused = fuseStateDict(stateDict, options);
  return { model: modelFromFused(fused, options), fused };
}
