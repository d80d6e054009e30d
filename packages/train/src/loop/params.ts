/**
 * The parameters a run updates: every trainable weight with whether plain
 * weight decay applies to it, and the layers whose kernels get RepVGG's custom
 * L2 instead (with `customL2`).
 */
import type * as tf from '@tensorflow/tfjs';
import { decays, type Param } from '../optim/optimizers.js';
import type { ModelLike } from './model.js';
import { type CustomL2Layer, hasCustomL2, weightName } from './step.js';
import type { TrainOptions } from './train-options.js';

export interface TrainParams {
  readonly params: Param[];
  /** The customL2 layers: empty without `customL2`. */
  readonly l2Layers: CustomL2Layer[];
}

/**
 * Refuses `customL2` on a model without a layer that has customL2() (RepVGG
 * blocks). The training thread and every replica take their parameters from
 * here, so they order, name and decay them alike.
 */
export function trainParams(
  model: ModelLike,
  options: Pick<TrainOptions, 'customL2' | 'optimizer'>,
): TrainParams {
  const l2Layers: CustomL2Layer[] = options.customL2
    ? model.layers.filter(hasCustomL2).map((l) => l as unknown as CustomL2Layer)
    : [];
  if (options.customL2 && l2Layers.length === 0) {
    throw new Error(
      'train: customL2 is set but the model has no layer with customL2() (RepVGG blocks)',
    );
  }
  const l2Vars = new Set(l2Layers.flatMap((l) => l.customL2Variables()));
  const params: Param[] = model.trainableWeights.map((lv, i) => ({
    name: weightName(lv, i),
    variable: lv.read() as tf.Variable,
    decay: decays(options.optimizer, lv.shape.length) && !l2Vars.has(lv),
  }));
  return { params, l2Layers };
}
