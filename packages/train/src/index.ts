/**
 * @repnets/train: training for RepNets models on every TF.js backend —
 * backend selection and the wasm training kernels, datasets and the batch
 * loader, augmentation, and the training loop with exact resume.
 */

export {
  type AffineMatrix,
  applyRandAugmentOp,
  type CropOptions,
  centerCrop,
  compose,
  crop,
  DEFAULT_FILL,
  type Fill,
  horizontalFlip,
  type Interpolation,
  isSignedRandAugmentOp,
  normalize,
  ops,
  type Padding,
  type PaddingMode,
  RAND_AUGMENT_M_MAX,
  RAND_AUGMENT_OPS,
  type RandAugmentOpName,
  type RandAugmentOptions,
  type RandomCropOptions,
  type RandomResizedCropOptions,
  type ResizeMethod,
  type ResizeOptions,
  randAugment,
  randomCrop,
  randomHorizontalFlip,
  randomResizedCrop,
  resize,
  resizeImage,
  resizeRegion,
  type Size,
  type WarpOptions,
} from './augment/index.js';
export {
  type BackendAttempt,
  type BackendChoice,
  type BackendPreference,
  releaseBackend,
  selectBackend,
} from './backend/select-backend.js';
export { type AdapterReport, ensureWebGPU } from './backend/webgpu-node.js';
export * from './data/index.js';
export {
  registerWasmTrainingKernels,
  stockWasmConv2DBackpropInput,
  WASM_TRAINING_KERNELS,
} from './engine/wasm/register.js';
export { setWasmTrainingSimd, wasmTrainingSimdActive } from './engine/wasm/simd-heap-kernels.js';
export * from './loop/index.js';
export { deriveRng, mix32, permutation, type Rng, rngFromState } from './random.js';
