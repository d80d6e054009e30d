import { type FoldedConv, foldBatchNorm } from '@repnets/fuse';
import {
  BranchBlock,
  type BranchBlockArgs,
  type BranchSpec,
  type TrainedBranches,
} from './branch-block.js';

export type ConvBNArgs = Omit<BranchBlockArgs, 'identity'>;

/**
 * A bias-free (grouped) conv with symmetric padding, then BatchNorm, then an
 * optional activation (default none). Folds into a conv with bias.
 */
export class ConvBN extends BranchBlock {
  static readonly className = 'ConvBN';
  readonly kind = 'convbn';

  constructor(args: ConvBNArgs) {
    super({ ...args, identity: false }, { activation: 'linear', identity: false });
  }

  protected branchSpecs(): BranchSpec[] {
    return [{ name: 'conv', size: this.kernelSize, role: 'kxk' }];
  }

  protected fold(t: TrainedBranches): FoldedConv<'HWIO'> {
    const b = t.kxk[0]!;
    return foldBatchNorm(b.kernel, b.bn);
  }
}
