/** What the CLI checks about models before it spends time on them. */
import type * as tf from '@tensorflow/tfjs';

function layerStride(layer: tf.layers.Layer): number {
  const s =
    (layer as unknown as { strides?: number | number[] }).strides ??
    (layer.getConfig() as { strides?: number | number[] }).strides;
  const first = Array.isArray(s) ? s[0] : s;
  return typeof first === 'number' && first > 1 ? first : 1;
}

/**
 * The largest product of strides along any path from the input to a layer
 * output: the factor by which the network shrinks an image before its global
 * pooling. An input smaller than it leaves the deepest strided layers nothing
 * but padding to look at.
 */
export function totalStride(model: tf.LayersModel): number {
  const memo = new Map<number, number>();
  const visit = (t: tf.SymbolicTensor): number => {
    const known = memo.get(t.id);
    if (known !== undefined) return known;
    const layer = t.sourceLayer as tf.layers.Layer;
    // An InputLayer's node lists its own output as its input.
    const inputs = (layer.inboundNodes[t.nodeIndex]?.inputTensors ?? []).filter(
      (i) => i.id !== t.id,
    );
    memo.set(t.id, 1);
    const below = inputs.length ? Math.max(...inputs.map(visit)) : 1;
    const value = below * layerStride(layer);
    memo.set(t.id, value);
    return value;
  };
  return Math.max(1, ...model.outputs.map(visit));
}

/**
 * Whether `deploy` can be the folded form of `train`: the same input and
 * output shapes, and every deploy layer's name among the train form's (folding
 * keeps block names). Returns why not, or undefined.
 */
export function notTheSameNetwork(
  train: tf.LayersModel,
  deploy: tf.LayersModel,
): string | undefined {
  const shape = (ts: tf.SymbolicTensor[]) => JSON.stringify(ts.map((t) => t.shape));
  if (shape(train.inputs) !== shape(deploy.inputs))
    return `their inputs differ (${shape(train.inputs)} vs ${shape(deploy.inputs)})`;
  if (shape(train.outputs) !== shape(deploy.outputs))
    return `their outputs differ (${shape(train.outputs)} vs ${shape(deploy.outputs)})`;
  const names = new Set(train.layers.map((l) => l.name));
  // A folded stride-2 conv brings its explicit padding layer, `<block>_pad`.
  const known = (n: string) => names.has(n) || (n.endsWith('_pad') && names.has(n.slice(0, -4)));
  const foreign = deploy.layers.filter((l) => !known(l.name)).map((l) => l.name);
  if (foreign.length)
    return `${foreign.length} of the second model's layers are not in the first (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''})`;
  return undefined;
}
