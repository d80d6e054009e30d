/**
 * Crops with torchvision's semantics: RandomCrop pads then takes a uniformly
 * placed window; CenterCrop rounds the offset like Python's round().
 */
import type { ImageHWC, Transform } from '../data/types.js';
import type { Rng } from '../random.js';
import {
  checkImage,
  type Fill,
  fillVector,
  newImage,
  parseSize,
  roundHalfEven,
  type Size,
} from './image.js';

/**
 * Where a crop window leaves the image: `'constant'` writes `fill`;
 * `'reflect'` mirrors about the edge pixel without repeating it (numpy/torch
 * 'reflect': row -1 reads row 1).
 */
export type PaddingMode = 'constant' | 'reflect';

/** Pixels to add: all sides, `[leftRight, topBottom]`, or `[left, top, right, bottom]` (torchvision's order). */
export type Padding =
  | number
  | readonly [number, number]
  | readonly [number, number, number, number];

export interface CropOptions {
  /** Value(s) for `'constant'` padding; default 0 (torchvision's). */
  readonly fill?: Fill;
  readonly paddingMode?: PaddingMode;
}

export interface RandomCropOptions extends CropOptions {
  readonly padding?: Padding;
}

function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

/** Source index of each of `count` positions from `start`, -1 where the fill applies. */
function sourceIndices(start: number, count: number, n: number, mode: PaddingMode): Int32Array {
  const map = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const i = start + k;
    map[k] = i >= 0 && i < n ? i : mode === 'reflect' ? reflectIndex(i, n) : -1;
  }
  return map;
}

/**
 * The `height` x `width` window whose top-left pixel is (`top`, `left`) in
 * image coordinates; parts outside the image are padded per `paddingMode`.
 */
export function crop(
  image: ImageHWC,
  top: number,
  left: number,
  height: number,
  width: number,
  options: CropOptions = {},
): ImageHWC {
  const who = 'crop';
  checkImage(image, who);
  for (const [name, v] of [
    ['top', top],
    ['left', left],
  ] as const) {
    if (!Number.isInteger(v)) throw new RangeError(`${who}: ${name} must be an integer, got ${v}`);
  }
  parseSize([height, width], who);
  const mode = options.paddingMode ?? 'constant';
  if (mode !== 'constant' && mode !== 'reflect') {
    throw new RangeError(`${who}: paddingMode must be 'constant' or 'reflect', got '${mode}'`);
  }
  const c = image.channels;
  const fill = fillVector(options.fill ?? 0, c, who);
  const rows = sourceIndices(top, height, image.height, mode);
  const cols = sourceIndices(left, width, image.width, mode);
  const out = newImage(height, width, c);
  const src = image.data;
  const dst = out.data;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const sy = rows[y]!;
    for (let x = 0; x < width; x++) {
      const sx = cols[x]!;
      if (sy < 0 || sx < 0) {
        for (let k = 0; k < c; k++) dst[o++] = fill[k]!;
      } else {
        const s = (sy * image.width + sx) * c;
        for (let k = 0; k < c; k++) dst[o++] = src[s + k]!;
      }
    }
  }
  return out;
}

function parsePadding(padding: Padding, who: string): [number, number, number, number] {
  const p: readonly number[] = typeof padding === 'number' ? [padding] : padding;
  if (
    !Array.isArray(p) ||
    ![1, 2, 4].includes(p.length) ||
    !p.every((v) => Number.isInteger(v) && v >= 0)
  ) {
    throw new RangeError(
      `${who}: padding must be a non-negative integer, [leftRight, topBottom] or [left, top, right, bottom], got ${JSON.stringify(padding)}`,
    );
  }
  if (p.length === 1) return [p[0]!, p[0]!, p[0]!, p[0]!];
  if (p.length === 2) return [p[0]!, p[1]!, p[0]!, p[1]!];
  return [p[0]!, p[1]!, p[2]!, p[3]!];
}

/**
 * torchvision's RandomCrop: pad by `padding`, then crop a `size` window at a
 * uniform offset (top drawn first, then left: two rng draws per image).
 */
export function randomCrop(size: Size, options: RandomCropOptions = {}): Transform {
  const who = 'randomCrop';
  const [th, tw] = parseSize(size, who);
  const [pl, pt, pr, pb] = parsePadding(options.padding ?? 0, who);
  const mode = options.paddingMode ?? 'constant';
  if (mode !== 'constant' && mode !== 'reflect') {
    throw new RangeError(`${who}: paddingMode must be 'constant' or 'reflect', got '${mode}'`);
  }
  const cropOptions: CropOptions = { fill: options.fill ?? 0, paddingMode: mode };
  return (image: ImageHWC, rng: Rng) => {
    checkImage(image, who);
    const ph = image.height + pt + pb;
    const pw = image.width + pl + pr;
    if (th > ph || tw > pw) {
      throw new RangeError(
        `${who}: size [${th}, ${tw}] is larger than the padded image ${ph}x${pw} (image ${image.height}x${image.width}, padding [${pl}, ${pt}, ${pr}, ${pb}])`,
      );
    }
    // Reflection past the far edge would mirror twice, which torch refuses too.
    if (
      mode === 'reflect' &&
      (Math.max(pt, pb) >= image.height || Math.max(pl, pr) >= image.width)
    ) {
      throw new RangeError(
        `${who}: reflect padding [${pl}, ${pt}, ${pr}, ${pb}] must be smaller than the image ${image.height}x${image.width}`,
      );
    }
    const top = rng.int(ph - th + 1);
    const left = rng.int(pw - tw + 1);
    return crop(image, top - pt, left - pl, th, tw, cropOptions);
  };
}

/**
 * torchvision's CenterCrop; a window larger than the image is zero-padded
 * (the extra odd pixel going to the bottom/right).
 */
export function centerCrop(size: Size): Transform {
  const who = 'centerCrop';
  const [th, tw] = parseSize(size, who);
  const offset = (n: number, t: number) =>
    t > n ? -Math.floor((t - n) / 2) : roundHalfEven((n - t) / 2);
  return (image: ImageHWC) => {
    checkImage(image, who);
    if (image.height === th && image.width === tw) return image;
    return crop(image, offset(image.height, th), offset(image.width, tw), th, tw);
  };
}
