import { FuseError } from './errors.js';
import { foldBranches } from './fold-branches.js';
import type { Kernel, KernelLayout } from './kernel-layout.js';
import { validateKernel } from './validate.js';

/**
 * Zero-pads a kernel symmetrically to `size` (1x1 -> 3x3, 3x3 -> 5x5, 1x3 -> 3x3).
 * A conv with the padded kernel and padding (size-1)/2 computes the same as the
 * original with padding (k-1)/2. The size difference must be even in each
 * dimension, or there is no centre to put the kernel on.
 */
export function padKernel<L extends KernelLayout>(
  kernel: Kernel<L>,
  size: number | readonly [number, number],
): Kernel<L> {
  const v = validateKernel('padKernel', 'kernel', kernel);
  const [th, tw] = typeof size === 'number' ? [size, size] : size;
  if (!Number.isInteger(th) || !Number.isInteger(tw) || th < v.kh || tw < v.kw) {
    throw new FuseError(
      'padKernel',
      'size',
      `is ${th}x${tw}, expected integers >= the kernel's ${v.kh}x${v.kw}`,
      {
        [`kernel ${kernel.layout}`]: kernel.shape,
      },
    );
  }
  return foldBranches({ branches: [{ kernel }], kernelSize: [th, tw] }, {}, 'padKernel', ['kernel'])
    .kernel;
}
