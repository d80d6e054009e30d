/**
 * The RandAugment operations as plain functions of (image, parameter), for
 * direct use and tests; the barrel exports them as the `ops` namespace.
 */
import type { ImageHWC } from '../data/types.js';

export {
  autoContrast,
  brightness,
  color,
  contrast,
  equalize,
  posterize,
  sharpness,
  solarize,
} from './color.js';
export { rotate, shearX, shearY, translateX, translateY, warpAffine } from './geometry.js';

/** RandAugment's no-op: the input itself. */
export function identity(image: ImageHWC): ImageHWC {
  return image;
}
