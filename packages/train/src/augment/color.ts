/**
 * PIL's ImageOps and ImageEnhance on float images in 0..1. Where PIL would
 * write bytes (clipping to 0..255) these clamp their results to 0..1; unlike
 * PIL they do not round to 1/255 steps, except posterize and equalize, which
 * are defined on 256 levels (a value x is level round(255 x), after clamping).
 * Grayscale is ITU-R 601-2 luma, 0.299 R + 0.587 G + 0.114 B, as PIL's
 * convert('L'). The enhance ops take 1 or 3 channels; the others any number.
 * A factor or parameter that leaves the image unchanged returns the input itself.
 */
import type { ImageHWC } from '../data/types.js';
import { checkFinite, checkImage, clamp01, newImage } from './image.js';

const LUMA_R = 0.299;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

function checkGrayOrRgb(image: ImageHWC, who: string): void {
  checkImage(image, who);
  if (image.channels !== 1 && image.channels !== 3) {
    throw new RangeError(`${who}: needs 1 or 3 channels (gray or RGB), got ${image.channels}`);
  }
}

// Each enhance op is PIL's Image.blend(degenerate, image, factor), clipped:
// d + factor (x - d), with the degenerate image d computed on the fly rather
// than allocated.

/** Scales towards black: 0 gives black, 1 the image, above 1 brighter (clipped). */
export function brightness(image: ImageHWC, factor: number): ImageHWC {
  checkFinite(factor, 'factor', 'brightness');
  checkGrayOrRgb(image, 'brightness');
  if (factor === 1) return image;
  const out = newImage(image.height, image.width, image.channels);
  const src = image.data;
  const dst = out.data;
  for (let i = 0; i < src.length; i++) dst[i] = clamp01(factor * src[i]!);
  return out;
}

/** Mean luma of the image (of the values, for one channel). */
function meanLuma(image: ImageHWC): number {
  const src = image.data;
  let sum = 0;
  if (image.channels === 1) {
    for (let i = 0; i < src.length; i++) sum += src[i]!;
  } else {
    for (let i = 0; i < src.length; i += 3) {
      sum += LUMA_R * src[i]! + LUMA_G * src[i + 1]! + LUMA_B * src[i + 2]!;
    }
  }
  return sum / (image.height * image.width);
}

/** Scales towards the mean luma, a flat gray: 0 gives that gray, 1 the image. */
export function contrast(image: ImageHWC, factor: number): ImageHWC {
  checkFinite(factor, 'factor', 'contrast');
  checkGrayOrRgb(image, 'contrast');
  if (factor === 1) return image;
  // PIL rounds this mean to a whole byte; kept exact here.
  const mean = meanLuma(image);
  const out = newImage(image.height, image.width, image.channels);
  const src = image.data;
  const dst = out.data;
  for (let i = 0; i < src.length; i++) dst[i] = clamp01(mean + factor * (src[i]! - mean));
  return out;
}

/**
 * Saturation: scales towards the image's own grayscale (0 gives it, 1 the
 * image). One channel has no colour: returns the input.
 */
export function color(image: ImageHWC, factor: number): ImageHWC {
  checkFinite(factor, 'factor', 'color');
  checkGrayOrRgb(image, 'color');
  if (factor === 1 || image.channels === 1) return image;
  const out = newImage(image.height, image.width, 3);
  const src = image.data;
  const dst = out.data;
  for (let i = 0; i < src.length; i += 3) {
    const r = src[i]!;
    const g = src[i + 1]!;
    const b = src[i + 2]!;
    const l = LUMA_R * r + LUMA_G * g + LUMA_B * b;
    dst[i] = clamp01(l + factor * (r - l));
    dst[i + 1] = clamp01(l + factor * (g - l));
    dst[i + 2] = clamp01(l + factor * (b - l));
  }
  return out;
}

/**
 * Scales away from PIL's SMOOTH filter (3x3 weights 1 1 1 / 1 5 1 / 1 1 1,
 * over 13; border pixels left as they are): 0 gives the smoothed image, 1
 * the image, 2 a sharpened one.
 */
export function sharpness(image: ImageHWC, factor: number): ImageHWC {
  checkFinite(factor, 'factor', 'sharpness');
  checkGrayOrRgb(image, 'sharpness');
  if (factor === 1) return image;
  const { height: H, width: W, channels: C, data: src } = image;
  const out = newImage(H, W, C);
  const dst = out.data;
  const row = W * C;
  // The border blends the image with itself.
  for (let i = 0; i < src.length; i++) dst[i] = clamp01(src[i]!);
  for (let y = 1; y < H - 1; y++) {
    for (let x = 1; x < W - 1; x++) {
      const p = y * row + x * C;
      for (let k = 0; k < C; k++) {
        const q = p + k;
        const ring =
          src[q - row - C]! +
          src[q - row]! +
          src[q - row + C]! +
          src[q - C]! +
          src[q + C]! +
          src[q + row - C]! +
          src[q + row]! +
          src[q + row + C]!;
        const smooth = (ring + 5 * src[q]!) / 13;
        dst[q] = clamp01(smooth + factor * (src[q]! - smooth));
      }
    }
  }
  return out;
}

/**
 * Stretches each channel so its minimum becomes 0 and its maximum 1 (PIL's
 * autocontrast with cutoff 0); a constant channel is left as it is.
 */
export function autoContrast(image: ImageHWC): ImageHWC {
  checkImage(image, 'autoContrast');
  const { channels: C, data: src } = image;
  const out = newImage(image.height, image.width, C);
  const dst = out.data;
  for (let k = 0; k < C; k++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = k; i < src.length; i += C) {
      const v = src[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi <= lo) {
      for (let i = k; i < src.length; i += C) dst[i] = src[i]!;
      continue;
    }
    const scale = 1 / (hi - lo);
    for (let i = k; i < src.length; i += C) dst[i] = clamp01((src[i]! - lo) * scale);
  }
  return out;
}

/** The 8-bit level of a value: round(255 x) after clamping to 0..1. */
function level(v: number): number {
  return Math.round(clamp01(v) * 255);
}

/**
 * Histogram equalization per channel on 256 levels, PIL's algorithm exactly:
 * level i maps to floor((step / 2 + count(levels < i)) / step) / 255, where
 * step = floor((pixels - count(highest used level)) / 256). A channel with a
 * single used level, or too few pixels for step to reach 1, is left as it is.
 */
export function equalize(image: ImageHWC): ImageHWC {
  checkImage(image, 'equalize');
  const { channels: C, data: src } = image;
  const out = newImage(image.height, image.width, C);
  const dst = out.data;
  const histogram = new Int32Array(256);
  const lut = new Float32Array(256);
  for (let k = 0; k < C; k++) {
    histogram.fill(0);
    for (let i = k; i < src.length; i += C) histogram[level(src[i]!)]! += 1;
    let used = 0;
    let last = 0;
    for (let i = 0; i < 256; i++) {
      if (histogram[i]! > 0) {
        used++;
        last = histogram[i]!;
      }
    }
    const step = Math.floor((image.height * image.width - last) / 256);
    if (used <= 1 || step === 0) {
      for (let i = k; i < src.length; i += C) dst[i] = src[i]!;
      continue;
    }
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      lut[i] = Math.min(Math.floor(n / step), 255) / 255;
      n += histogram[i]!;
    }
    for (let i = k; i < src.length; i += C) dst[i] = lut[level(src[i]!)]!;
  }
  return out;
}

/**
 * Inverts (x -> 1 - x, clamped) every value at or above `threshold`; a
 * threshold above every value returns the input.
 */
export function solarize(image: ImageHWC, threshold: number): ImageHWC {
  checkFinite(threshold, 'threshold', 'solarize');
  checkImage(image, 'solarize');
  const src = image.data;
  let any = false;
  for (let i = 0; i < src.length && !any; i++) any = src[i]! >= threshold;
  if (!any) return image;
  const out = newImage(image.height, image.width, image.channels);
  const dst = out.data;
  for (let i = 0; i < src.length; i++) {
    const v = src[i]!;
    dst[i] = v >= threshold ? clamp01(1 - v) : v;
  }
  return out;
}

/**
 * Keeps the top `bits` bits of each value's 8-bit level (PIL's posterize),
 * `bits` in 0..8; 8 returns the input unquantized.
 */
export function posterize(image: ImageHWC, bits: number): ImageHWC {
  if (!Number.isInteger(bits) || bits < 0 || bits > 8) {
    throw new RangeError(`posterize: bits must be an integer in [0, 8], got ${bits}`);
  }
  checkImage(image, 'posterize');
  if (bits === 8) return image;
  const mask = (0xff << (8 - bits)) & 0xff;
  const src = image.data;
  const out = newImage(image.height, image.width, image.channels);
  const dst = out.data;
  for (let i = 0; i < src.length; i++) dst[i] = (level(src[i]!) & mask) / 255;
  return out;
}
