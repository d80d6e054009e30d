/**
 * @repnets/train for browsers (the `default` export condition, and
 * `@repnets/train/browser` by name): augmentation, in-memory datasets and the
 * batch loader, the training loop in the page's thread, backend selection
 * among the backends a page can run, and the wasm training kernels. Nothing in
 * it imports a Node module.
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
export { type AdapterReport, describeAdapter } from './backend/adapter.js';
export type {
  BackendAttempt,
  BackendChoice,
  BackendName,
  BackendPreference,
} from './backend/choice.js';
export {
  BROWSER_BACKENDS,
  probeBackends,
  releaseBackend,
  selectBackend,
} from './backend/select-browser.js';
export * from './data/index.js';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from './engine/wasm/register.js';
export { setWasmTrainingSimd, wasmTrainingSimdActive } from './engine/wasm/simd-heap-kernels.js';
export * from './loop/index.js';
export { train } from './loop/train-browser.js';
export { resolveWorkers, type WorkersOption } from './parallel/shards.js';
export { deriveRng, permutation, type Rng, rngFromState } from './random.js';
