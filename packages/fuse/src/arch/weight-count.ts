/**
 * How many weights a block holds, from its record alone (nothing is built):
 * what a built layer's `countParams()` counts, BN running statistics included.
 * The memory estimate and @repnets/blocks' parameter counts both read it.
 */
import type { BlockGeometry, BlockKind, BranchRoles } from './records.js';

/** What the memory estimate and the counts read of a block: a {@link BlockRecord} or a fused checkpoint block. */
export interface BlockDimensions extends BlockGeometry {
  /** The train-form branches; without them the block is one conv (deploy form). */
  readonly branches?: BranchRoles;
  /** The block's kind: a 'qarepvgg' block has BNs on its kxk branches and after the sum only. */
  readonly kind?: BlockKind;
}

/**
 * The weights of a block's convs and BNs in `form`, without its squeeze-excite
 * (whose width the layers choose). Train form: each kxk branch's conv, the 1x1
 * scale branch's, and four vectors per BN (gamma, beta, mean, variance), the
 * identity branch's included (QARepVGG: the kxk branches' and the one after
 * the sum); convs have no bias. Deploy form, or a block
 * without `branches`: one kxk conv with bias.
 */
export function blockWeights(b: BlockDimensions, form: 'train' | 'deploy'): number {
  const conv = (k: number) => b.outChannels * (b.inChannels / b.groups) * k * k;
  if (form === 'deploy' || b.branches === undefined) return conv(b.kernelSize) + b.outChannels;
  const { kxk, scale, identity } = b.branches;
  const bns = b.kind === 'qarepvgg' ? kxk + 1 : kxk + (scale ? 1 : 0) + (identity ? 1 : 0);
  return kxk * conv(b.kernelSize) + (scale ? conv(1) : 0) + bns * 4 * b.outChannels;
}
