import { type FoldedConv, foldRepVGGBlock } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import {
  BranchBlock,
  type BranchBlockArgs,
  type BranchSpec,
  type TrainedBranches,
} from './branch-block.js';
import type { CustomL2Regularized } from './custom-l2.js';
import { equivalentKernelL2 } from './equivalent-l2.js';

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
export class RepVGGBlock extends BranchBlock implements CustomL2Regularized {
  static readonly className = 'RepVGGBlock';
  readonly kind = 'repvgg';
  readonly conv1x1: boolean;

  constructor(args: RepVGGBlockArgs) {
    super(args, { activation: 'relu', identity: 'auto' });
    this.conv1x1 = args.conv1x1 ?? true;
  }

  protected branchSpecs(): BranchSpec[] {
    const specs: BranchSpec[] = [{ name: 'dense', size: this.kernelSize, role: 'kxk' }];
    if (this.conv1x1) specs.push({ name: 'conv1x1', size: 1, role: 'scale' });
    return specs;
  }

  protected fold(t: TrainedBranches): FoldedConv<'HWIO'> {
    return foldRepVGGBlock({
      dense: t.kxk[0]!,
      conv1x1: t.scale,
      identity: t.identity,
      groups: t.groups,
      stride: t.stride,
    });
  }

  /**
   * RepVGG's custom L2 (the official training option `custom_L2`): weight decay
   * on what the deploy model will hold. The dense kernel's taps outside the
   * centre are decayed as usual; the centre taps are decayed as the equivalent
   * kernel `Kd_centre * td + K1 * t1` (t = gamma / sqrt(runningVar + eps), taken
   * as constants) divided by `td^2 + t1^2`, so the 1x1 and dense branches are not
   * pulled to zero separately. Add `0.5 * weightDecay * sum(customL2())` to the
   * loss and leave {@link customL2Variables} out of the optimizer's own decay.
   * Without a 1x1 branch this is the plain sum of squares of the dense kernel.
   */
  customL2(): tf.Scalar {
    return tf.tidy(() => {
      const [dense, one] = this.branchWeights;
      if (!dense)
        throw new Error(`RepVGGBlock '${this.name}': not built, no kernels to regularize`);
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
