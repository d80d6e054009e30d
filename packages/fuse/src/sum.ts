import { type ConvBranch, type FoldedConv, foldBranches } from './fold-branches.js';
import type { KernelLayout } from './kernel-layout.js';

/**
 * Sums parallel convolutions (kernels and biases) into one; smaller kernels are
 * centre-padded to the largest. Conv(x, sum W) + sum b == sum of conv(x, W_b) + b_b.
 */
export function sumBranches<L extends KernelLayout>(
  branches: readonly Omit<ConvBranch<L>, 'bn'>[],
): FoldedConv<L> {
  return foldBranches(
    { branches: branches.map((b) => ({ kernel: b.kernel, bias: b.bias })) },
    {},
    'sumBranches',
  );
}
