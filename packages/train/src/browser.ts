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
export type { Checkpoint, CheckpointMeta, SavedTensor } from './checkpoint/checkpoint.js';
export * from './data/index.js';
export { registerWasmTrainingKernels } from './engine/wasm/register.js';
export { setWasmTrainingSimd, wasmTrainingSimdActive } from './engine/wasm/simd-heap-kernels.js';
export {
  type DivergedAt,
  type LastFiniteCheckpoint,
  TrainingDivergedError,
} from './loop/diverged.js';
export { type EvalOptions, type EvalResult, evaluate } from './loop/evaluate.js';
export type { FreezeOption } from './loop/freeze.js';
export type { EpochRecord, ProgressMode, ProgressSink, StepReport } from './loop/progress.js';
export type {
  TrainCallbacks,
  TrainOptions,
  TrainResult,
  WorkersOption,
} from './loop/train-options.js';
export type { OptimizerConfig } from './optim/optimizers.js';
export { learningRate, type ScheduleConfig } from './optim/schedules.js';
export { deriveRng, permutation, type Rng, rngFromState } from './random.js';
export {
  defaultOptimizer,
  mnistRecipe,
  type Recipe,
  type RecipeChoices,
  recipeFor,
} from './recipes/training.js';
export { train } from './train-browser.js';
