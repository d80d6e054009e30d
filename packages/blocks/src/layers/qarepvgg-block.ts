import { type FoldedConv, foldQARepVGGBlock } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import {
  BranchBlock,
  type BranchBlockArgs,
  type BranchSpec,
  type TrainedBranches,
} from './branch-block.js';
import type { CustomL2Regularized } from './custom-l2.js';
import { equivalentKernelL2 } from './equivalent-l2.js';

export interface QARepVGGBlockArgs extends BranchBlockArgs {
  /** The 1x1 conv branch, without BN (default true). */
  readonly conv1x1?: boolean;
}

/**
 * QARepVGG block (Chu et al., 2022, "Make RepVGG Greater Again: A
 * Quantization-aware Approach") in training form:
 * `act(bn(bn3(conv3x3(x)) + conv1x1(x) + x))`. Only the 3x3 branch keeps its
 * own BN; the 1x1 branch and the identity (when in == out and stride 1) have
 * none, and one BN follows the sum. The paper shows this keeps the folded
 * kernel's per-channel ranges close to the 3x3 branch's, so the deploy form
 * survives int8 quantization. Folds into one kxk conv with bias.
 */
export class QARepVGGBlock extends BranchBlock implements CustomL2Regularized {
  static readonly className = 'QARepVGGBlock';
  readonly kind = 'qarepvgg';
  readonly conv1x1: boolean;

  constructor(args: QARepVGGBlockArgs) {
    super(args, { activation: 'relu', identity: 'auto' });
    this.conv1x1 = args.conv1x1 ?? true;
  }

  protected branchSpecs(): BranchSpec[] {
    const specs: BranchSpec[] = [{ name: 'dense', size: this.kernelSize, role: 'kxk' }];
    if (this.conv1x1) specs.push({ name: 'conv1x1', size: 1, role: 'scale', norm: false });
    return specs;
  }

  protected override identityNorm(): boolean {
    return false;
  }

  protected override postNorm(): boolean {
    return true;
  }

  protected fold(t: TrainedBranches): FoldedConv<'HWIO'> {
    if (t.post === undefined)
      throw new Error(`QARepVGGBlock '${this.name}': no BN after the branch sum to fold`);
    return foldQARepVGGBlock({
      dense: t.kxk[0]!,
      conv1x1: t.bareScale?.kernel,
      identity: t.bareIdentity === true,
      bn: t.post,
      groups: t.groups,
      stride: t.stride,
    });
  }

  /**
   * RepVGG's custom L2 as for RepVGGBlock, on the equivalent kernel of the 3x3
   * (scaled by its BN) and the 1x1 (scale 1: it has no BN). The identity and
   * the BN after the sum scale nothing that decays. Add
   * `0.5 * weightDecay * sum(customL2())` to the loss and leave
   * {@link customL2Variables} out of the optimizer's own decay.
   */
  customL2(): tf.Scalar {
    return tf.tidy(() => {
      const [dense, one] = this.branchWeights;
      if (!dense)
        throw new Error(`QARepVGGBlock '${this.name}': not built, no kernels to regularize`);
      return equivalentKernelL2(dense, one);
    });
  }

  /** The kernels {@link customL2} regularizes. */
  customL2Variables(): tf.LayerVariable[] {
    return this.branchWeights.map((b) => b.kernel);
  }

  override getConfig() {
    return { ...super.getConfig(), conv1x1: this.conv1x1 };
  }
}
