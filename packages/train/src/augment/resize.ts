/**
 * Resizing with half-pixel centres (align_corners = false): output pixel i
 * samples input coordinate (i + 0.5) * in / out - 0.5, clamped to the edge
 * pixels, as torch's `interpolate(..., align_corners=False)` and TF's
 * `tf.image.resize` do. Separable: one pass along x, one along y.
 */
import { resampleFloat } from '@repnets/fuse/image';
import type { ImageHWC, Transform } from '../data/types.js';
import type { Rng } from '../random.js';
import { checkImage, newImage, parseSize, roundHalfEven, type Size } from './image.js';

/**
 * `'nearest'` takes the pixel containing the sample point, floor((i + 0.5) *
 * in / out) (PIL's and torch's 'nearest-exact'; torch's plain 'nearest'
 * drops the 0.5 and shifts the image).
 */
export type ResizeMethod = 'bilinear' | 'nearest';

export interface ResizeOptions {
  readonly method?: ResizeMethod;
  /**
   * When shrinking, widen the bilinear (triangle) filter to the scale factor
   * so every input pixel contributes (PIL's resize, torchvision's
   * antialias=True). Default false: plain 2-tap bilinear, as TF's resize and
   * torch's interpolate default to. No effect when enlarging or on 'nearest'.
   */
  readonly antialias?: boolean;
}

/**
 * The window (`top`, `left`, `height`, `width`) of `image`, resampled to
 * `outHeight` x `outWidth`. The window must lie inside the image.
 */
export function resizeRegion(
  image: ImageHWC,
  top: number,
  left: number,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
  options: ResizeOptions = {},
): ImageHWC {
  const who = 'resize';
  checkImage(image, who);
  parseSize([outHeight, outWidth], who);
  const method = options.method ?? 'bilinear';
  if (method !== 'bilinear' && method !== 'nearest') {
    throw new RangeError(`${who}: method must be 'bilinear' or 'nearest', got '${method}'`);
  }
  // fuse's separable resample, in float. PIL's triangle filter with its edge
  // taps renormalised is exactly 2-tap half-pixel bilinear when not
  // stretched; 'nearest-exact' is the floor((i + 0.5) * in / out) rule.
  const out = newImage(outHeight, outWidth, image.channels);
  const filter = method === 'bilinear' ? 'bilinear' : 'nearest-exact';
  const antialias = options.antialias ?? false;
  resampleFloat(image, { top, left, height, width }, out, { filter, antialias }, who);
  return out;
}

/** `image` resampled to `height` x `width`. */
export function resizeImage(
  image: ImageHWC,
  height: number,
  width: number,
  options: ResizeOptions = {},
): ImageHWC {
  checkImage(image, 'resize');
  return resizeRegion(image, 0, 0, image.height, image.width, height, width, options);
}

/**
 * Resizes every image to `size` (a number means a square, unlike
 * torchvision's Resize(int), which sets the shorter side). Returns the input
 * itself when it already has that size.
 */
export function resize(size: Size, options: ResizeOptions = {}): Transform {
  const [h, w] = parseSize(size, 'resize');
  return (image: ImageHWC) =>
    image.height === h && image.width === w ? image : resizeImage(image, h, w, options);
}

export interface RandomResizedCropOptions extends ResizeOptions {
  /** Range of the crop's area as a fraction of the image's; default [0.08, 1]. */
  readonly scale?: readonly [number, number];
  /** Range of the crop's width / height, sampled log-uniformly; default [3/4, 4/3]. */
  readonly ratio?: readonly [number, number];
}

/**
 * torchvision's RandomResizedCrop: up to 10 tries at a random area and
 * aspect ratio (two draws each, two more for the position once one fits),
 * falling back to the largest centred crop within `ratio`; then a resize to
 * `size`.
 */
export function randomResizedCrop(size: Size, options: RandomResizedCropOptions = {}): Transform {
  const who = 'randomResizedCrop';
  const [oh, ow] = parseSize(size, who);
  const [smin, smax] = options.scale ?? [0.08, 1];
  const [rmin, rmax] = options.ratio ?? [3 / 4, 4 / 3];
  if (!(smin > 0 && smin <= smax && smax <= 1)) {
    throw new RangeError(`${who}: scale must satisfy 0 < min <= max <= 1, got [${smin}, ${smax}]`);
  }
  if (!(rmin > 0 && rmin <= rmax && Number.isFinite(rmax))) {
    throw new RangeError(`${who}: ratio must satisfy 0 < min <= max, got [${rmin}, ${rmax}]`);
  }
  const logLo = Math.log(rmin);
  const logHi = Math.log(rmax);
  return (image: ImageHWC, rng: Rng) => {
    checkImage(image, who);
    const { height, width } = image;
    const area = height * width;
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * rng.uniform(smin, smax);
      const aspect = Math.exp(rng.uniform(logLo, logHi));
      const w = roundHalfEven(Math.sqrt(target * aspect));
      const h = roundHalfEven(Math.sqrt(target / aspect));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        const top = rng.int(height - h + 1);
        const left = rng.int(width - w + 1);
        return resizeRegion(image, top, left, h, w, oh, ow, options);
      }
    }
    const inRatio = width / height;
    let w = width;
    let h = height;
    if (inRatio < rmin) h = roundHalfEven(w / rmin);
    else if (inRatio > rmax) w = roundHalfEven(h * rmax);
    const top = Math.floor((height - h) / 2);
    const left = Math.floor((width - w) / 2);
    return resizeRegion(image, top, left, h, w, oh, ow, options);
  };
}
