import * as tf from '@tensorflow/tfjs';
import { applyDeployConv, applySE, type PendingWeights } from './deploy-layers.js';
import { assertFiniteWeights } from './finite-weights.js';
import { isReparameterizable } from './layers/reparameterizable.js';
import { SEBlock } from './layers/se-block.js';
import { recordOfModel, rememberRecord } from './zoo/stages.js';

/** One folded layer of a {@link ReparameterizeResult}. */
export interface FoldedLayer {
  readonly name: string;
  readonly className: string;
  /** Parallel branches before the fold (conv branches + identity); 1 conv after. */
  readonly branches: number;
}

export interface ReparameterizeResult {
  /** The deploy-form model: a new model; the training model is left untouched. */
  readonly model: tf.LayersModel;
  /** Every layer that was folded, in graph order (empty for a model with nothing to fold). */
  readonly folded: FoldedLayer[];
}

type InboundNode = [string, number, number, Record<string, unknown>];
interface LayerJson {
  readonly name: string;
  readonly class_name: string;
  readonly inbound_nodes: InboundNode[][];
}
interface ModelJson {
  readonly config: {
    readonly name: string;
    readonly layers: LayerJson[];
    readonly input_layers: [string, number, number][];
    readonly output_layers: [string, number, number][];
  };
}

function cloneLayer(layer: tf.layers.Layer): tf.layers.Layer {
  const className = layer.getClassName();
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry)
    throw new Error(`reparameterize: layer '${layer.name}' has unregistered class ${className}`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, layer.getConfig()) as unknown as tf.layers.Layer;
}

/** What a value is, in words, for the error that refuses it. */
function whatItIs(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string '${v.slice(0, 80)}'`;
  if (typeof v !== 'object') return `the ${typeof v} ${String(v).slice(0, 80)}`;
  const ctor = (v as object).constructor?.name;
  return ctor === undefined || ctor === 'Object' ? 'a plain object' : `a ${ctor}`;
}

/**
 * Refuses anything but a built LayersModel in one line: a graph model (no
 * layers to fold), a plain object, a Sequential whose input shape is unknown.
 * Duck-typed past `instanceof`, so a model from another copy of TF.js passes.
 */
function checkIsBuiltLayersModel(model: unknown): asserts model is tf.LayersModel {
  const m = model as Partial<tf.LayersModel> | null | undefined;
  const isGraph =
    model instanceof tf.GraphModel ||
    (typeof m === 'object' && m?.constructor?.name === 'GraphModel');
  if (isGraph) {
    throw new Error(
      'reparameterize: expected a tf.LayersModel, got a tf.GraphModel, which has no layers to fold: load the layers model (tf.loadLayersModel of a model.json saved with model.save)',
    );
  }
  const layersLike =
    typeof m === 'object' &&
    m !== null &&
    Array.isArray(m.layers) &&
    typeof m.toJSON === 'function' &&
    typeof m.getLayer === 'function';
  if (!layersLike) {
    throw new Error(`reparameterize: expected a tf.LayersModel, got ${whatItIs(model)}`);
  }
  if (!m.inputs?.length || !m.outputs?.length) {
    throw new Error(
      `reparameterize: model '${m.name}' is not built yet (its input shape is unknown): give its first layer an inputShape, or call model.build(shape) first`,
    );
  }
}

/**
 * Folds every re-parameterizable block (RepVGGBlock, MobileOneBlock, ConvBN)
 * of a functional model into one conv with bias (+ its SE and activation), using
 * the blocks' running BN statistics, and returns a new model of stock layers
 * (GroupConv2D only for 1 < groups < channels). SEBlock layers become stock
 * layers too. Every other layer is cloned with its weights.
 *
 * Async because weights are read with `data()`, which works on every backend
 * (webgpu cannot read synchronously in Node).
 */
export async function reparameterize(model: tf.LayersModel): Promise<ReparameterizeResult> {
  checkIsBuiltLayersModel(model);
  // A diverged model folds into a deploy model that answers NaN: refuse it by name.
  await assertFiniteWeights(model, 'reparameterize');
  const json = model.toJSON(undefined, false) as unknown as ModelJson;
  if (!json?.config?.layers) {
    throw new Error(
      'reparameterize: expected a functional tf.LayersModel (built with tf.model or a RepNets builder)',
    );
  }
  const outputs = new Map<string, tf.SymbolicTensor[]>();
  const inputs: tf.SymbolicTensor[] = [];
  const pending: PendingWeights[] = [];
  const folded: FoldedLayer[] = [];
  for (const lj of json.config.layers) {
    const layer = model.getLayer(lj.name);
    if (lj.class_name === 'InputLayer') {
      const shape = (layer.batchInputShape ?? []) as (number | null)[];
      const t = tf.input({ batchShape: shape, name: lj.name, dtype: layer.dtype as tf.DataType });
      inputs.push(t);
      outputs.set(lj.name, [t]);
      continue;
    }
    if (lj.inbound_nodes.length !== 1) {
      throw new Error(
        `reparameterize: layer '${lj.name}' is shared (${lj.inbound_nodes.length} calls); unshare it first`,
      );
    }
    const args = lj.inbound_nodes[0]!.map(([from, , index]) => {
      const t = outputs.get(from)?.[index];
      if (!t)
        throw new Error(
          `reparameterize: layer '${lj.name}' reads '${from}', which is not in the graph`,
        );
      return t;
    });
    const [first] = args;
    if (!first) throw new Error(`reparameterize: layer '${lj.name}' has no input`);
    let out: tf.SymbolicTensor | tf.SymbolicTensor[];
    if (isReparameterizable(layer)) {
      let deploy: Awaited<ReturnType<typeof layer.toDeploy>>;
      try {
        deploy = await layer.toDeploy();
      } catch (e) {
        throw new Error(
          `reparameterize: layer '${lj.name}' (${lj.class_name}) cannot be folded: ${(e as Error).message}`,
        );
      }
      out = applyDeployConv(first, lj.name, deploy, pending);
      folded.push({ name: lj.name, className: lj.class_name, branches: layer.branchCount });
    } else if (layer instanceof SEBlock) {
      out = applySE(first, `${lj.name}_se`, await layer.seValues(), pending, lj.name);
    } else {
      const clone = cloneLayer(layer);
      out = clone.apply(args.length === 1 ? first : args) as
        | tf.SymbolicTensor
        | tf.SymbolicTensor[];
      const weights = layer.getWeights();
      if (weights.length > 0)
        pending.push({ layer: clone, weights: weights.map((w) => w.clone()) });
    }
    outputs.set(lj.name, Array.isArray(out) ? out : [out]);
  }
  const outs = json.config.output_layers.map(([name, , index]) => {
    const t = outputs.get(name)?.[index];
    if (!t) throw new Error(`reparameterize: the model's output '${name}' is not in the graph`);
    return t;
  });
  const deployModel = tf.model({
    inputs: inputs.length === 1 ? inputs[0]! : inputs,
    outputs: outs.length === 1 ? outs[0]! : outs,
    name: `${json.config.name}_deploy`,
  });
  for (const p of pending) {
    p.layer.setWeights(p.weights);
    tf.dispose(p.weights);
  }
  // The deploy layers keep their blocks' names: the record still says their stages.
  const record = recordOfModel(model);
  if (record) rememberRecord(deployModel, record);
  return { model: deployModel, folded };
}
