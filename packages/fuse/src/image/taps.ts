/**
 * The weights with which one axis of an image is resampled, computed as PIL's
 * resample does (`precompute_coeffs` in Resample.c): output i is centred on
 * input coordinate (i + 0.5) * in / out, the kernel is stretched by the scale
 * when shrinking (antialiasing), taps outside the image are dropped and the
 * rest renormalised to sum to one.
 */
import { filterKernel, type ResampleFilter } from './filters.js';

export interface AxisTaps {
  /** Taps reserved per output position (some trailing ones may be unused). */
  readonly perOutput: number;
  /** First input index of each output position. */
  readonly first: Int32Array;
  /** How many taps each output position uses, from `first` on. */
  readonly count: Int32Array;
  /** `perOutput` weights per output position; the first `count` are used. */
  readonly weight: Float64Array;
}

export interface AxisTapsOptions {
  /**
   * Stretch the kernel by the scale when shrinking, so every input pixel
   * contributes (PIL, torchvision's antialias=True). Default true. Without
   * it a bilinear shrink is the 2-tap half-pixel sampling of TF's resize.
   */
  readonly antialias?: boolean;
}

/** One tap of weight 1 per output position (see ResampleFilter for the two rules). */
function nearestTaps(inSize: number, outSize: number, pil: boolean): AxisTaps {
  const scale = inSize / outSize;
  const first = new Int32Array(outSize);
  let x = scale * 0.5;
  for (let i = 0; i < outSize; i++) {
    first[i] = Math.min(pil ? Math.trunc(x) : Math.floor((i + 0.5) * scale), inSize - 1);
    x += scale;
  }
  return {
    perOutput: 1,
    first,
    count: new Int32Array(outSize).fill(1),
    weight: new Float64Array(outSize).fill(1),
  };
}

export function axisTaps(
  inSize: number,
  outSize: number,
  filter: ResampleFilter,
  options: AxisTapsOptions = {},
): AxisTaps {
  if (filter === 'nearest' || filter === 'nearest-exact') {
    return nearestTaps(inSize, outSize, filter === 'nearest');
  }
  const kernel = filterKernel(filter);
  const scale = inSize / outSize;
  const stretch = (options.antialias ?? true) ? Math.max(scale, 1) : 1;
  const support = kernel.support * stretch;
  const perOutput = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weight = new Float64Array(perOutput * outSize);
  const inverse = 1 / stretch;
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // PIL truncates toward zero then clamps; both agree with floor once clamped at 0.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const base = i * perOutput;
    let total = 0;
    for (let j = lo; j < hi; j++) {
      const w = kernel.weight((j - center + 0.5) * inverse);
      weight[base + j - lo] = w;
      total += w;
    }
    if (total !== 0) for (let t = 0; t < hi - lo; t++) weight[base + t]! /= total;
    first[i] = lo;
    count[i] = hi - lo;
  }
  return { perOutput, first, count, weight };
}
