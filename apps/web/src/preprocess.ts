/**
 * A drawn digit -> the 28x28 input MNIST digits look like. MNIST's digits were
 * size-normalized to fit a 20x20 box (aspect ratio kept, anti-aliased) and then
 * placed in a 28x28 field with their centre of mass at the centre; a model
 * trained on them reads a raw canvas badly, so the canvas gets the same
 * treatment.
 */

export const SIDE = 28;
export const BOX = 20;
/** Grey levels at or below this count as background when finding the ink's bounding box. */
export const INK = 0.05;

/** Grey levels 0..1 from RGBA pixels (white ink on black: the brightest channel, times alpha). */
export function greyFromRgba(rgba: Uint8ClampedArray | Uint8Array, pixels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const o = i * 4;
    out[i] = (Math.max(rgba[o]!, rgba[o + 1]!, rgba[o + 2]!) / 255) * (rgba[o + 3]! / 255);
  }
  return out;
}

/** The ink's bounding box: columns x0..x0+w-1 and rows y0..y0+h-1 of the canvas. */
export interface InkBox {
  readonly x0: number;
  readonly y0: number;
  readonly w: number;
  readonly h: number;
}

/**
 * The smallest box holding every pixel brighter than INK, or null when there
 * is none. Throws, naming the pixel, on a grey level that is not a number from
 * 0 to 1: one NaN would otherwise spread through every average it enters.
 */
export function inkBox(grey: Float32Array, width: number, height: number): InkBox | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = grey[y * width + x]!;
      if (!(v >= 0 && v <= 1)) {
        throw new Error(
          `toMnistInput: pixel (${x}, ${y}) is ${v}; grey levels must be numbers from 0 to 1`,
        );
      }
      if (v > INK) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/** Target pixel j of a resample: source pixels from..from+w.length-1 (box-relative) and their weights. */
interface Taps {
  readonly from: number;
  readonly w: readonly number[];
}

/**
 * Weights of an area-averaging resample of `n` source pixels onto `m` target
 * pixels: each target pixel averages the source span it covers, partial pixels
 * weighted by overlap. This is what keeps thin strokes visible when a 200 px
 * drawing shrinks to 20 px.
 *
 * Measured in units of 1/m of a source pixel every edge is a whole number:
 * source pixel i spans [i*m, (i+1)*m), target pixel j spans [j*n, (j+1)*n).
 * So the overlaps are exact integers, each target's taps stop at the last
 * source pixel it touches (never one past the box, as a floating-point span
 * end rounded up with Math.ceil did), and the weights of a target sum to n/n.
 */
function areaWeights(n: number, m: number): Taps[] {
  return Array.from({ length: m }, (_, j) => {
    const lo = j * n;
    const hi = lo + n;
    // Exact: both are integers, and a quotient that is not whole is at least 1/m from one.
    const from = Math.floor(lo / m);
    const to = Math.ceil(hi / m); // <= n, since hi <= m * n
    const w: number[] = [];
    for (let i = from; i < to; i++) w.push((Math.min(hi, (i + 1) * m) - Math.max(lo, i * m)) / n);
    return { from, w };
  });
}

/** The ink box area-averaged to BOX on its longer side (aspect ratio kept), row-major w x h. */
export interface Resized {
  readonly pixels: Float64Array;
  readonly w: number;
  readonly h: number;
}

/**
 * Resizes the ink box to fit BOX x BOX. Each target pixel is the mean of the
 * source area it covers, so the total ink is kept up to the change of area:
 * sum(pixels) = sum(box) * (w * h) / (box.w * box.h). Separable (the width
 * first, every row of the box, then the height), in double precision.
 */
export function resizeInk(grey: Float32Array, width: number, box: InkBox): Resized {
  const scale = BOX / Math.max(box.w, box.h);
  const sw = Math.max(1, Math.round(box.w * scale));
  const sh = Math.max(1, Math.round(box.h * scale));
  const cols = areaWeights(box.w, sw);
  const rows = areaWeights(box.h, sh);
  const narrow = new Float64Array(box.h * sw);
  for (let y = 0; y < box.h; y++) {
    const src = (box.y0 + y) * width + box.x0;
    cols.forEach(({ from, w }, j) => {
      let v = 0;
      for (let k = 0; k < w.length; k++) v += grey[src + from + k]! * w[k]!;
      narrow[y * sw + j] = v;
    });
  }
  const pixels = new Float64Array(sh * sw);
  rows.forEach(({ from, w }, i) => {
    for (let x = 0; x < sw; x++) {
      let v = 0;
      for (let k = 0; k < w.length; k++) v += narrow[(from + k) * sw + x]! * w[k]!;
      pixels[i * sw + x] = v;
    }
  });
  return { pixels, w: sw, h: sh };
}

/**
 * Where the resized ink goes in the 28x28 field: the whole-pixel offset that
 * puts its centre of mass nearest the field's centre (rounded, as MNIST's was),
 * clamped so that every pixel of it stays in the field. A digit-like shape is
 * never clamped (its mass centre is near the middle of its box); a lopsided one
 * keeps all its ink and lands as close to the centre as it can.
 */
export function placeByMass(r: Resized): { dx: number; dy: number } {
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < r.h; y++) {
    for (let x = 0; x < r.w; x++) {
      const v = r.pixels[y * r.w + x]!;
      mass += v;
      // Pixel (x, y) has its centre at (x + 0.5, y + 0.5).
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const clamp = (d: number, size: number) => Math.min(SIDE - size, Math.max(0, d));
  return {
    dx: clamp(Math.round(SIDE / 2 - mx / mass), r.w),
    dy: clamp(Math.round(SIDE / 2 - my / mass), r.h),
  };
}

/**
 * The 28x28 model input (row-major, 0..1, white on black, brightest pixel 1)
 * for a grey image of a drawn digit, or null when nothing is drawn.
 */
export function toMnistInput(
  grey: Float32Array,
  width: number,
  height: number,
): Float32Array | null {
  if (grey.length !== width * height) {
    throw new Error(`toMnistInput: ${grey.length} values for a ${width}x${height} image`);
  }
  const box = inkBox(grey, width, height);
  if (!box) return null;
  const small = resizeInk(grey, width, box);
  let max = 0;
  for (const v of small.pixels) if (v > max) max = v;
  const { dx, dy } = placeByMass(small);
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < small.h; y++) {
    for (let x = 0; x < small.w; x++) {
      out[(y + dy) * SIDE + x + dx] = small.pixels[y * small.w + x]! / max;
    }
  }
  return out;
}

/** A sample's 0..255 rows as the 0..1 model input. */
export function fromRows(rows: readonly (readonly number[])[]): Float32Array {
  return Float32Array.from(rows.flat(), (v) => v / 255);
}
