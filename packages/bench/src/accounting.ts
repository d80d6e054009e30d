import type * as tf from '@tensorflow/tfjs';
import { type LayerCostContext, ruleFor } from './layer-costs.js';
import { memoryAccess, type OpCost } from './op-cost.js';
import { type ConcreteShape, elements, layerCalls } from './shapes.js';

export interface ParamCount {
  readonly trainable: number;
  /** BatchNorm running statistics and other frozen weights. */
  readonly nonTrainable: number;
  readonly total: number;
}

/** Bytes an inference moves, split by what is moved (see {@link ModelAccount.memoryAccessBytes}). */
export interface MemoryTraffic {
  readonly weightBytes: number;
  readonly readBytes: number;
  readonly writeBytes: number;
}

/** The cost of one layer call, per image. */
export interface LayerAccount extends MemoryTraffic {
  readonly name: string;
  readonly className: string;
  readonly inputShapes: ConcreteShape[];
  readonly outputShape: ConcreteShape;
  readonly params: ParamCount;
  readonly macs: number;
  readonly flops: number;
  readonly memoryAccessBytes: number;
  /** Conv, dense and BatchNorm ops this call executes (a RepVGG block in train form: 2 convs + 3 BNs). */
  readonly layers: number;
  /** Every op it executes, in order. */
  readonly ops: OpCost[];
}

/**
 * The static cost of one inference of one image (batch 1), from the layer
 * graph alone: the model never runs.
 */
export interface ModelAccount extends MemoryTraffic {
  readonly name: string;
  /** Per image, no batch axis, e.g. [28, 28, 1]. */
  readonly inputShape: number[];
  readonly params: ParamCount;
  /** Multiply-accumulates of conv and dense ops only (the papers' "FLOPs"); BN, adds, activations and pooling count 0. */
  readonly macs: number;
  /** 2 x macs. */
  readonly flops: number;
  /**
   * Memory access cost in the ShuffleNetV2 sense, bytes (float32): for every
   * op TF.js executes, weights read + input activations read + output written.
   * Multi-branch blocks pay for every branch's intermediate tensors.
   */
  readonly memoryAccessBytes: number;
  /** Conv, dense and BatchNorm ops executed; a block counts each branch's conv and BN. */
  readonly layers: number;
  readonly perLayer: LayerAccount[];
}

export interface AccountOptions {
  /** Per image, no batch axis; needed only where the model input leaves dimensions unknown. */
  readonly inputShape?: readonly number[];
}

const sizeOf = (ws: readonly tf.LayerVariable[]) =>
  ws.reduce((n, w) => n + elements(w.shape as number[]), 0);

function paramsOf(trainable: readonly tf.LayerVariable[], frozen: readonly tf.LayerVariable[]) {
  const t = sizeOf(trainable);
  const f = sizeOf(frozen);
  return { trainable: t, nonTrainable: f, total: t + f };
}

function sum<K extends string>(items: readonly Record<K, number>[], key: K): number {
  return items.reduce((n, i) => n + i[key], 0);
}

function contextFor(
  layer: tf.layers.Layer,
  inputs: ConcreteShape[],
  outputs: ConcreteShape[],
): LayerCostContext {
  const className = layer.getClassName();
  const byName = new Map(
    layer.weights.map((w) => [
      w.originalName.slice(w.originalName.lastIndexOf('/') + 1),
      w.shape as number[],
    ]),
  );
  const weight = (suffix: string) => byName.get(suffix);
  return {
    layer,
    className,
    inputs,
    outputs,
    config: layer.getConfig() as Record<string, unknown>,
    weight,
    requireWeight(suffix) {
      const w = weight(suffix);
      if (!w) {
        throw new Error(
          `accountModel: layer '${layer.name}' (${className}) has no weight '${suffix}' (has: ${[...byName.keys()].join(', ') || 'none'})`,
        );
      }
      return w;
    },
  };
}

/**
 * Parameters, MACs, FLOPs, memory access cost and compute-layer count of a
 * tf.LayersModel, per layer and in total, for one image. Works on both forms
 * of a RepNets model: the training form (RepVGGBlock, MobileOneBlock, ConvBN,
 * ...) costs every branch, the deploy form its stock layers. Throws naming the
 * layer on a layer class it has no rule for (see registerLayerCost).
 */
export function accountModel(model: tf.LayersModel, options: AccountOptions = {}): ModelAccount {
  const { inputs: modelInputs, calls } = layerCalls(model, options.inputShape);
  const perLayer = calls.map(({ layer, inputs, outputs }): LayerAccount => {
    const [outputShape] = outputs;
    if (outputShape === undefined) {
      throw new Error(`accountModel: layer '${layer.name}' has no output shape`);
    }
    const ops = ruleFor(layer)(contextFor(layer, inputs, outputs));
    const macs = sum(ops, 'macs');
    return {
      name: layer.name,
      className: layer.getClassName(),
      inputShapes: inputs,
      outputShape,
      params: paramsOf(layer.trainableWeights, layer.nonTrainableWeights),
      macs,
      flops: 2 * macs,
      weightBytes: sum(ops, 'weightBytes'),
      readBytes: sum(ops, 'readBytes'),
      writeBytes: sum(ops, 'writeBytes'),
      memoryAccessBytes: ops.reduce((n, o) => n + memoryAccess(o), 0),
      layers: ops.filter((o) => o.layer).length,
      ops,
    };
  });
  const [input] = modelInputs;
  if (input === undefined) throw new Error(`accountModel: model '${model.name}' has no input`);
  const macs = sum(perLayer, 'macs');
  return {
    name: model.name,
    inputShape: input.slice(1),
    // The model's own lists hold each variable once, even for shared layers.
    params: paramsOf(model.trainableWeights, model.nonTrainableWeights),
    macs,
    flops: 2 * macs,
    weightBytes: sum(perLayer, 'weightBytes'),
    readBytes: sum(perLayer, 'readBytes'),
    writeBytes: sum(perLayer, 'writeBytes'),
    memoryAccessBytes: sum(perLayer, 'memoryAccessBytes'),
    layers: sum(perLayer, 'layers'),
    perLayer,
  };
}
