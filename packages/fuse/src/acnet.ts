import { type ConvBN, checkConvBN, spatialSize } from './conv-bn.js';
import { FuseError } from './errors.js';
import { type FoldedConv, type FoldInto, foldBranches } from './fold-branches.js';
import type { KernelLayout } from './kernel-layout.js';

/** An ACNet asymmetric convolution block (Ding et al., ICCV 2019). */
export interface ACNetBlockParams<L extends KernelLayout = KernelLayout> {
  /** kxk conv + BN. */
  readonly square: ConvBN<L>;
  /** 1xk conv + BN, padding (0, k//2). */
  readonly horizontal?: ConvBN<L>;
  /** kx1 conv + BN, padding (k//2, 0). */
  readonly vertical?: ConvBN<L>;
  readonly groups?: number;
}

/**
 * Folds square + horizontal + vertical branches: the 1xk and kx1 kernels land on
 * the centre row and column (the "skeleton") of the kxk kernel.
 */
export function foldACNetBlock<L extends KernelLayout>(
  block: ACNetBlockParams<L>,
  into?: FoldInto<L>,
): FoldedConv<L> {
  const op = 'foldACNetBlock';
  checkConvBN(op, 'square', block.square);
  const [k, kw] = spatialSize(block.square.kernel);
  if (k !== kw || k % 2 === 0) {
    throw new FuseError(op, 'square.kernel', `is ${k}x${kw}; ACNet needs an odd square kernel`);
  }
  const branches = [block.square];
  const names = ['square'];
  const expect: Array<[string, ConvBN<L> | undefined, number, number]> = [
    ['horizontal', block.horizontal, 1, k],
    ['vertical', block.vertical, k, 1],
  ];
  for (const [name, br, eh, ew] of expect) {
    if (br === undefined) continue;
    checkConvBN(op, name, br);
    const [h, w] = spatialSize(br.kernel);
    if (h !== eh || w !== ew) {
      throw new FuseError(op, `${name}.kernel`, `is ${h}x${w}, expected ${eh}x${ew}`, {
        [`${name}.kernel ${br.kernel.layout}`]: br.kernel.shape,
      });
    }
    branches.push(br);
    names.push(name);
  }
  return foldBranches({ branches, groups: block.groups }, into, op, names);
}
