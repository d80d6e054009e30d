/**
 * The interpolation kernels of PIL's `Image.resize`, as functions of the
 * distance to the sample point in input pixels (before any antialias
 * stretching), with the radius beyond which each is zero.
 */

/**
 * 'nearest' is PIL's NEAREST: output i takes input trunc(x) with x stepping
 * from scale / 2 by the scale in double precision, so where (i + 0.5) * scale
 * is a whole number the sum may fall just below it (PIL resizes [0, 255] to 7
 * pixels as 0 0 0 0 255 255 255). 'nearest-exact' is torch's and TF's
 * half-pixel nearest, floor((i + 0.5) * scale) (0 0 0 255 255 255 255).
 */
export type ResampleFilter = 'bilinear' | 'bicubic' | 'nearest' | 'nearest-exact';

export type KernelFilter = Exclude<ResampleFilter, 'nearest' | 'nearest-exact'>;

export interface FilterKernel {
  readonly support: number;
  readonly weight: (x: number) => number;
}

// PIL's cubic uses a = -0.5 (Keys' kernel), not OpenCV's -0.75.
const A = -0.5;

const KERNELS: Readonly<Record<KernelFilter, FilterKernel>> = {
  bilinear: {
    support: 1,
    weight: (x) => {
      const d = Math.abs(x);
      return d < 1 ? 1 - d : 0;
    },
  },
  bicubic: {
    support: 2,
    weight: (x) => {
      const d = Math.abs(x);
      if (d < 1) return ((A + 2) * d - (A + 3)) * d * d + 1;
      if (d < 2) return (((d - 5) * d + 8) * d - 4) * A;
      return 0;
    },
  },
};

export function filterKernel(filter: KernelFilter): FilterKernel {
  return KERNELS[filter];
}
