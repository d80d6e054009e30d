import type { BatchNorm } from './batchnorm.js';
import { FuseError } from './errors.js';
import type { Kernel, KernelLayout } from './kernel-layout.js';
import { validatePositiveInt } from './validate.js';

/** The usual training branch: a bias-free conv followed by BatchNorm. */
export interface ConvBN<L extends KernelLayout = KernelLayout> {
  readonly kernel: Kernel<L>;
  readonly bn: BatchNorm;
}

/** Spatial size of a kernel in any layout. */
export function spatialSize(k: Kernel): [number, number] {
  return k.layout === 'OIHW' ? [k.shape[2], k.shape[3]] : [k.shape[0], k.shape[1]];
}

/** Shared stride check of the block folds: an identity branch only exists at stride 1. */
export function checkStride(op: string, stride: number, hasIdentity: boolean): void {
  validatePositiveInt(op, 'stride', stride);
  if (hasIdentity && stride !== 1) {
    throw new FuseError(
      op,
      'identity',
      `is given, but stride is ${stride}; a skip branch needs stride 1`,
    );
  }
}

export function checkConvBN(op: string, arg: string, b: ConvBN): void {
  if (b === null || typeof b !== 'object' || b.kernel === undefined || b.bn === undefined) {
    throw new FuseError(op, arg, 'must be { kernel, bn }');
  }
}
