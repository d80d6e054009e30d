/**
 * The gradient half of a training step, shared by the single-thread loop and
 * every data-parallel replica, so both differentiate exactly the same loss.
 */
import { type CustomL2Regularized, hasCustomL2 } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import { batchMetrics } from './metrics.js';

/** A layer with RepVGG's custom L2 on its equivalent kernel (RepVGGBlock): @repnets/blocks' contract. */
export type CustomL2Layer = CustomL2Regularized;
export { hasCustomL2 };

/** A weight's name for optimizer slots and checkpoints: its index and the name its layer gave it. */
export const weightName = (lv: tf.LayerVariable, i: number) =>
  `${i}:${(lv as unknown as { originalName?: string }).originalName ?? lv.name}`;

export interface StepModel {
  apply(
    x: tf.Tensor,
    kwargs?: Record<string, unknown>,
  ): tf.Tensor | tf.Tensor[] | tf.SymbolicTensor | tf.SymbolicTensor[];
}

export interface LossSpec {
  readonly classes: number;
  readonly labelSmoothing: number;
  /** Layers whose custom L2 joins the loss (with `weightDecay`); empty for none. */
  readonly l2Layers: readonly CustomL2Layer[];
  readonly weightDecay: number;
  /**
   * How the per-example losses become one number. 'mean' is the single-thread
   * loss. A shard of a data-parallel step divides its sum by the size of the
   * whole batch instead, so the shards' gradients add up to the full batch's
   * gradient; `withL2` then holds on one shard only, or the L2 term would
   * count once per shard.
   */
  readonly reduce:
    | { readonly kind: 'mean' }
    | { readonly kind: 'shard'; readonly batch: number; readonly withL2: boolean };
}

export interface StepGradients {
  /** One gradient per variable, in order (zeros where the loss does not depend on it). */
  readonly grads: tf.Tensor[];
  /** [loss sum, top-1 hits, top-5 hits] over the examples of `x`. */
  readonly metrics: tf.Tensor1D;
}

/**
 * Forward in training mode, loss, backward. Call it inside tf.tidy: the
 * returned tensors are the caller's, everything else is freed with the scope.
 */
export function lossGradients(
  model: StepModel,
  vars: readonly tf.Variable[],
  x: tf.Tensor4D,
  labels: tf.Tensor1D,
  spec: LossSpec,
): StepGradients {
  let metrics: tf.Tensor1D | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const logits = model.apply(x, { training: true }) as tf.Tensor2D;
    const perExample = tf.losses.softmaxCrossEntropy(
      tf.oneHot(labels, spec.classes),
      logits,
      undefined,
      spec.labelSmoothing,
      tf.Reduction.NONE,
    ) as tf.Tensor1D;
    metrics = tf.keep(batchMetrics(logits, labels, 5, perExample));
    const r = spec.reduce;
    let loss = (r.kind === 'mean' ? perExample.mean() : perExample.sum().div(r.batch)) as tf.Scalar;
    const withL2 = r.kind === 'mean' || r.withL2;
    if (withL2 && spec.l2Layers.length && spec.weightDecay) {
      loss = loss.add(tf.addN(spec.l2Layers.map((l) => l.customL2())).mul(0.5 * spec.weightDecay));
    }
    return loss;
  }, vars as tf.Variable[]);
  value.dispose();
  return { grads: vars.map((v) => grads[v.name] ?? tf.zerosLike(v)), metrics: metrics! };
}
