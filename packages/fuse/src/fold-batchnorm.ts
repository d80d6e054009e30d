import { type BatchNorm, validateBatchNorm } from './batchnorm.js';
import { type FoldedConv, type FoldInto, foldBranches } from './fold-branches.js';
import type { Kernel, KernelLayout } from './kernel-layout.js';
import { validateKernel } from './validate.js';

/**
 * Folds a BatchNorm into the convolution before it:
 * `W'[o] = W[o] * s[o]`, `b'[o] = beta[o] + (b[o] - mean[o]) * s[o]` with
 * `s = gamma / sqrt(variance + eps)`. `bias` is the conv's own bias, if any.
 */
export function foldBatchNorm<L extends KernelLayout>(
  kernel: Kernel<L>,
  bn: BatchNorm,
  bias?: Float32Array,
  into?: FoldInto<L>,
): FoldedConv<L> {
  return foldBranches({ branches: [{ kernel, bn, bias }] }, into, 'foldBatchNorm', ['']);
}

/**
 * Folds a BatchNorm that follows the sum of the branches (QARepVGG, RepViT):
 * the same algebra as {@link foldBatchNorm}, applied to an already folded conv.
 */
export function foldPostBatchNorm<L extends KernelLayout>(
  conv: FoldedConv<L>,
  bn: BatchNorm,
  into?: FoldInto<L>,
): FoldedConv<L> {
  const op = 'foldPostBatchNorm';
  validateBatchNorm(op, 'bn', bn, validateKernel(op, 'conv.kernel', conv?.kernel).out);
  return foldBranches({ branches: [{ kernel: conv.kernel, bias: conv.bias, bn }] }, into, op, [
    'conv',
  ]);
}
