/**
 * Everything @repnets/blocks exports on every platform. The two entries add
 * the platform's file handling: `index.ts` (Node) and `browser.ts`.
 */
import './layers/register.js';

export {
  type Classification,
  type ClassifierModel,
  type ClassifyOptions,
  classify,
} from './classify/classify.js';
export type { ClassifyImage } from './classify/image-source.js';
export { assertFiniteWeights } from './finite-weights.js';
export {
  type CheckpointModelOptions,
  modelFromFused,
  modelFromStateDict,
} from './interop/from-checkpoint.js';
export {
  type ImportedStateDict,
  type ImportStateDictOptions,
  importStateDict,
} from './interop/import-state-dict.js';
export { type ToStateDictOptions, toStateDict } from './interop/to-state-dict.js';
export type { StateDictLayout, TorchSource } from './interop/torch-layout.js';
export {
  MODEL_JSON,
  type ModelFolderFiles,
  type ModelFolderOptions,
  modelFolderFilesOf,
  WEIGHTS_BIN,
} from './io/model-folder.js';
export type { WeightQuantization } from './io/quantize-weights.js';
export type { BNOptions } from './layers/batchnorm-weights.js';
export {
  type BlockShape,
  BranchBlock,
  type BranchBlockArgs,
  type BranchValues,
  type TrainedBareConv,
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
export type { ActivationName } from './layers/conv-ops.js';
export { type CustomL2Regularized, hasCustomL2 } from './layers/custom-l2.js';
export { GroupConv2D, type GroupConv2DArgs } from './layers/group-conv2d.js';
export { MobileOneBlock, type MobileOneBlockArgs } from './layers/mobileone-block.js';
export { QARepVGGBlock, type QARepVGGBlockArgs } from './layers/qarepvgg-block.js';
export {
  type DeployConv,
  isReparameterizable,
  type Reparameterizable,
} from './layers/reparameterizable.js';
export { RepVGGBlock, type RepVGGBlockArgs } from './layers/repvgg-block.js';
export { SEBlock, type SEBlockArgs } from './layers/se-block.js';
export type { SEPosition } from './layers/se-weights.js';
export type {
  PretrainedModel,
  PretrainedModelOptions,
} from './pretrained/pretrained-model.js';
export { type FoldedLayer, type ReparameterizeResult, reparameterize } from './reparameterize.js';
export type { ModelOptions, RecordModelOptions } from './zoo/common.js';
export { createModel, listModels, modelFromRecord, type ZooName } from './zoo/index.js';
export { type ZooParams, zooParams } from './zoo/params.js';
export { type ResetHeadOptions, resetHead } from './zoo/reset-head.js';
export { HEAD_LAYER, layerStages } from './zoo/stages.js';
