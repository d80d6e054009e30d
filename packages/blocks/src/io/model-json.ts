/**
 * What a model.json must be before anything is built from it: a JSON object
 * with a topology; for a layers model, a weights manifest (without one TF.js
 * silently keeps random initial weights), float32 weights (every layer weight
 * is), and only registered layer classes. Each check names the file and what
 * is wrong in one line. Platform-free: the Node file handler runs these on the
 * text it read.
 */
import * as tf from '@tensorflow/tfjs';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const what = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;

/** The parsed model.json, as an object with a topology; `where` names the file in errors. */
export function parseModelJson(where: string, text: string): tf.io.ModelJSON {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`fileSystem: ${where} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(json)) {
    throw new Error(`fileSystem: ${where} is not a TF.js model.json (it holds ${what(json)})`);
  }
  if (!json.modelTopology) throw new Error(`fileSystem: ${where} has no 'modelTopology'`);
  const groups = json.weightsManifest;
  const wellFormed = (g: unknown) =>
    isObject(g) && Array.isArray(g.paths) && Array.isArray(g.weights);
  if (groups !== undefined && !(Array.isArray(groups) && groups.every(wellFormed))) {
    throw new Error(
      `fileSystem: ${where}: 'weightsManifest' must be an array of { paths: [...], weights: [...] }`,
    );
  }
  return json as unknown as tf.io.ModelJSON;
}

/**
 * Whether a model.json holds a graph model (tfjs-converter's GraphDef: nodes,
 * no layers): by its `format`, or, where that is missing, by its topology.
 */
export function isGraphModel(json: { format?: string; modelTopology?: unknown }): boolean {
  if (json.format === 'graph-model') return true;
  if (json.format === 'layers-model') return false;
  const t = json.modelTopology;
  return isObject(t) && Array.isArray(t.node) && t.class_name === undefined;
}

/** The graph-model refusal, for callers that expect a layers model. */
export function graphModelError(where: string): Error {
  return new Error(
    `fileSystem: '${where}' is a TF.js graph model (format 'graph-model'), not a layers model: load it with tf.loadGraphModel; RepNets reads layers models (saved with model.save)`,
  );
}

/** Bytes per stored value, by dtype (or by quantization dtype, where the weights are quantized). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  float32: 4,
  int32: 4,
  bool: 1,
  complex64: 8,
};
const QUANTIZED_BYTES: Readonly<Record<string, number>> = { uint8: 1, uint16: 2, float16: 2 };

/**
 * The bytes one manifest entry takes in its weights file; undefined for string
 * tensors, whose size only their own length prefixes tell.
 */
export function entryBytes(where: string, entry: tf.io.WeightsManifestEntry): number | undefined {
  const name = String((entry as { name?: unknown }).name).slice(0, 200);
  const shape: unknown = entry.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new Error(
      `fileSystem: '${where}' gives the weight '${name}' the shape ${JSON.stringify(shape)?.slice(0, 80)}, expected non-negative integers`,
    );
  }
  const count = shape.reduce((p: number, d: number) => p * d, 1);
  const q = entry.quantization?.dtype;
  if (q !== undefined) {
    const bytes = QUANTIZED_BYTES[q];
    if (bytes === undefined) {
      throw new Error(
        `fileSystem: '${where}' quantizes the weight '${name}' as ${String(q).slice(0, 40)}, expected one of ${Object.keys(QUANTIZED_BYTES).join(', ')}`,
      );
    }
    return count * bytes;
  }
  if (entry.dtype === 'string') return undefined;
  const bytes = DTYPE_BYTES[entry.dtype];
  if (bytes === undefined) {
    throw new Error(
      `fileSystem: '${where}' gives the weight '${name}' the dtype ${String(entry.dtype).slice(0, 40)}, which TF.js does not store`,
    );
  }
  return count * bytes;
}

/**
 * A quantized entry carries what dequantizing it needs: uint8 and uint16 a
 * finite `min` and `scale` (TF.js would compute NaN weights from missing or
 * non-numeric ones, or fail naming neither the file nor how), float16 nothing
 * more. Unknown quantization dtypes are refused by {@link entryBytes}.
 */
function checkQuantization(where: string, entry: tf.io.WeightsManifestEntry): void {
  const q: unknown = (entry as { quantization?: unknown }).quantization;
  if (q === undefined) return;
  const name = String(entry.name).slice(0, 200);
  if (!isObject(q)) {
    throw new Error(
      `fileSystem: '${where}' gives the weight '${name}' the quantization ${what(q)}, expected { dtype, min, scale } (uint8, uint16) or { dtype: 'float16' }`,
    );
  }
  if (q.dtype !== 'uint8' && q.dtype !== 'uint16') return;
  for (const field of ['min', 'scale'] as const) {
    const v = q[field];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(
        `fileSystem: '${where}' quantizes the weight '${name}' as ${q.dtype} without a finite '${field}' (it holds ${v === undefined ? 'none' : JSON.stringify(v)?.slice(0, 40)}): the manifest was edited or cut; save the model again`,
      );
    }
  }
}

interface LayerJson {
  readonly class_name?: unknown;
  readonly config?: unknown;
}

/** Every layer of a layers topology (nested models and wrapped layers too), with its class. */
function* layersOf(topology: unknown): Generator<{ className: string; name: string }> {
  const node = (
    isObject(topology) && isObject(topology.model_config) ? topology.model_config : topology
  ) as LayerJson;
  const visit = function* (layer: LayerJson): Generator<{ className: string; name: string }> {
    const config = layer.config;
    const list = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
    if (Array.isArray(list)) {
      for (const l of list) {
        if (!isObject(l)) continue;
        const name = isObject(l.config) ? String(l.config.name ?? '?') : '?';
        yield { className: String(l.class_name), name };
        yield* visit(l);
      }
    }
    if (isObject(config) && isObject(config.layer)) {
      const inner = config.layer as LayerJson;
      const name = isObject(inner.config) ? String(inner.config.name ?? '?') : '?';
      yield { className: String(inner.class_name), name };
      yield* visit(inner);
    }
  };
  yield* visit(node);
}

/**
 * The checks a layers model.json must pass before TF.js builds it, each a
 * one-line error naming the file: a weights manifest present, every weight
 * float32 (stored as such, or quantized with what dequantizing needs), every
 * layer class registered.
 */
export function checkLayersModelJson(where: string, json: tf.io.ModelJSON): void {
  if (json.weightsManifest === undefined) {
    throw new Error(
      `fileSystem: '${where}' has no 'weightsManifest', so its layers would get random initial weights: save the model with model.save(), which writes model.json and weights.bin together`,
    );
  }
  for (const group of json.weightsManifest) {
    for (const entry of group.weights) {
      if (entry.dtype !== 'float32') {
        throw new Error(
          `fileSystem: '${where}' gives the weight '${String(entry.name).slice(0, 200)}' the dtype ${String(entry.dtype).slice(0, 40)}, but every layer weight is float32: the manifest was edited or written for another model`,
        );
      }
      checkQuantization(where, entry);
    }
  }
  const registered = tf.serialization.SerializationMap.getMap().classNameMap;
  for (const { className, name } of layersOf(json.modelTopology)) {
    if (!Object.hasOwn(registered, className)) {
      throw new Error(
        `fileSystem: '${where}': import the module that registers the layer class '${className.slice(0, 80)}' (layer '${name.slice(0, 80)}') before loading (tf.serialization.registerClass); RepNets' own layers register on import '@repnets/blocks', and @repnets/train's worker threads import the modules listed in its workerModules option`,
      );
    }
  }
}
