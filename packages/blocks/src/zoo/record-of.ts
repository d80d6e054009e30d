/**
 * The record each model of this process was built from. A LayersModel keeps
 * only its layers; the block positions (stage, index) and squeeze-excite
 * widths that a PyTorch key layout needs live in the record, so the builders
 * note it here and `toStateDict` reads it back. A model loaded from disk has
 * none: its caller passes the record.
 */
import type { NetworkRecord } from '@repnets/fuse';
import type * as tf from '@tensorflow/tfjs';

const records = new WeakMap<tf.LayersModel, NetworkRecord>();

export function rememberRecord<M extends tf.LayersModel>(model: M, record: NetworkRecord): M {
  records.set(model, record);
  return model;
}

/** The record `model` was built from in this process, if a builder of ours built it. */
export function recordOf(model: tf.LayersModel): NetworkRecord | undefined {
  return records.get(model);
}
