/**
 * The shipped model pair. Importing @repnets/blocks registers its custom layers
 * (RepVGGBlock, ...) with tfjs, which the training form needs to deserialize;
 * the deploy form is stock layers only and would load without it.
 */
import '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import type { ModelsMeta } from './meta';

export type Form = 'train' | 'deploy';

export interface ModelPair {
  readonly train: tf.LayersModel;
  readonly deploy: tf.LayersModel;
}

/** models/ next to the page, wherever the build is hosted (Vite's base is relative). */
const MODELS = `${import.meta.env.BASE_URL}models/`;

export async function loadMeta(): Promise<ModelsMeta> {
  const res = await fetch(`${MODELS}meta.json`);
  if (!res.ok) throw new Error(`models/meta.json: HTTP ${res.status}`);
  return (await res.json()) as ModelsMeta;
}

/**
 * Loads both forms onto the active backend. Weights live on the backend that
 * was active when they were created, so the page loads the pair again after
 * switching rather than letting tfjs copy every weight on first use.
 */
export async function loadPair(): Promise<ModelPair> {
  const [train, deploy] = await Promise.all([
    tf.loadLayersModel(`${MODELS}train/model.json`),
    tf.loadLayersModel(`${MODELS}deploy/model.json`),
  ]);
  return { train, deploy };
}

export function disposePair(pair: ModelPair | undefined): void {
  pair?.train.dispose();
  pair?.deploy.dispose();
}

/** Class probabilities of one 28x28 input (0..1, row-major) under one form. */
export async function classify(model: tf.LayersModel, input: Float32Array): Promise<Float32Array> {
  const probs = tf.tidy(() =>
    tf.softmax(model.predict(tf.tensor4d(input, [1, 28, 28, 1])) as tf.Tensor2D),
  );
  const data = (await probs.data()) as Float32Array;
  probs.dispose();
  return data;
}
