/**
 * Image augmentation on HWC Float32Array images: each factory returns a
 * `Transform` that draws only from the rng it is given, so a seeded stream
 * gives the same output bit for bit.
 */

export { compose } from './compose.js';
export {
  type CropOptions,
  centerCrop,
  crop,
  type Padding,
  type PaddingMode,
  type RandomCropOptions,
  randomCrop,
} from './crop.js';
export { horizontalFlip, randomHorizontalFlip } from './flip.js';
export {
  type AffineMatrix,
  DEFAULT_FILL,
  type Interpolation,
  type WarpOptions,
} from './geometry.js';
export type { Fill, Size } from './image.js';
export { normalize } from './normalize.js';
export * as ops from './ops.js';
export {
  applyRandAugmentOp,
  isSignedRandAugmentOp,
  RAND_AUGMENT_M_MAX,
  RAND_AUGMENT_OPS,
  type RandAugmentOpName,
  type RandAugmentOptions,
  randAugment,
} from './randaugment.js';
export {
  type RandomResizedCropOptions,
  type ResizeMethod,
  type ResizeOptions,
  randomResizedCrop,
  resize,
  resizeImage,
  resizeRegion,
} from './resize.js';
