/**
 * A diverged run leaves NaN or Infinity in its weights; folded, exported or
 * measured, those turn into a deploy model or an ONNX file that answers NaN.
 * Every path that turns weights into something else checks them first and
 * names the first bad value.
 */
import type * as tf from '@tensorflow/tfjs';

/** What to do about weights that diverged. */
const DIVERGED_FIX =
  'train again with a lower learning rate, or start from a checkpoint saved before the weights diverged';

/** Index of the first NaN or ±Infinity in `values`, or -1. */
function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return i;
  }
  return -1;
}

/** The name a weight is saved under (a LayerVariable's `name` may carry a uniquifying suffix). */
const savedName = (w: tf.LayerVariable) =>
  (w as unknown as { originalName?: string }).originalName ?? w.name;

/**
 * Throws `<op>: layer 'L' holds NaN in its weight 'L/w' (value i of n): <fix>`
 * for the first non-finite value of any weight (trainable or not: BN running
 * statistics count), in layer order. Reads the weights with `data()`, which
 * works on every backend.
 */
export async function assertFiniteWeights(model: tf.LayersModel, op: string): Promise<void> {
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const values = await w.read().data();
      const at = firstNonFinite(values as ArrayLike<number>);
      if (at >= 0) {
        throw new Error(
          `${op}: layer '${layer.name}' holds ${values[at]} in its weight '${savedName(w)}' (value ${at} of ${values.length}): ${DIVERGED_FIX}`,
        );
      }
    }
  }
}
