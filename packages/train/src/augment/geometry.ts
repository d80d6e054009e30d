/**
 * Affine warps with PIL's `Image.transform(AFFINE)` sampling: coordinates are
 * continuous, pixel (x, y) covering [x, x + 1) x [y, y + 1); each output pixel
 * centre (x + 0.5, y + 0.5) is mapped to an input point, and points outside
 * the input rectangle take the fill. Inside it, 'nearest' takes the pixel
 * containing the point and 'bilinear' interpolates between the four nearest
 * pixel centres, clamped at the border (PIL's rule: the edges never blend
 * with the fill).
 */
import type { ImageHWC } from '../data/types.js';
import { checkFinite, checkImage, type Fill, fillVector, newImage } from './image.js';

export type Interpolation = 'nearest' | 'bilinear';

export interface WarpOptions {
  /** Value(s) where the output sees outside the input; default 0.5 (timm fills gray 128/255). */
  readonly fill?: Fill;
  /** Default 'bilinear' (timm's RandAugment; torchvision's uses 'nearest'). */
  readonly interpolation?: Interpolation;
}

/**
 * `[a, b, c, d, e, f]`: the output point (u, v) samples the input at
 * (a u + b v + c, d u + e v + f). This is the inverse of the motion one sees,
 * as PIL's AFFINE data is.
 */
export type AffineMatrix = readonly [number, number, number, number, number, number];

export const DEFAULT_FILL = 0.5;

/** `image` resampled through `inverse` (see {@link AffineMatrix}). */
export function warpAffine(
  image: ImageHWC,
  inverse: AffineMatrix,
  options: WarpOptions = {},
): ImageHWC {
  const who = 'warpAffine';
  checkImage(image, who);
  if (inverse.length !== 6 || !inverse.every(Number.isFinite)) {
    throw new RangeError(
      `${who}: inverse must be 6 finite numbers [a, b, c, d, e, f], got ${JSON.stringify(inverse)}`,
    );
  }
  const interpolation = options.interpolation ?? 'bilinear';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') {
    throw new RangeError(
      `${who}: interpolation must be 'nearest' or 'bilinear', got '${interpolation}'`,
    );
  }
  const { height: H, width: W, channels: C, data: src } = image;
  const fill = fillVector(options.fill ?? DEFAULT_FILL, C, who);
  const [a, b, c, d, e, f] = inverse;
  const out = newImage(H, W, C);
  const dst = out.data;
  const nearest = interpolation === 'nearest';
  let o = 0;
  for (let y = 0; y < H; y++) {
    const v = y + 0.5;
    for (let x = 0; x < W; x++, o += C) {
      const u = x + 0.5;
      const sx = a * u + b * v + c;
      const sy = d * u + e * v + f;
      if (!(sx >= 0 && sx < W && sy >= 0 && sy < H)) {
        for (let k = 0; k < C; k++) dst[o + k] = fill[k]!;
        continue;
      }
      if (nearest) {
        const s = (Math.floor(sy) * W + Math.floor(sx)) * C;
        for (let k = 0; k < C; k++) dst[o + k] = src[s + k]!;
        continue;
      }
      const fx = sx - 0.5;
      const fy = sy - 0.5;
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      const dx = fx - x0;
      const dy = fy - y0;
      const xa = Math.max(x0, 0);
      const xb = Math.min(x0 + 1, W - 1);
      const ya = Math.max(y0, 0) * W;
      const yb = Math.min(y0 + 1, H - 1) * W;
      const p00 = (ya + xa) * C;
      const p01 = (ya + xb) * C;
      const p10 = (yb + xa) * C;
      const p11 = (yb + xb) * C;
      for (let k = 0; k < C; k++) {
        // a + (b - a) * t, PIL's form: exact when t is 0, so grid-aligned warps copy pixels.
        const top = src[p00 + k]! + (src[p01 + k]! - src[p00 + k]!) * dx;
        const bottom = src[p10 + k]! + (src[p11 + k]! - src[p10 + k]!) * dx;
        dst[o + k] = top + (bottom - top) * dy;
      }
    }
  }
  return out;
}

/** PIL rounds the trigonometry to 15 decimals so that right angles are exact. */
function round15(v: number): number {
  return Math.round(v * 1e15) / 1e15;
}

/**
 * Counter-clockwise rotation by `degrees` about the image centre, keeping the
 * size (PIL's `Image.rotate`). 0 returns the input itself.
 */
export function rotate(image: ImageHWC, degrees: number, options: WarpOptions = {}): ImageHWC {
  checkFinite(degrees, 'degrees', 'rotate');
  if (degrees % 360 === 0) {
    checkImage(image, 'rotate');
    return image;
  }
  const theta = (-degrees * Math.PI) / 180;
  const cos = round15(Math.cos(theta));
  const sin = round15(Math.sin(theta));
  const cx = image.width / 2;
  const cy = image.height / 2;
  // input = R(theta) (p - centre) + centre
  return warpAffine(
    image,
    [cos, sin, cx - cos * cx - sin * cy, -sin, cos, cy + sin * cx - cos * cy],
    options,
  );
}

/**
 * Shear along x about the top edge: content at height v (from the top, in
 * pixels) moves right by `factor * v`. PIL's/timm's shear_x moves it left;
 * RandAugment draws the sign at random, so the distribution is the same.
 */
export function shearX(image: ImageHWC, factor: number, options: WarpOptions = {}): ImageHWC {
  checkFinite(factor, 'factor', 'shearX');
  return warpAffine(image, [1, -factor, 0, 0, 1, 0], options);
}

/** Shear along y about the left edge: content at x moves down by `factor * x`. */
export function shearY(image: ImageHWC, factor: number, options: WarpOptions = {}): ImageHWC {
  checkFinite(factor, 'factor', 'shearY');
  return warpAffine(image, [1, 0, 0, -factor, 1, 0], options);
}

/** Content moves right by `pixels` (may be fractional; left when negative). */
export function translateX(image: ImageHWC, pixels: number, options: WarpOptions = {}): ImageHWC {
  checkFinite(pixels, 'pixels', 'translateX');
  return warpAffine(image, [1, 0, -pixels, 0, 1, 0], options);
}

/** Content moves down by `pixels` (may be fractional; up when negative). */
export function translateY(image: ImageHWC, pixels: number, options: WarpOptions = {}): ImageHWC {
  checkFinite(pixels, 'pixels', 'translateY');
  return warpAffine(image, [1, 0, 0, 0, 1, -pixels], options);
}
