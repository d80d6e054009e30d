/**
 * Everything @repnets/blocks exports on every platform. The two entries add
 * the platform's file handling: `index.ts` (Node) and `browser.ts`.
 */
import './layers/register.js';

export { assertFiniteWeights } from './finite-weights.js';
export {
  type CheckpointModelOptions,
  modelFromFused,
  modelFromStateDict,
} from './interop/from-checkpoint.js';
export {
  MODEL_JSON,
  type ModelFolderFiles,
  modelFolderFiles,
  modelFolderFilesOf,
  WEIGHTS_BIN,
} from './io/model-folder.js';
export { batchNormTraining } from './layers/batchnorm-training.js';
export {
  type BNOptions,
  DEFAULT_BN_EPSILON,
  DEFAULT_BN_MOMENTUM,
} from './layers/batchnorm-weights.js';
export {
  type BlockShape,
  BranchBlock,
  type BranchBlockArgs,
  type TrainedBranches,
  type TrainedConvBranch,
} from './layers/branch-block.js';
export {
  ChannelShuffle,
  type ChannelShuffleArgs,
  ChannelSplit,
  type ChannelSplitArgs,
} from './layers/channel-ops.js';
export { ConvBN, type ConvBNArgs } from './layers/conv-bn.js';
export { type ActivationName, groupedConv2d } from './layers/conv-ops.js';
export { type CustomL2Regularized, hasCustomL2 } from './layers/custom-l2.js';
export { GroupConv2D, type GroupConv2DArgs } from './layers/group-conv2d.js';
export { MobileOneBlock, type MobileOneBlockArgs } from './layers/mobileone-block.js';
export { CUSTOM_LAYERS } from './layers/register.js';
export {
  type DeployConv,
  isReparameterizable,
  type Reparameterizable,
} from './layers/reparameterizable.js';
export { RepVGGBlock, type RepVGGBlockArgs } from './layers/repvgg-block.js';
export { SEBlock, type SEBlockArgs } from './layers/se-block.js';
export type { SEPosition } from './layers/se-weights.js';
export { type FoldedLayer, type ReparameterizeResult, reparameterize } from './reparameterize.js';
export type { ModelOptions } from './zoo/common.js';
export { createModel, listModels, type ZooName } from './zoo/index.js';
export {
  buildMobileOne,
  MOBILEONE_SPECS,
  type MobileOneName,
  type MobileOneSpec,
} from './zoo/mobileone.js';
export { type ZooParams, zooParams } from './zoo/params.js';
export {
  buildRepVGG,
  buildSimpleNet,
  REPVGG_SPECS,
  type RepVGGName,
  type RepVGGSpec,
} from './zoo/repvgg.js';
export {
  buildRepShuffleNetV2,
  type RepShuffleNetName,
  SHUFFLENET_SPECS,
} from './zoo/shufflenet.js';
