/** What a fold takes (branches, identity, groups, kernel size, buffers to fill) and what it gives. */
import type { BatchNorm } from './batchnorm.js';
import type { Kernel, KernelLayout } from './kernel-layout.js';

/** One convolution branch: `bn(conv(x, kernel) + bias)`; `bias` and `bn` optional. */
export interface ConvBranch<L extends KernelLayout = KernelLayout> {
  readonly kernel: Kernel<L>;
  readonly bias?: Float32Array;
  readonly bn?: BatchNorm;
}

/** A folded convolution: `conv(x, kernel) + bias`. */
export interface FoldedConv<L extends KernelLayout = KernelLayout> {
  readonly kernel: Kernel<L>;
  readonly bias: Float32Array;
}

export interface FoldBranchesArgs<L extends KernelLayout = KernelLayout> {
  /** The parallel conv branches; their outputs are summed. At least one. */
  readonly branches: readonly ConvBranch<L>[];
  /**
   * The skip branch: a BatchNorm (`bn(x)`, RepVGG/MobileOne) or `true` for a
   * plain `x` (QARepVGG). Needs in == out channels and an odd kernel.
   */
  readonly identity?: BatchNorm | true;
  /** Convolution groups (input channels = in/groups x groups). HWIM implies channels. */
  readonly groups?: number;
  /** Size of the folded kernel; defaults to the largest branch in each dimension. */
  readonly kernelSize?: number | readonly [number, number];
}

/** Buffers to fold into instead of allocating (for repeated folds, e.g. benchmarks). */
export interface FoldInto<L extends KernelLayout = KernelLayout> {
  readonly kernel?: Kernel<L>;
  readonly bias?: Float32Array;
}
