/**
 * Resizing with half-pixel centres (align_corners = false): output pixel i
 * samples input coordinate (i + 0.5) * in / out - 0.5, clamped to the edge
 * pixels, as torch's `interpolate(..., align_corners=False)` and TF's
 * `tf.image.resize` do. Separable: one pass along x, one along y.
 */
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

interface Taps {
  readonly perOutput: number;
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/** Filter taps mapping `outSize` positions onto input positions `start .. start + inSize - 1`. */
function axisTaps(
  start: number,
  inSize: number,
  outSize: number,
  method: ResizeMethod,
  antialias: boolean,
): Taps {
  const scale = inSize / outSize;
  if (method === 'nearest') {
    const index = new Int32Array(outSize);
    for (let i = 0; i < outSize; i++) {
      index[i] = start + Math.min(Math.floor((i + 0.5) * scale), inSize - 1);
    }
    return { perOutput: 1, index, weight: new Float64Array(outSize).fill(1) };
  }
  if (!antialias || scale <= 1) {
    const index = new Int32Array(2 * outSize);
    const weight = new Float64Array(2 * outSize);
    for (let i = 0; i < outSize; i++) {
      const src = Math.max((i + 0.5) * scale - 0.5, 0);
      const i0 = Math.min(Math.floor(src), inSize - 1);
      const f = src - i0;
      index[2 * i] = start + i0;
      index[2 * i + 1] = start + Math.min(i0 + 1, inSize - 1);
      weight[2 * i] = 1 - f;
      weight[2 * i + 1] = f;
    }
    return { perOutput: 2, index, weight };
  }
  // PIL's triangle filter stretched by the scale, clipped to the image and
  // renormalised there.
  const perOutput = Math.ceil(scale) * 2 + 1;
  const index = new Int32Array(perOutput * outSize);
  const weight = new Float64Array(perOutput * outSize);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(Math.floor(center - scale + 0.5), 0);
    const hi = Math.min(Math.floor(center + scale + 0.5), inSize);
    let total = 0;
    for (let j = lo; j < hi; j++) total += Math.max(0, 1 - Math.abs((j + 0.5 - center) / scale));
    for (let t = 0; t < perOutput; t++) {
      const j = lo + t;
      index[i * perOutput + t] = start + Math.min(j, inSize - 1);
      weight[i * perOutput + t] =
        j < hi ? Math.max(0, 1 - Math.abs((j + 0.5 - center) / scale)) / total : 0;
    }
  }
  return { perOutput, index, weight };
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
  if (
    ![top, left, height, width].every(Number.isInteger) ||
    top < 0 ||
    left < 0 ||
    height < 1 ||
    width < 1 ||
    top + height > image.height ||
    left + width > image.width
  ) {
    throw new RangeError(
      `${who}: window top=${top} left=${left} ${height}x${width} is not inside the image ${image.height}x${image.width}`,
    );
  }
  const antialias = options.antialias ?? false;
  const c = image.channels;
  const rowStride = image.width * c;
  const src = image.data;
  const xs = axisTaps(left, width, outWidth, method, antialias);
  const ys = axisTaps(top, height, outHeight, method, antialias);

  // Pass 1: along x for the window's rows only. Taps in locals: property
  // loads inside these loops cost more than the arithmetic.
  const xn = xs.perOutput;
  const xi = xs.index;
  const xw = xs.weight;
  const tmp = new Float64Array(height * outWidth * c);
  for (let y = 0; y < height; y++) {
    const srcRow = (top + y) * rowStride;
    for (let x = 0; x < outWidth; x++) {
      const t0 = x * xn;
      const o = (y * outWidth + x) * c;
      for (let t = t0; t < t0 + xn; t++) {
        const w = xw[t]!;
        if (w === 0) continue;
        const s = srcRow + xi[t]! * c;
        for (let k = 0; k < c; k++) tmp[o + k]! += w * src[s + k]!;
      }
    }
  }
  // Pass 2: along y.
  const yn = ys.perOutput;
  const yi = ys.index;
  const yw = ys.weight;
  const out = newImage(outHeight, outWidth, c);
  const dst = out.data;
  const tmpRow = outWidth * c;
  const acc = new Float64Array(tmpRow);
  for (let y = 0; y < outHeight; y++) {
    acc.fill(0);
    const t0 = y * yn;
    for (let t = t0; t < t0 + yn; t++) {
      const w = yw[t]!;
      if (w === 0) continue;
      const s = (yi[t]! - top) * tmpRow;
      for (let i = 0; i < tmpRow; i++) acc[i]! += w * tmp[s + i]!;
    }
    dst.set(acc, y * tmpRow);
  }
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
