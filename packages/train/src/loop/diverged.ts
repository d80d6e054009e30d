/**
 * Divergence: a loss or a weight that is no longer finite. Nothing trained
 * after it means anything (every later step only spreads the NaN), so the
 * run stops at once, says where and what to change, and keeps the last
 * checkpoint whose weights were all finite.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelLike } from './model.js';

/** Where a run stands when it diverges: which checkpoint still holds finite weights. */
export interface LastFiniteCheckpoint {
  readonly path: string;
  /** The epochs it has completed. */
  readonly epoch: number;
}

/** Where it happened: a step's loss, or a weight at an epoch's end. */
export type DivergedAt =
  | {
      readonly kind: 'loss';
      /** 1-based, as the progress lines count. */
      readonly epoch: number;
      /** The global step (1-based) whose loss was not finite. */
      readonly step: number;
      readonly batch: number;
      readonly batches: number;
      /** The learning rate of that step (the schedule's). */
      readonly lr: number;
      readonly loss: number;
    }
  | {
      readonly kind: 'weight';
      readonly epoch: number;
      /** What holds it: "the weight 'conv/kernel'", "the optimizer slot '3:conv/kernel/v'". */
      readonly tensor: string;
      readonly value: number;
    };

/** A learning rate ten times lower, with three significant digits: what the message suggests. */
const lowerLr = (lr: number) => Number((lr / 10).toPrecision(3));

/**
 * Training diverged. `what` says where, `checkpointNote` what survived;
 * `suggestedLr` is the base learning rate divided by ten.
 */
export class TrainingDivergedError extends Error {
  override readonly name = 'TrainingDivergedError';
  readonly epoch: number;
  readonly step?: number;
  readonly batch?: number;
  readonly loss?: number;
  /** What held the non-finite value when a weight or slot did, not the loss. */
  readonly tensor?: string;
  /** "the loss became NaN at epoch 2, step 4 (batch 1 of 3; learning rate 0.05)" */
  readonly what: string;
  readonly suggestedLr: number;
  readonly lastCheckpoint?: LastFiniteCheckpoint;
  /** "The last finite checkpoint is <path> (epoch 1)", or why there is none. */
  readonly checkpointNote: string;

  constructor(
    at: DivergedAt,
    baseLr: number,
    lastCheckpoint: LastFiniteCheckpoint | undefined,
    checkpointing: boolean,
  ) {
    const what =
      at.kind === 'loss'
        ? `the loss became ${at.loss} at epoch ${at.epoch}, step ${at.step} (batch ${at.batch} of ${at.batches}; learning rate ${at.lr})`
        : `after epoch ${at.epoch} ${at.tensor} holds ${at.value}`;
    const checkpointNote = lastCheckpoint
      ? `The last finite checkpoint is ${lastCheckpoint.path} (epoch ${lastCheckpoint.epoch})`
      : checkpointing
        ? 'No checkpoint was written: no epoch ended with finite weights'
        : 'No checkpoint is kept (no checkpointDir)';
    const suggestedLr = lowerLr(baseLr);
    super(
      `train: ${what}: training diverged; lower the learning rate (try ${suggestedLr}) or clip gradients (clipGradNorm). ${checkpointNote}`,
    );
    this.epoch = at.epoch;
    if (at.kind === 'loss') {
      this.step = at.step;
      this.batch = at.batch;
      this.loss = at.loss;
    } else {
      this.tensor = at.tensor;
    }
    this.what = what;
    this.suggestedLr = suggestedLr;
    this.lastCheckpoint = lastCheckpoint;
    this.checkpointNote = checkpointNote;
  }
}

/**
 * The first of `named` (a model's weights with BN running statistics, an
 * optimizer's slots, as read back) holding a NaN or an infinity, with that
 * value; undefined when all are finite.
 */
export function firstNonFinite(
  named: Iterable<readonly [string, ArrayLike<number>]>,
): { name: string; value: number } | undefined {
  for (const [name, values] of named) {
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!)) return { name, value: values[i]! };
    }
  }
  return undefined;
}

/** The label {@link firstNonFinite} gives a model's weight. */
export const weightLabel = (lv: Pick<tf.LayerVariable, 'name'>) => `the weight '${lv.name}'`;

/**
 * The first weight of `model` (BN running statistics included) that holds a
 * NaN or an infinity, named "the weight '<name>'", with that value; undefined
 * when all are finite. What a caller checks before exporting a model.
 */
export async function nonFiniteWeight(
  model: Pick<ModelLike, 'weights'>,
): Promise<{ name: string; value: number } | undefined> {
  for (const lv of model.weights) {
    const bad = firstNonFinite([[weightLabel(lv), await lv.read().data()]]);
    if (bad) return bad;
  }
  return undefined;
}
