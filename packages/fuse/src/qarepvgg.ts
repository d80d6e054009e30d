import { type BatchNorm, validateBatchNorm } from './batchnorm.js';
import { type ConvBN, checkConvBN, checkStride, spatialSize } from './conv-bn.js';
import { FuseError } from './errors.js';
import { foldPostBatchNorm } from './fold-batchnorm.js';
import { type ConvBranch, type FoldedConv, type FoldInto, foldBranches } from './fold-branches.js';
import type { Kernel, KernelLayout } from './kernel-layout.js';
import { validateKernel } from './validate.js';

/**
 * The trained parameters of one QARepVGG block (Chu et al., "Make RepVGG
 * Greater Again: A Quantization-aware Approach", 2022): a kxk conv with its own
 * BN, a 1x1 conv and a plain identity without any, and one BN after their sum.
 */
export interface QARepVGGBlockParams<L extends KernelLayout = KernelLayout> {
  /** kxk conv + BN (3x3 in the paper); k odd. */
  readonly dense: ConvBN<L>;
  /** The 1x1 conv, no BN and no bias: the paper drops its BN so its range cannot explode. */
  readonly conv1x1?: Kernel<L>;
  /** A plain `x` skip (no BN), only when in == out and stride == 1. */
  readonly identity?: boolean;
  /** The BN after the branch sum. */
  readonly bn: BatchNorm;
  readonly groups?: number;
  /** Stride of the block; checked against the identity branch (padding is k//2 in every form). */
  readonly stride?: number;
}

/**
 * Folds a QARepVGG block into one kxk conv with bias: the branch sum
 * `W = s3*W3 + pad(W1) + I`, `b = beta3 - mean3*s3`, then the post-sum BN
 * `W' = s*W`, `b' = beta + (b - mean)*s`. Exact at stride 1 and 2 because every
 * branch pads symmetrically by k//2.
 */
export function foldQARepVGGBlock<L extends KernelLayout>(
  block: QARepVGGBlockParams<L>,
  into?: FoldInto<L>,
): FoldedConv<L> {
  const op = 'foldQARepVGGBlock';
  if (block === null || typeof block !== 'object')
    throw new FuseError(
      op,
      'block',
      'must be { dense, conv1x1?, identity?, bn, groups?, stride? }',
    );
  checkConvBN(op, 'dense', block.dense);
  const identity = block.identity === true;
  if (block.identity !== undefined && typeof block.identity !== 'boolean')
    throw new FuseError(op, 'identity', `is ${String(block.identity)}, expected a boolean`);
  checkStride(op, block.stride ?? 1, identity);
  const [kh, kw] = spatialSize(block.dense.kernel);
  if (kh !== kw || kh % 2 === 0) {
    throw new FuseError(op, 'dense.kernel', `is ${kh}x${kw}; QARepVGG needs an odd square kernel`, {
      [`dense.kernel ${block.dense.kernel.layout}`]: block.dense.kernel.shape,
    });
  }
  const out = validateKernel(op, 'dense.kernel', block.dense.kernel).out;
  if (block.bn === undefined)
    throw new FuseError(op, 'bn', 'is missing: QARepVGG has a BN after the branch sum');
  validateBatchNorm(op, 'bn', block.bn, out);
  const branches: ConvBranch<L>[] = [block.dense];
  const names = ['dense'];
  if (block.conv1x1 !== undefined) {
    validateKernel(op, 'conv1x1', block.conv1x1);
    const [h, w] = spatialSize(block.conv1x1);
    if (h !== 1 || w !== 1) {
      throw new FuseError(op, 'conv1x1', `is ${h}x${w}, expected 1x1`, {
        [`conv1x1 ${block.conv1x1.layout}`]: block.conv1x1.shape,
      });
    }
    branches.push({ kernel: block.conv1x1 });
    names.push('conv1x1');
  }
  const sum = foldBranches(
    { branches, ...(identity ? { identity: true as const } : {}), groups: block.groups },
    undefined,
    op,
    names,
  );
  return foldPostBatchNorm(sum, block.bn, into);
}
