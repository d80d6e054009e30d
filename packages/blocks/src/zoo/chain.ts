import type { NetworkRecord } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { head, inputFor, modelName, type RecordModelOptions } from './common.js';
import { BlockApplier } from './from-record.js';

/**
 * A network whose blocks follow one another (RepVGG, MobileOne, SimpleNet):
 * input, every record block in order, global pooling and a linear head.
 */
export function chainModel(record: NetworkRecord, opts: RecordModelOptions): tf.LayersModel {
  const blocks = new BlockApplier(opts.form ?? 'train', opts.bn);
  const input = inputFor(record);
  let x = input;
  for (const b of record.blocks) x = blocks.apply(b, x);
  const model = tf.model({
    inputs: input,
    outputs: head(x, record.numClasses),
    name: modelName(opts, record.name),
  });
  return blocks.finish(model);
}
