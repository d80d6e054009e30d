/**
 * Whether two models can be one network's train and deploy form: on the same
 * random images, in inference mode, their logits must agree to rounding. A
 * fold changes float32 results by about 1e-6 of the logits (2e-5 for the
 * official MobileOne-S4 reparameterization itself); two trainings of one
 * architecture differ by whole units. The tolerance sits far above the first
 * and far below the second.
 */
import * as tf from '@tensorflow/tfjs';
import { type InferenceModel, infer, perImageShape, positiveInt } from './model-like.js';

/** Allowed |train - deploy| per logit, as a share of the largest |logit| (at least 1). */
export const LOGIT_TOLERANCE = 1e-3;

export interface LogitAgreementOptions {
  /** Random images compared (default 8). */
  readonly images?: number;
  /** Per-image input shape (default: the train model's). */
  readonly inputShape?: readonly number[];
  /** Seed of the images (default 11): the same models always get the same answer. */
  readonly seed?: number;
}

export interface LogitAgreement {
  readonly images: number;
  /** Largest |train - deploy| over every logit of every image. */
  readonly maxAbsDiff: number;
  /** Largest |logit| of the train form. */
  readonly largestLogit: number;
  /** `LOGIT_TOLERANCE x max(1, largestLogit)`. */
  readonly tolerance: number;
  /** `maxAbsDiff <= tolerance` (false for NaN). */
  readonly agree: boolean;
}

/**
 * Runs both models on the same seeded uniform [0, 1) images and compares
 * their logits; see {@link LOGIT_TOLERANCE}.
 */
export async function logitAgreement(
  train: InferenceModel,
  deploy: InferenceModel,
  options: LogitAgreementOptions = {},
): Promise<LogitAgreement> {
  const caller = 'logitAgreement';
  const images = positiveInt(caller, 'images', options.images ?? 8);
  const shape = perImageShape(train, options.inputShape, caller);
  const x = tf.randomUniform([images, ...shape], 0, 1, 'float32', options.seed ?? 11);
  let a: tf.Tensor[] = [];
  let b: tf.Tensor[] = [];
  try {
    const outA = infer(train, x, caller);
    a = outA;
    const outB = infer(deploy, x, caller);
    b = outB;
    const [ta, tb] = [outA[0], outB[0]];
    if (a.length !== b.length || ta.shape.join() !== tb.shape.join()) {
      throw new Error(
        `${caller}: the forms answer in different shapes ([${ta.shape}] and [${tb.shape}])`,
      );
    }
    const stats = tf.tidy(() => tf.stack([tf.max(tf.abs(tf.sub(ta, tb))), tf.max(tf.abs(ta))]));
    const [maxAbsDiff, largestLogit] = Array.from(await stats.data());
    stats.dispose();
    const tolerance = LOGIT_TOLERANCE * Math.max(1, largestLogit!);
    return {
      images,
      maxAbsDiff: maxAbsDiff!,
      largestLogit: largestLogit!,
      tolerance,
      agree: maxAbsDiff! <= tolerance,
    };
  } finally {
    tf.dispose([x, ...a, ...b]);
  }
}
