import * as tf from '@tensorflow/tfjs';
import { ChannelShuffle, ChannelSplit } from './channel-ops.js';
import { ConvBN } from './conv-bn.js';
import { GroupConv2D } from './group-conv2d.js';
import { MobileOneBlock } from './mobileone-block.js';
import { QARepVGGBlock } from './qarepvgg-block.js';
import { RepVGGBlock } from './repvgg-block.js';
import { SEBlock } from './se-block.js';

/**
 * Every custom layer, registered for tf.layers serialization on import, so a
 * saved train-form model (or a grouped deploy model) loads after
 * `import '@repnets/blocks'`.
 */
export const CUSTOM_LAYERS = [
  RepVGGBlock,
  QARepVGGBlock,
  MobileOneBlock,
  ConvBN,
  SEBlock,
  GroupConv2D,
  ChannelSplit,
  ChannelShuffle,
];
for (const cls of CUSTOM_LAYERS) tf.serialization.registerClass(cls as never);
