/**
 * The general fold every block fold is built on, in two steps: check every
 * argument (./fold-branches-check.ts), then place the branches into one kernel
 * with bias (./fold-branches-place.ts).
 */
import type { FoldBranchesArgs, FoldedConv, FoldInto } from './fold-args.js';
import { checkFoldBranches } from './fold-branches-check.js';
import { placeBranches } from './fold-branches-place.js';
import type { KernelLayout } from './kernel-layout.js';

export type { ConvBranch, FoldBranchesArgs, FoldedConv, FoldInto } from './fold-args.js';

/**
 * Folds parallel conv(+bias)(+BN) branches and an optional identity branch into
 * one convolution with bias. Each branch kernel is multiplied per output channel
 * by its BN scale `gamma / sqrt(var + eps)`, centred in the folded kernel
 * (zero-padded symmetrically) and summed; the identity branch adds its BN scale
 * at the centre tap of input channel `o % (in/groups)` for output `o`. Biases:
 * `sum_b (beta_b + (bias_b - mean_b) * scale_b)` (+ `beta - mean * scale` of the
 * identity BN).
 *
 * Exact as long as every branch pads symmetrically by (k-1)/2 and shares the
 * stride: then all of them sample the same input points.
 */
export function foldBranches<L extends KernelLayout>(
  args: FoldBranchesArgs<L>,
  into: FoldInto<L> = {},
  op = 'foldBranches',
  names: readonly string[] = [],
): FoldedConv<L> {
  return placeBranches(checkFoldBranches(args, into, op, names));
}
