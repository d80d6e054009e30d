/** What the loop needs of the model it trains: a tf.LayersModel has all of it. */
import type * as tf from '@tensorflow/tfjs';

export interface ModelLike {
  readonly layers: tf.layers.Layer[];
  readonly weights: tf.LayerVariable[];
  readonly trainableWeights: tf.LayerVariable[];
  apply(
    x: tf.Tensor,
    kwargs?: Record<string, unknown>,
  ): tf.Tensor | tf.Tensor[] | tf.SymbolicTensor | tf.SymbolicTensor[];
  readonly outputs: tf.SymbolicTensor[];
  /** The input the data must fit (checked before the first step); a tf.LayersModel has it. */
  readonly inputs?: tf.SymbolicTensor[];
  /** Needed for workers > 1: the replicas are rebuilt from what it saves. */
  save?(handler: tf.io.IOHandler): Promise<tf.io.SaveResult>;
}

/** The number of classes of a model with one output of shape [batch, classes]; refuses any other. */
export function numClassesOf(model: ModelLike): number {
  const shape = model.outputs[0]?.shape;
  const n = shape?.[shape.length - 1];
  if (model.outputs.length !== 1 || shape?.length !== 2 || typeof n !== 'number') {
    throw new Error(
      `train: the model must have one output of shape [batch, classes], got ${JSON.stringify(shape)}`,
    );
  }
  return n;
}
