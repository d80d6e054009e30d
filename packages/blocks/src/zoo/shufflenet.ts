import { blockNamed, type NetworkRecord } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { ChannelShuffle, ChannelSplit } from '../layers/channel-ops.js';
import { head, inputFor, modelName, type RecordModelOptions } from './common.js';
import { BlockApplier } from './from-record.js';

/**
 * The units of a RepShuffleNetV2 record, in order: each unit has a
 * `<unit>_right_pw1` block, and its depthwise block's stride says whether it
 * splits (1) or downsamples (2).
 */
function unitsOf(record: NetworkRecord): { name: string; stride: number }[] {
  const suffix = '_right_pw1';
  return record.blocks
    .filter((b) => b.name.endsWith(suffix))
    .map((b) => {
      const name = b.name.slice(0, -suffix.length);
      return { name, stride: blockNamed(record, `${name}_right_dw`).stride };
    });
}

/**
 * RepShuffleNetV2: ShuffleNetV2 (stem 3x3 s2 + 3x3 max-pool s2, stages of
 * units, 1x1 conv to 1024, pool, linear) with every depthwise conv replaced by
 * a depthwise RepVGG block and the stem by a RepVGG block; every block's
 * geometry comes from its record. A stride-1 unit splits the channels and
 * transforms one half (1x1, rep-dw 3x3, 1x1); a stride-2 unit transforms the
 * whole input twice (left: rep-dw 3x3 s2, 1x1; right: 1x1, rep-dw 3x3 s2, 1x1).
 * Both concatenate and shuffle.
 */
export function shufflenetModel(record: NetworkRecord, opts: RecordModelOptions): tf.LayersModel {
  const blocks = new BlockApplier(opts.form ?? 'train', opts.bn);
  const at = (block: string, x: tf.SymbolicTensor) => blocks.apply(blockNamed(record, block), x);
  const input = inputFor(record);
  let x = at('stem', input);
  x = tf.layers.zeroPadding2d({ padding: 1, name: 'stem_pool_pad' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers
    .maxPooling2d({ poolSize: 3, strides: record.stemStride, padding: 'valid', name: 'stem_pool' })
    .apply(x) as tf.SymbolicTensor;
  for (const u of unitsOf(record)) {
    let left: tf.SymbolicTensor;
    let right: tf.SymbolicTensor;
    if (u.stride === 1) {
      left = new ChannelSplit({ part: 0, name: `${u.name}_split0` }).apply(x) as tf.SymbolicTensor;
      right = new ChannelSplit({ part: 1, name: `${u.name}_split1` }).apply(x) as tf.SymbolicTensor;
    } else {
      left = at(`${u.name}_left_pw`, at(`${u.name}_left_dw`, x));
      right = x;
    }
    right = at(`${u.name}_right_pw2`, at(`${u.name}_right_dw`, at(`${u.name}_right_pw1`, right)));
    const cat = tf.layers
      .concatenate({ axis: -1, name: `${u.name}_concat` })
      .apply([left, right]) as tf.SymbolicTensor;
    x = new ChannelShuffle({ groups: 2, name: `${u.name}_shuffle` }).apply(
      cat,
    ) as tf.SymbolicTensor;
  }
  x = at('conv5', x);
  const model = tf.model({
    inputs: input,
    outputs: head(x, record.numClasses),
    name: modelName(opts, record.name),
  });
  return blocks.finish(model);
}
