/**
 * The parameters a run updates: every trainable weight of a layer the run
 * does not freeze, with whether plain weight decay applies to it and its
 * learning-rate factor, and the layers whose kernels get RepVGG's custom L2
 * instead (with `customL2`).
 */
import type * as tf from '@tensorflow/tfjs';
import { decays, type Param } from '../optim/optimizers.js';
import { isBackbone } from './freeze.js';
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
 * here, so they order, name, decay and scale them alike. Names keep the
 * weight's index among all trainable weights, frozen or not, so a weight has
 * one name whatever is frozen. Frozen layers' kernels join no custom L2.
 */
export function trainParams(
  model: ModelLike,
  options: Pick<TrainOptions, 'customL2' | 'optimizer' | 'backboneLrFactor'>,
  frozen: readonly string[] = [],
): TrainParams {
  const isFrozen = new Set(frozen);
  const withL2 = options.customL2 ? model.layers.filter(hasCustomL2) : [];
  if (options.customL2 && withL2.length === 0) {
    throw new Error(
      'train: customL2 is set but the model has no layer with customL2() (RepVGG blocks)',
    );
  }
  // Frozen blocks keep their kernels: no L2 pulls on them (none left with freeze 'backbone').
  const l2Layers = withL2
    .filter((l) => !isFrozen.has(l.name))
    .map((l) => l as unknown as CustomL2Layer);
  const l2Vars = new Set(l2Layers.flatMap((l) => l.customL2Variables()));
  const owner = new Map<tf.LayerVariable, string>();
  for (const l of model.layers) for (const w of l.trainableWeights) owner.set(w, l.name);
  const factor = options.backboneLrFactor ?? 1;
  const params: Param[] = [];
  model.trainableWeights.forEach((lv, i) => {
    const layer = owner.get(lv) ?? '';
    if (isFrozen.has(layer)) return;
    params.push({
      name: weightName(lv, i),
      variable: lv.read() as tf.Variable,
      decay: decays(options.optimizer, lv.shape.length) && !l2Vars.has(lv),
      ...(factor !== 1 && isBackbone(layer) ? { lrScale: factor } : {}),
    });
  });
  return { params, l2Layers };
}
