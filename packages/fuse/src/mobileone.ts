import type { BatchNorm } from './batchnorm.js';
import { type ConvBN, checkConvBN, checkStride, spatialSize } from './conv-bn.js';
import { FuseError } from './errors.js';
import { type ConvBranch, type FoldedConv, type FoldInto, foldBranches } from './fold-branches.js';
import type { KernelLayout } from './kernel-layout.js';

/** The trained parameters of one MobileOne block (Vasu et al., CVPR 2023). */
export interface MobileOneBlockParams<L extends KernelLayout = KernelLayout> {
  /** The k over-parameterized kxk conv+BN branches (k = 1..n, all the same size). */
  readonly convs: readonly ConvBN<L>[];
  /** 1x1 conv+BN "scale" branch; only exists when the kernel is larger than 1x1. */
  readonly scale?: ConvBN<L>;
  /** Identity BN, only when in == out and stride == 1. */
  readonly identity?: BatchNorm;
  /** Conv groups; channels for the depthwise half of a MobileOne unit. */
  readonly groups?: number;
  readonly stride?: number;
}

/**
 * Folds a MobileOne block (depthwise kxk or pointwise 1x1 half) into one conv
 * with bias: the k conv branches, the padded 1x1 scale branch and the identity
 * BN are each BN-folded and summed.
 */
export function foldMobileOneBlock<L extends KernelLayout>(
  block: MobileOneBlockParams<L>,
  into?: FoldInto<L>,
): FoldedConv<L> {
  const op = 'foldMobileOneBlock';
  if (!Array.isArray(block.convs) || block.convs.length === 0) {
    throw new FuseError(op, 'convs', 'must hold at least one { kernel, bn } branch');
  }
  for (const [j, c] of block.convs.entries()) checkConvBN(op, `convs[${j}]`, c);
  // Non-empty, each branch checked: just above.
  const first = block.convs[0]!;
  checkStride(op, block.stride ?? 1, block.identity !== undefined);
  const [kh, kw] = spatialSize(first.kernel);
  if (kh !== kw || kh % 2 === 0) {
    throw new FuseError(
      op,
      'convs[0].kernel',
      `is ${kh}x${kw}; MobileOne needs an odd square kernel`,
      {
        [`convs[0].kernel ${first.kernel.layout}`]: first.kernel.shape,
      },
    );
  }
  const branches: ConvBranch<L>[] = [];
  const names: string[] = [];
  block.convs.forEach((c, j) => {
    const [h, w] = spatialSize(c.kernel);
    if (h !== kh || w !== kw) {
      throw new FuseError(
        op,
        `convs[${j}].kernel`,
        `is ${h}x${w}, but convs[0].kernel is ${kh}x${kw}`,
        {
          [`convs[${j}].kernel ${c.kernel.layout}`]: c.kernel.shape,
        },
      );
    }
    branches.push(c);
    names.push(`convs[${j}]`);
  });
  if (block.scale !== undefined) {
    checkConvBN(op, 'scale', block.scale);
    if (kh === 1) {
      throw new FuseError(
        op,
        'scale',
        'is given for a 1x1 block; MobileOne has a scale branch only when the kernel is larger than 1x1',
      );
    }
    const [h, w] = spatialSize(block.scale.kernel);
    if (h !== 1 || w !== 1) {
      throw new FuseError(op, 'scale.kernel', `is ${h}x${w}, expected 1x1`, {
        [`scale.kernel ${block.scale.kernel.layout}`]: block.scale.kernel.shape,
      });
    }
    branches.push(block.scale);
    names.push('scale');
  }
  return foldBranches(
    { branches, identity: block.identity, groups: block.groups },
    into,
    op,
    names,
  );
}
