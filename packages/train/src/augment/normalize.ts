import type { ImageHWC, Transform } from '../data/types.js';
import { checkImage, newImage } from './image.js';

/**
 * Per-channel `(x - mean[c]) / std[c]`, as torchvision's Normalize. Goes last:
 * the colour ops of RandAugment assume values in 0..1.
 */
export function normalize(mean: readonly number[], std: readonly number[]): Transform {
  const who = 'normalize';
  if (mean.length !== std.length) {
    throw new RangeError(
      `${who}: mean has ${mean.length} values but std has ${std.length}; give one of each per channel`,
    );
  }
  if (!mean.every(Number.isFinite)) {
    throw new RangeError(`${who}: mean must be finite numbers, got ${JSON.stringify(mean)}`);
  }
  if (!std.every((s) => Number.isFinite(s) && s !== 0)) {
    throw new RangeError(`${who}: std must be finite and non-zero, got ${JSON.stringify(std)}`);
  }
  const m = Float64Array.from(mean);
  const s = Float64Array.from(std);
  return (image: ImageHWC) => {
    checkImage(image, who);
    const c = image.channels;
    if (c !== m.length) {
      throw new RangeError(
        `${who}: mean and std have ${m.length} values but the image has ${c} channels`,
      );
    }
    const out = newImage(image.height, image.width, c);
    const src = image.data;
    const dst = out.data;
    for (let i = 0; i < src.length; i += c) {
      for (let k = 0; k < c; k++) dst[i + k] = (src[i + k]! - m[k]!) / s[k]!;
    }
    return out;
  };
}
