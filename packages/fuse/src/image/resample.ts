/**
 * Separable resampling of an HWC image window: one pass along x over the
 * window's rows, one along y, as PIL's `Image.resize` runs them. In 8-bit mode
 * the arithmetic is PIL's for 8-bit images: weights in 22-bit fixed point,
 * each pass rounded and clipped to 0..255 before the next, so the result is
 * PIL's byte for byte; in float mode nothing is rounded between the passes.
 */
import type { ResampleFilter } from './filters.js';
import { type AxisTaps, axisTaps } from './taps.js';

export interface PixelWindow {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

export interface ResampleOptions {
  readonly filter: ResampleFilter;
  /** Stretch the kernel when shrinking (PIL always does). Default true. No effect on the nearest filters. */
  readonly antialias?: boolean;
}

interface Pixels<T> {
  readonly data: T;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
}

type Bytes = Uint8Array | Uint8ClampedArray;
type Writable = Float32Array | Float64Array | Uint8Array;

const PRECISION_BITS = 22;
const ONE = 2 ** PRECISION_BITS;
const CLIP_HIGH = 256 * ONE;

/** PIL's `clip8`: a fixed-point sum (with its rounding half already added) to a byte. */
function clip8(v: number): number {
  return v >= CLIP_HIGH ? 255 : v <= 0 ? 0 : Math.floor(v / ONE);
}

/** PIL's `normalize_coeffs_8bpc`: round half away from zero into fixed point. */
function fixedPoint(taps: AxisTaps): AxisTaps {
  const weight = taps.weight.map((w) =>
    w < 0 ? Math.trunc(w * ONE - 0.5) : Math.trunc(w * ONE + 0.5),
  );
  return { ...taps, weight };
}

/**
 * Resamples one axis: out[o][i][p] = sum over taps t of w(i, t) *
 * src[offset + o * outerStride + (first(i) + t) * axisStride + p], for
 * `outer` blocks of `inner` contiguous values. With `fixed`, weights are
 * integers scaled by 2^22 and each result is rounded and clipped to a byte.
 */
function resampleAxis(
  src: ArrayLike<number>,
  offset: number,
  outer: number,
  outerStride: number,
  axisStride: number,
  inner: number,
  taps: AxisTaps,
  out: Writable,
  fixed: boolean,
): void {
  const { perOutput, first, count, weight } = taps;
  const outSize = first.length;
  const acc = new Float64Array(inner);
  const start = fixed ? ONE / 2 : 0;
  for (let o = 0; o < outer; o++) {
    const srcBase = offset + o * outerStride;
    for (let i = 0; i < outSize; i++) {
      const t0 = i * perOutput;
      const from = srcBase + first[i]! * axisStride;
      const n = count[i]!;
      const dst = (o * outSize + i) * inner;
      if (inner <= 4) {
        // Along x, `inner` is the channel count: a scalar sum per channel
        // beats filling and copying a 3-element accumulator.
        for (let p = 0; p < inner; p++) {
          let v = start;
          for (let t = 0; t < n; t++) v += weight[t0 + t]! * src[from + t * axisStride + p]!;
          out[dst + p] = fixed ? clip8(v) : v;
        }
        continue;
      }
      acc.fill(start);
      for (let t = 0; t < n; t++) {
        const w = weight[t0 + t]!;
        if (w === 0) continue;
        const s = from + t * axisStride;
        for (let p = 0; p < inner; p++) acc[p]! += w * src[s + p]!;
      }
      if (fixed) for (let p = 0; p < inner; p++) out[dst + p] = clip8(acc[p]!);
      else out.set(acc, dst);
    }
  }
}

function checkWindow(image: Pixels<unknown>, window: PixelWindow, who: string): void {
  const { top, left, height, width } = window;
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
}

function resampleInto(
  image: Pixels<ArrayLike<number>>,
  window: PixelWindow,
  out: Pixels<Writable>,
  options: ResampleOptions,
  fixed: boolean,
  tmp: Writable,
): void {
  const c = image.channels;
  const rowStride = image.width * c;
  const antialias = options.antialias ?? true;
  let xs = axisTaps(window.width, out.width, options.filter, { antialias });
  let ys = axisTaps(window.height, out.height, options.filter, { antialias });
  if (fixed) {
    xs = fixedPoint(xs);
    ys = fixedPoint(ys);
  }
  const tmpRow = out.width * c;
  // Along x for the window's rows, then along y over the intermediate rows.
  resampleAxis(
    image.data,
    window.top * rowStride + window.left * c,
    window.height,
    rowStride,
    c,
    c,
    xs,
    tmp,
    fixed,
  );
  resampleAxis(tmp, 0, 1, 0, tmpRow, tmpRow, ys, out.data, fixed);
}

/**
 * The window of a float HWC image resampled into `out` (its height, width
 * and channels set the output; channels must match). Taps never reach
 * outside the window, as when the window is cropped out first.
 */
export function resampleFloat(
  image: Pixels<ArrayLike<number>>,
  window: PixelWindow,
  out: Pixels<Float32Array | Float64Array>,
  options: ResampleOptions,
  who = 'resample',
): void {
  checkWindow(image, window, who);
  resampleInto(
    image,
    window,
    out,
    options,
    false,
    new Float64Array(window.height * out.width * image.channels),
  );
}

/** `resampleFloat` for 8-bit images, with PIL's fixed-point arithmetic and rounding. */
export function resampleBytes(
  image: Pixels<Bytes>,
  window: PixelWindow,
  height: number,
  width: number,
  options: ResampleOptions,
  who = 'resample',
): Pixels<Uint8Array> {
  checkWindow(image, window, who);
  const c = image.channels;
  const out = { data: new Uint8Array(height * width * c), height, width, channels: c };
  resampleInto(image, window, out, options, true, new Uint8Array(window.height * width * c));
  return out;
}
