/**
 * A new classifier on a trained backbone, as timm's `reset_classifier`: the
 * model's layers up to the pooling are shared (the same layers, the same
 * weight variables), and a freshly initialized `head_fc` with another class
 * count replaces the old one.
 */
import * as tf from '@tensorflow/tfjs';
import { glorotUniform, withInitSeed } from '../layers/init-seed.js';
import { rememberRecord } from './record-of.js';
import { HEAD_LAYER, recordOfModel } from './stages.js';

export interface ResetHeadOptions {
  /** Seed of the new head's initial weights (default: unseeded, as TF.js). */
  readonly seed?: number;
}

/**
 * `model` with a new `head_fc` of `numClasses` outputs (Glorot-uniform kernel,
 * zero bias, as the zoo starts it), in train or deploy form. The backbone is
 * shared with `model`, not copied: train the returned model, and dispose only
 * one of the two (disposing either frees the shared weights).
 */
export function resetHead(
  model: tf.LayersModel,
  numClasses: number,
  options: ResetHeadOptions = {},
): tf.LayersModel {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Error(`resetHead: numClasses must be a positive integer, got ${String(numClasses)}`);
  }
  const head = model.layers.find((l) => l.name === HEAD_LAYER);
  if (!head) {
    throw new Error(
      `resetHead: model '${model.name}' has no layer '${HEAD_LAYER}' (the zoo's classifier) to replace`,
    );
  }
  if (model.outputs.length !== 1 || model.outputs[0] !== head.output) {
    throw new Error(
      `resetHead: the output of model '${model.name}' is not its '${HEAD_LAYER}' layer's, so a new head would drop what follows it`,
    );
  }
  const features = head.input;
  if (Array.isArray(features)) {
    throw new Error(`resetHead: '${HEAD_LAYER}' of model '${model.name}' has several inputs`);
  }
  const fc = withInitSeed(options.seed, () =>
    tf.layers.dense({ units: numClasses, name: HEAD_LAYER, kernelInitializer: glorotUniform() }),
  );
  const out = fc.apply(features) as tf.SymbolicTensor;
  const next = tf.model({ inputs: model.inputs, outputs: out, name: model.name });
  const record = recordOfModel(model);
  return record ? rememberRecord(next, { ...record, numClasses }) : next;
}
