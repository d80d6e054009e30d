import { type FoldedConv, foldMobileOneBlock } from '@repnets/fuse';
import {
  BranchBlock,
  type BranchBlockArgs,
  type BranchSpec,
  type TrainedBranches,
} from './branch-block.js';

export interface MobileOneBlockArgs extends BranchBlockArgs {
  /** k, the number of over-parameterized kxk conv+BN branches (S0 uses 4, S1-S4 use 1). */
  readonly branches?: number;
}

/**
 * MobileOne block (Vasu et al., CVPR 2023) in training form: k kxk conv+BN
 * branches, a 1x1 conv+BN "scale" branch when the kernel is larger than 1x1, and
 * an identity BN when in == out and stride 1. A MobileOne unit is a depthwise
 * 3x3 block (`groups: 'depthwise'`) followed by a pointwise 1x1 block.
 */
export class MobileOneBlock extends BranchBlock {
  static readonly className = 'MobileOneBlock';
  readonly kind = 'mobileone';
  readonly branches: number;

  constructor(args: MobileOneBlockArgs) {
    super(args, { activation: 'relu', identity: 'auto' });
    this.branches = args.branches ?? 1;
    if (!Number.isInteger(this.branches) || this.branches < 1) {
      throw new Error(
        `MobileOneBlock '${this.name}': branches must be a positive integer, got ${args.branches}`,
      );
    }
  }

  protected branchSpecs(): BranchSpec[] {
    const specs: BranchSpec[] = Array.from({ length: this.branches }, (_, j) => ({
      name: `conv${j}`,
      size: this.kernelSize,
      role: 'kxk',
    }));
    if (this.kernelSize > 1) specs.push({ name: 'scale', size: 1, role: 'scale' });
    return specs;
  }

  protected fold(t: TrainedBranches): FoldedConv<'HWIO'> {
    return foldMobileOneBlock({
      convs: [...t.kxk],
      scale: t.scale,
      identity: t.identity,
      groups: t.groups,
      stride: t.stride,
    });
  }

  override getConfig() {
    return { ...super.getConfig(), branches: this.branches };
  }
}
