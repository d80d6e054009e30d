/**
 * @repnets/fuse: the folding algebra of structural re-parameterization, on plain
 * Float32Arrays. No framework import: TF.js, ONNX and PyTorch-layout callers all
 * use the same functions, with the kernel layout carried in the type.
 */

export { type ACNetBlockParams, foldACNetBlock } from './acnet.js';
export {
  type Activation,
  ARCHITECTURES,
  ArchError,
  type ArchitectureName,
  type ArchOptions,
  architecture,
  type BlockDimensions,
  type BlockGeometry,
  type BlockKind,
  type BlockRecord,
  type BranchRoles,
  blockNamed,
  blockWeights,
  estimateMemory,
  isArchitectureName,
  type MemoryEstimate,
  type MemoryEstimateOptions,
  type MobileOneArch,
  mobileoneRecord,
  type NetworkFamily,
  type NetworkRecord,
  type NetworkShape,
  qarepvggRecord,
  type RepVGGArch,
  repvggRecord,
  type SEPlacement,
  type TensorSize,
} from './arch/index.js';
export type { BatchNorm } from './batchnorm.js';
export type { ConvBN } from './conv-bn.js';
export { type AvgPoolKernelArgs, avgPoolKernel, mergeSequentialConvs } from './dbb.js';
export { type FoldEngine, foldEngine, setFoldEngine } from './engine/fold-rows.js';
export { FuseError } from './errors.js';
export { foldBatchNorm, foldPostBatchNorm } from './fold-batchnorm.js';
export {
  type ConvBranch,
  type FoldBranchesArgs,
  type FoldedConv,
  type FoldInto,
  foldBranches,
} from './fold-branches.js';
export { type IdentityKernelArgs, identityKernel } from './identity.js';
export { detectLayout } from './interop/detect.js';
export {
  type FusedBlock,
  type FuseStateDictResult,
  foldReparamBlock,
  fuseStateDict,
} from './interop/fuse-state-dict.js';
export {
  type BlockKeys,
  deployStateDictShapes,
  type ExpectedKey,
  type ExpectedKeysOptions,
  type KeyRole,
  type StateDictKeys,
  type StateDictKeysOptions,
  stateDictKeys,
  trainStateDictShapes,
} from './interop/keys.js';
export { type BlockFamily, LAYOUT_NAMES, type LayoutName } from './interop/layouts.js';
export {
  type AssumedStride,
  type BlockInfo,
  type DeployedBlockEntry,
  type MobileOneBlockEntry,
  type ParsedStateDict,
  type ParseStateDictOptions,
  parseStateDict,
  type QARepVGGBlockEntry,
  type ReparamBlock,
  type RepVGGBlockEntry,
  type SqueezeExcite,
  type StrideSource,
  type StrippedPrefix,
} from './interop/parse.js';
export type { StateDict, StateTensor } from './interop/state-dict.js';
export {
  type ShapeMismatch,
  StateDictError,
  type StateDictProblems,
} from './interop/state-dict-error.js';
export { numberToF16Bits } from './io/half.js';
export {
  type FloatTensor,
  type IntTensor,
  type ReadSafetensorsOptions,
  readSafetensors,
  type SafeTensor,
  type SafeTensors,
  type SafetensorsDType,
  type SafetensorsFloatDType,
  type SafetensorsIntDType,
  type TensorToWrite,
  type WriteSafetensorsOptions,
  writeSafetensors,
} from './io/safetensors.js';
export {
  type ReadTorchCheckpointOptions,
  readTorchCheckpoint,
} from './io/torch-checkpoint.js';
export {
  convertKernel,
  type Kernel,
  type KernelHWIM,
  type KernelHWIO,
  type KernelLayout,
  type KernelOIHW,
  makeKernel,
  type Shape4,
  shapeFor,
  toHWIM,
  toHWIO,
  toOIHW,
} from './kernel-layout.js';
export { foldMobileOneBlock, type MobileOneBlockParams } from './mobileone.js';
export { padKernel } from './pad.js';
export { foldQARepVGGBlock, type QARepVGGBlockParams } from './qarepvgg.js';
export { type ActivationNHWC, type ReferenceConvOptions, referenceConv2d } from './reference.js';
export { foldRepVGGBlock, type RepVGGBlockParams } from './repvgg.js';
export { sumBranches } from './sum.js';
