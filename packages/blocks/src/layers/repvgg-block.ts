import { type FoldedConv, foldRepVGGBlock } from '@repnets/fuse';
import {
  BranchBlock,
  type BranchBlockArgs,
  type BranchSpec,
  type TrainedBranches,
} from './branch-block.js';

export interface RepVGGBlockArgs extends BranchBlockArgs {
  /** The 1x1 conv+BN branch (default true). */
  readonly conv1x1?: boolean;
}

/**
 * RepVGG block (Ding et al., CVPR 2021) in training form:
 * `act(bn3(conv3x3(x)) + bn1(conv1x1(x)) + bn0(x))`, identity BN when in == out
 * and stride 1, optional SE before (RepVGG-D2se) or after (RepVGGplus) the
 * activation. Folds into one kxk conv with bias.
 */
export class RepVGGBlock extends BranchBlock {
  static readonly className = 'RepVGGBlock';
  readonly conv1x1: boolean;

  constructor(args: RepVGGBlockArgs) {
    super(args, { activation: 'relu', identity: 'auto' });
    this.conv1x1 = args.conv1x1 ?? true;
  }

  protected branchSpecs(): BranchSpec[] {
    const specs = [{ name: 'dense', size: this.kernelSize }];
    if (this.conv1x1) specs.push({ name: 'conv1x1', size: 1 });
    return specs;
  }

  protected fold(t: TrainedBranches): FoldedConv<'HWIO'> {
    return foldRepVGGBlock({
      dense: t.branches[0]!,
      conv1x1: t.branches[1],
      identity: t.identity,
      groups: t.groups,
      stride: t.stride,
    });
  }

  override getConfig() {
    return { ...super.getConfig(), conv1x1: this.conv1x1 };
  }
}
