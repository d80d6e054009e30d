import type { BatchNorm } from './batchnorm.js';
import { type ConvBN, checkConvBN, checkStride, spatialSize } from './conv-bn.js';
import { FuseError } from './errors.js';
import { type ConvBranch, type FoldedConv, type FoldInto, foldBranches } from './fold-branches.js';
import type { KernelLayout } from './kernel-layout.js';

/** The trained parameters of one RepVGG block (Ding et al., CVPR 2021). */
export interface RepVGGBlockParams<L extends KernelLayout = KernelLayout> {
  /** kxk conv + BN (3x3 in the paper); k odd. */
  readonly dense: ConvBN<L>;
  /** 1x1 conv + BN. */
  readonly conv1x1?: ConvBN<L>;
  /** Identity BN, only when in == out and stride == 1. */
  readonly identity?: BatchNorm;
  readonly groups?: number;
  /** Stride of the block; checked against the identity branch (padding is k//2 in every form). */
  readonly stride?: number;
}

/**
 * Folds a RepVGG block into one kxk conv with bias:
 * `W = s3*W3 + pad(s1*W1) + s0*I`, `b = (beta3 - mean3*s3) + (beta1 - mean1*s1) + (beta0 - mean0*s0)`.
 * Exact at stride 1 and 2 because every branch pads symmetrically by k//2.
 */
export function foldRepVGGBlock<L extends KernelLayout>(
  block: RepVGGBlockParams<L>,
  into?: FoldInto<L>,
): FoldedConv<L> {
  const op = 'foldRepVGGBlock';
  checkConvBN(op, 'dense', block.dense);
  checkStride(op, block.stride ?? 1, block.identity !== undefined);
  const [kh, kw] = spatialSize(block.dense.kernel);
  if (kh !== kw || kh % 2 === 0) {
    throw new FuseError(op, 'dense.kernel', `is ${kh}x${kw}; RepVGG needs an odd square kernel`, {
      [`dense.kernel ${block.dense.kernel.layout}`]: block.dense.kernel.shape,
    });
  }
  const branches: ConvBranch<L>[] = [block.dense];
  const names = ['dense'];
  if (block.conv1x1 !== undefined) {
    checkConvBN(op, 'conv1x1', block.conv1x1);
    const [h, w] = spatialSize(block.conv1x1.kernel);
    if (h !== 1 || w !== 1) {
      throw new FuseError(op, 'conv1x1.kernel', `is ${h}x${w}, expected 1x1`, {
        [`conv1x1.kernel ${block.conv1x1.kernel.layout}`]: block.conv1x1.kernel.shape,
      });
    }
    branches.push(block.conv1x1);
    names.push('conv1x1');
  }
  return foldBranches(
    { branches, identity: block.identity, groups: block.groups },
    into,
    op,
    names,
  );
}
