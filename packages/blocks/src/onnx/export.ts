import type * as tf from '@tensorflow/tfjs';
import { assertFiniteWeights } from '../finite-weights.js';
import { BLOCK_CONVERTERS } from './blocks.js';
import { type Converter, readWeights, type WeightData } from './context.js';
import { GraphBuilder, type Value } from './graph.js';
import { STOCK_CONVERTERS } from './layers.js';
import {
  DataType,
  type Dimension,
  encodeModel,
  type ModelProto,
  type ValueInfoProto,
} from './proto.js';

export type OnnxOpset = 13 | 14 | 15 | 16 | 17;

export interface OnnxExportOptions {
  /**
   * ONNX opset, 13 to 17 (default 13: every op used here has had its current
   * form since 13, and older runtimes load it).
   */
  readonly opset?: OnnxOpset;
  /** Graph input name (default 'input'; with several inputs, their layer names). */
  readonly inputName?: string;
  /** Graph output name (default 'output'; with several outputs, suffixed _0, _1, ...). */
  readonly outputName?: string;
  /**
   * A symbolic batch dimension 'batch' (default true). False fixes it to the
   * model's batch size, or 1 where the model leaves it open.
   */
  readonly dynamicBatch?: boolean;
  /** ModelProto.producer_name (default '@repnets/blocks'). */
  readonly producer?: string;
  /**
   * Element order of rank-4 graph inputs (and outputs): 'NHWC' as TF.js has
   * it (default), or 'NCHW', PyTorch's, so a PyTorch user's preprocessing
   * feeds the model as it is. With 'NCHW' the input goes straight into the
   * first Conv (the graph is NCHW inside), so the export has one Transpose less.
   */
  readonly inputLayout?: OnnxInputLayout;
}

/** The element order of an exported model's rank-4 input. */
export type OnnxInputLayout = 'NHWC' | 'NCHW';

/** IR version each opset came with (ONNX's versioning table). */
const IR_VERSION: Record<OnnxOpset, number> = { 13: 7, 14: 7, 15: 8, 16: 8, 17: 8 };

const CONVERTERS: Record<string, Converter> = { ...STOCK_CONVERTERS, ...BLOCK_CONVERTERS };

/** Layer class names exportOnnx converts. */
export function onnxSupportedLayers(): string[] {
  return Object.keys(CONVERTERS).sort();
}

type Node = tf.layers.Layer['inboundNodes'][number];

/** [N, H, W, C] -> [N, C, H, W]. */
const toNCHW = <T>(shape: readonly T[]): T[] =>
  shape.length === 4 ? [shape[0]!, shape[3]!, shape[1]!, shape[2]!] : [...shape];

function valueInfo(
  name: string,
  shape: readonly (number | null)[],
  batch: Dimension,
): ValueInfoProto {
  const dim = shape.map(
    (d, k): Dimension => (k === 0 ? batch : d === null ? {} : { dim_value: d }),
  );
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim } } } };
}

/**
 * Exports a functional (or Sequential) tf.LayersModel, deploy form or train
 * form, to the bytes of an ONNX model.
 *
 * The graph input stays NHWC float32 as in TF.js, followed by one Transpose to
 * NCHW (or is NCHW itself with `inputLayout: 'NCHW'`), so every convolution is a native ONNX Conv (kernels HWIO -> OIHW,
 * depthwise HWIM -> [C*M, 1, kh, kw] with group C, GroupConv2D with its
 * `group`); ZeroPadding2D folds into the next Conv's `pads`. Train-form blocks
 * become their branches (Conv + BatchNormalization, identity BN, Add/Sum, SE,
 * activation) with the running statistics. Rank-4 outputs are transposed back
 * to NHWC (kept NCHW with `inputLayout: 'NCHW'`). Weights are float32 initializers (raw little-endian data).
 *
 * A layer class without a converter fails naming the layer and its class; see
 * {@link onnxSupportedLayers}.
 */
export async function exportOnnx(
  model: tf.LayersModel,
  options: OnnxExportOptions = {},
): Promise<Uint8Array> {
  return encodeModel((await buildOnnx(model, options)).proto);
}

/** An exported graph before encoding, and the TF.js tensor each ONNX value name stands for. */
export interface BuiltOnnx {
  readonly proto: ModelProto;
  /** ONNX value name -> the TF.js tensor it holds (in its ONNX layout, before pending padding). */
  readonly tensors: ReadonlyMap<string, tf.SymbolicTensor>;
}

/** What {@link exportOnnx} writes, as a ModelProto, for transforms (int8) that rewrite it. */
export async function buildOnnx(
  model: tf.LayersModel,
  options: OnnxExportOptions = {},
): Promise<BuiltOnnx> {
  const opset = options.opset ?? 13;
  if (!Object.hasOwn(IR_VERSION, opset)) {
    throw new Error(`exportOnnx: opset must be an integer from 13 to 17, got ${String(opset)}`);
  }
  if (!model.inputs?.length || !model.outputs?.length) {
    throw new Error(`exportOnnx: model '${model.name}' has no inputs or outputs; build it first`);
  }
  const layout = options.inputLayout ?? 'NHWC';
  if (layout !== 'NHWC' && layout !== 'NCHW') {
    throw new Error(`exportOnnx: inputLayout must be 'NHWC' or 'NCHW', got ${String(layout)}`);
  }
  const nchw = layout === 'NCHW';
  // An ONNX file of NaN weights loads and runs everywhere, answering NaN: refuse it here.
  await assertFiniteWeights(model, 'exportOnnx');
  const g = new GraphBuilder();
  const dynamic = options.dynamicBatch ?? true;
  const batchOf = (t: tf.SymbolicTensor): Dimension =>
    dynamic ? { dim_param: 'batch' } : { dim_value: t.shape[0] ?? 1 };

  const inputs: ValueInfoProto[] = [];
  const values = new Map<number, Value>();
  model.inputs.forEach((t) => {
    const name = model.inputs.length === 1 ? (options.inputName ?? 'input') : t.sourceLayer.name;
    g.reserve(name);
    inputs.push(valueInfo(name, nchw ? toNCHW(t.shape) : t.shape, batchOf(t)));
    const rank4 = t.shape.length === 4 ? layout : 'plain';
    values.set(t.id, { name, shape: t.shape, layout: rank4 });
  });
  const outputNames = model.outputs.map((_, k) => {
    const base = options.outputName ?? 'output';
    const name = model.outputs.length === 1 ? base : `${base}_${k}`;
    g.reserve(name);
    return name;
  });

  const weightCache = new Map<tf.layers.Layer, Promise<Map<string, WeightData>>>();
  const convertNode = async (layer: tf.layers.Layer, nodeIndex: number, node: Node) => {
    const className = layer.getClassName();
    const where = { layer: layer.name, className };
    if (className === 'InputLayer') {
      throw new Error(
        `exportOnnx: input layer '${layer.name}' feeds the outputs but is not an input of model '${model.name}'`,
      );
    }
    const convert = CONVERTERS[className];
    if (!convert) {
      throw new Error(
        `exportOnnx: layer '${layer.name}' has class ${className}, which has no ONNX converter (supported: ${onnxSupportedLayers().join(', ')})`,
      );
    }
    const ins = node.inputTensors.map((t) => values.get(t.id)!);
    const outs = await convert({
      g,
      where,
      layer,
      config: layer.getConfig() as Record<string, unknown>,
      inputs: ins,
      outputShapes: node.outputTensors.map((t) => t.shape),
      scope: nodeIndex === 0 ? layer.name : `${layer.name}_call${nodeIndex}`,
      weights: () => {
        let w = weightCache.get(layer);
        if (!w) {
          w = readWeights(layer);
          weightCache.set(layer, w);
        }
        return w;
      },
    });
    if (outs.length !== node.outputTensors.length) {
      throw new Error(
        `exportOnnx: layer '${layer.name}' (${className}): converter made ${outs.length} outputs, the layer has ${node.outputTensors.length}`,
      );
    }
    for (const [k, t] of node.outputTensors.entries()) {
      values.set(t.id, { ...outs[k]!, shape: t.shape });
    }
  };

  // Depth-first from the outputs, so only what the outputs need is exported, in topological order.
  const visiting = new Set<Node>();
  const visit = async (t: tf.SymbolicTensor): Promise<Value> => {
    const known = values.get(t.id);
    if (known) return known;
    const layer = t.sourceLayer as tf.layers.Layer;
    const node = layer.inboundNodes[t.nodeIndex];
    if (!node) {
      throw new Error(
        `exportOnnx: tensor '${t.name}' of layer '${layer.name}' has no inbound node`,
      );
    }
    if (visiting.has(node)) throw new Error(`exportOnnx: layer '${layer.name}' is part of a cycle`);
    visiting.add(node);
    for (const i of node.inputTensors) await visit(i);
    await convertNode(layer, t.nodeIndex, node);
    visiting.delete(node);
    return values.get(t.id)!;
  };

  const finals: string[] = [];
  for (const t of model.outputs) {
    const v = await visit(t);
    finals.push(t.shape.length === 4 ? (nchw ? g.nchw(v) : g.nhwc(v)) : g.padded(v));
  }
  const renamed = new Map<string, string>();
  finals.forEach((from, k) => {
    const to = outputNames[k]!;
    const done = renamed.get(from);
    if (done !== undefined || !g.rename(from, to)) g.node('Identity', [done ?? from], {}, to, [to]);
    else renamed.set(from, to);
  });

  const tensors = new Map<string, tf.SymbolicTensor>();
  const byId = new Map<number, tf.SymbolicTensor>();
  for (const t of [
    ...model.inputs,
    ...model.layers.flatMap((l) => l.inboundNodes.flatMap((n) => n.outputTensors)),
  ]) {
    byId.set(t.id, t);
  }
  for (const [id, v] of values) {
    const t = byId.get(id);
    if (t && !tensors.has(v.name)) tensors.set(v.name, t);
  }
  const proto: ModelProto = {
    ir_version: IR_VERSION[opset],
    opset_import: [{ domain: '', version: opset }],
    producer_name: options.producer ?? '@repnets/blocks',
    doc_string: `TF.js model '${model.name}', ${layout} float32 input`,
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: inputs,
      output: model.outputs.map((t, k) =>
        valueInfo(outputNames[k]!, nchw ? toNCHW(t.shape) : t.shape, batchOf(t)),
      ),
    },
  };
  return { proto, tensors };
}
