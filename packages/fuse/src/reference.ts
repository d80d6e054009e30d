import { FuseError } from './errors.js';
import type { Kernel } from './kernel-layout.js';
import { validateKernel, validatePositiveInt } from './validate.js';

export interface ReferenceConvOptions {
  readonly stride?: number;
  /** Symmetric padding, or [top, bottom, left, right]. Zero padding. */
  readonly pad?: number | readonly [number, number, number, number];
  readonly groups?: number;
  readonly bias?: Float32Array;
}

/** An NHWC activation. */
export interface ActivationNHWC {
  readonly shape: readonly [number, number, number, number];
  readonly data: Float32Array;
}

/**
 * A naive, obviously-correct convolution in float64 (rounded to float32 at the
 * end), for checking folds and framework kernels against: slow on purpose, with
 * no tricks to get wrong. Input NHWC, kernel in any layout, output NHWC.
 */
export function referenceConv2d(
  x: ActivationNHWC,
  kernel: Kernel,
  opts: ReferenceConvOptions = {},
): ActivationNHWC {
  const op = 'referenceConv2d';
  const v = validateKernel(op, 'kernel', kernel);
  const [n, h, w, c] = x.shape;
  if (x.data.length !== n * h * w * c) {
    throw new FuseError(op, 'x.data', `has ${x.data.length} elements, expected ${n * h * w * c}`, {
      x: x.shape,
    });
  }
  const stride = opts.stride ?? 1;
  validatePositiveInt(op, 'stride', stride);
  const groups = kernel.layout === 'HWIM' ? c : (opts.groups ?? 1);
  if (v.inPerGroup * groups !== c || v.out % groups !== 0) {
    throw new FuseError(
      op,
      'kernel',
      `reads ${v.inPerGroup} x ${groups} groups, but x has ${c} channels`,
      {
        x: x.shape,
        [`kernel ${kernel.layout}`]: kernel.shape,
      },
    );
  }
  const p = opts.pad ?? 0;
  const [pt, pb, pl, pr] = typeof p === 'number' ? [p, p, p, p] : p;
  const ho = Math.floor((h + pt + pb - v.kh) / stride) + 1;
  const wo = Math.floor((w + pl + pr - v.kw) / stride) + 1;
  const opg = v.out / groups;
  const out = new Float32Array(n * ho * wo * v.out);
  const k = kernel.data;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < ho; oy++) {
      for (let ox = 0; ox < wo; ox++) {
        for (let o = 0; o < v.out; o++) {
          const g = Math.floor(o / opg);
          let acc = opts.bias ? opts.bias[o]! : 0;
          for (let r = 0; r < v.kh; r++) {
            const iy = oy * stride + r - pt;
            if (iy < 0 || iy >= h) continue;
            for (let s = 0; s < v.kw; s++) {
              const ix = ox * stride + s - pl;
              if (ix < 0 || ix >= w) continue;
              const xBase = ((b * h + iy) * w + ix) * c + g * v.inPerGroup;
              for (let i = 0; i < v.inPerGroup; i++) {
                acc +=
                  k[o * v.strideO + i * v.strideI + r * v.strideH + s * v.strideW]! *
                  x.data[xBase + i]!;
              }
            }
          }
          out[((b * ho + oy) * wo + ox) * v.out + o] = acc;
        }
      }
    }
  }
  return { shape: [n, ho, wo, v.out], data: out };
}
