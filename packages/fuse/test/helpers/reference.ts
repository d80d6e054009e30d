/**
 * Naive float64 reference operators for the tests: slow, obvious, and
 * independent of the fold code (they read OIHW kernels with plain indexing).
 */
import type { BatchNorm, Kernel } from '../../src/index.js';

/** A CHW activation (batch of one). */
export interface Tensor3 {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly data: Float64Array;
}

export interface ConvOptions {
  readonly stride?: number;
  /** [top, bottom, left, right]; zero padding unless `padValue` is given. */
  readonly pad?: readonly [number, number, number, number];
  readonly groups?: number;
  /** Per-input-channel value written into the padding (DBB's BN-and-pad). */
  readonly padValue?: Float64Array | Float32Array;
}

/** Symmetric (k-1)/2 padding for a kernel of kh x kw. */
export function samePad(kh: number, kw: number): [number, number, number, number] {
  return [(kh - 1) / 2, (kh - 1) / 2, (kw - 1) / 2, (kw - 1) / 2];
}

/** y[o, y, x] = sum_{i in group(o), r, s} W[o, i, r, s] * xpad[g*ipg + i, y*st + r, x*st + s] */
export function conv2d(
  x: Tensor3,
  kernel: Kernel<'OIHW'>,
  opts: ConvOptions = {},
  bias?: Float32Array | Float64Array,
): Tensor3 {
  const [O, ipg, kh, kw] = kernel.shape;
  const stride = opts.stride ?? 1;
  const [pt, pb, pl, pr] = opts.pad ?? [0, 0, 0, 0];
  const groups = opts.groups ?? 1;
  if (ipg * groups !== x.c)
    throw new Error(`reference conv2d: kernel reads ${ipg}x${groups}, input has ${x.c}`);
  const opg = O / groups;
  const H = x.h + pt + pb;
  const W = x.w + pl + pr;
  const ho = Math.floor((H - kh) / stride) + 1;
  const wo = Math.floor((W - kw) / stride) + 1;
  const at = (c: number, yy: number, xx: number): number => {
    const y0 = yy - pt;
    const x0 = xx - pl;
    if (y0 < 0 || y0 >= x.h || x0 < 0 || x0 >= x.w) return opts.padValue ? opts.padValue[c]! : 0;
    return x.data[(c * x.h + y0) * x.w + x0]!;
  };
  const out = new Float64Array(O * ho * wo);
  for (let o = 0; o < O; o++) {
    const g = Math.floor(o / opg);
    for (let yy = 0; yy < ho; yy++) {
      for (let xx = 0; xx < wo; xx++) {
        let acc = bias ? bias[o]! : 0;
        for (let i = 0; i < ipg; i++) {
          for (let r = 0; r < kh; r++) {
            for (let s = 0; s < kw; s++) {
              acc +=
                kernel.data[((o * ipg + i) * kh + r) * kw + s]! *
                at(g * ipg + i, yy * stride + r, xx * stride + s);
            }
          }
        }
        out[(o * ho + yy) * wo + xx] = acc;
      }
    }
  }
  return { c: O, h: ho, w: wo, data: out };
}

/** Inference-mode BN: gamma * (x - mean) / sqrt(var + eps) + beta. */
export function batchNorm(x: Tensor3, bn: BatchNorm): Tensor3 {
  const out = new Float64Array(x.data.length);
  const hw = x.h * x.w;
  for (let c = 0; c < x.c; c++) {
    const g = bn.gamma ? bn.gamma[c]! : 1;
    const b = bn.beta ? bn.beta[c]! : 0;
    const d = Math.sqrt(bn.variance[c]! + bn.eps);
    for (let j = 0; j < hw; j++)
      out[c * hw + j] = (g * (x.data[c * hw + j]! - bn.mean[c]!)) / d + b;
  }
  return { ...x, data: out };
}

/** Average pooling that counts zero padding in the mean (count_include_pad). */
export function avgPool(x: Tensor3, k: number, stride: number, pad: number): Tensor3 {
  const ho = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const out = new Float64Array(x.c * ho * wo);
  for (let c = 0; c < x.c; c++) {
    for (let yy = 0; yy < ho; yy++) {
      for (let xx = 0; xx < wo; xx++) {
        let acc = 0;
        for (let r = 0; r < k; r++) {
          for (let s = 0; s < k; s++) {
            const y0 = yy * stride + r - pad;
            const x0 = xx * stride + s - pad;
            if (y0 >= 0 && y0 < x.h && x0 >= 0 && x0 < x.w)
              acc += x.data[(c * x.h + y0) * x.w + x0]!;
          }
        }
        out[(c * ho + yy) * wo + xx] = acc / (k * k);
      }
    }
  }
  return { c: x.c, h: ho, w: wo, data: out };
}

export function add(...ts: Tensor3[]): Tensor3 {
  const out = new Float64Array(ts[0]!.data.length);
  for (const t of ts) {
    if (t.data.length !== out.length) throw new Error('reference add: shape mismatch');
    for (let j = 0; j < out.length; j++) out[j]! += t.data[j]!;
  }
  return { ...ts[0]!, data: out };
}

/** max |a - b| / max |b|: the error relative to the output scale. */
export function relativeError(a: Tensor3, b: Tensor3): number {
  if (a.data.length !== b.data.length)
    throw new Error(`shape mismatch ${a.data.length} vs ${b.data.length}`);
  let diff = 0;
  let scale = 0;
  for (let j = 0; j < a.data.length; j++) {
    diff = Math.max(diff, Math.abs(a.data[j]! - b.data[j]!));
    scale = Math.max(scale, Math.abs(b.data[j]!));
  }
  return diff / Math.max(scale, 1e-30);
}
