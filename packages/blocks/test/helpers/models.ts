import * as tf from '@tensorflow/tfjs';
import { reparameterize } from '../../src/index.js';
import { randomizeBatchNorm, relativeDiff } from './random-bn.js';

/** Yields between long synchronous phases, so the test runner's RPC stays alive. */
export const breathe = () => new Promise((r) => setTimeout(r, 0));

/** input -> layer -> output, as a functional model. */
export function singleLayerModel(layer: tf.layers.Layer, inputShape: number[]): tf.LayersModel {
  const input = tf.input({ shape: inputShape });
  return tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
}

/**
 * Folds `model` after randomizing its BN statistics (unless `seed` is null) and returns the relative
 * difference between the eval-mode train form and the deploy form on `x`.
 */
export async function foldAndCompare(
  model: tf.LayersModel,
  x: tf.Tensor,
  seed: number | null = 1,
): Promise<{ diff: number; train: tf.Tensor; deploy: tf.Tensor; deployModel: tf.LayersModel }> {
  if (seed !== null) randomizeBatchNorm(model, seed);
  const { model: deployModel } = await reparameterize(model);
  await breathe();
  const train = model.predict(x) as tf.Tensor;
  await breathe();
  const deploy = deployModel.predict(x) as tf.Tensor;
  return { diff: relativeDiff(deploy, train), train, deploy, deployModel };
}
