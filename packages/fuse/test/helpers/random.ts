import { type BatchNorm, type Kernel, type KernelLayout, makeKernel } from '../../src/index.js';
import type { Tensor3 } from './reference.js';

export { rng } from '@repnets/devkit';

export function uniform(r: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let j = 0; j < n; j++) a[j] = lo + (hi - lo) * r();
  return a;
}

export function randomKernel<L extends KernelLayout>(
  r: () => number,
  layout: L,
  shape: readonly number[],
): Kernel<L> {
  return makeKernel(
    layout,
    shape,
    uniform(
      r,
      shape.reduce((p, d) => p * d, 1),
    ),
  );
}

/** Non-trivial running statistics: default 0/1 stats hide folding bugs. */
export function randomBN(r: () => number, channels: number, eps: number): BatchNorm {
  return {
    gamma: uniform(r, channels, 0.5, 1.5),
    beta: uniform(r, channels, -0.5, 0.5),
    mean: uniform(r, channels, -0.5, 0.5),
    variance: uniform(r, channels, 0.5, 1.5),
    eps,
  };
}

export function randomInput(r: () => number, c: number, h: number, w: number): Tensor3 {
  return { c, h, w, data: Float64Array.from(uniform(r, c * h * w)) };
}
