/**
 * How much memory one batch of a network needs, from its blocks alone (the
 * architecture record, or the blocks of a fused checkpoint): nothing is built
 * or run. It is an estimate in float32 bytes, meant to refuse input sizes and
 * batches that cannot fit long before TF.js would allocate them, not to
 * predict an allocator to the byte.
 *
 * What it counts, per image and then times the batch:
 * - every tensor a block's forward creates, each of the block's output size:
 *   in train form a conv and a BN output per conv branch, a BN output for the
 *   identity branch, the branch sum and the activation; in deploy form the
 *   conv (bias included) and the activation;
 * - for training, all of them at once (the backward pass reads them) plus the
 *   largest block's again (its gradients), and the weights four times
 *   (weights, gradients, and up to two optimizer slots);
 * - for inference, only the largest block's input and tensors at once (TF.js
 *   releases a layer's inputs once their last reader has run), and the
 *   weights once.
 * Squeeze-excite, pooling and the split/concat of grouped convs are small next
 * to the block outputs and are left out.
 */
import type { BranchRoles } from './records.js';

/** What the estimate reads of a block: a {@link BlockRecord} or a fused checkpoint block. */
export interface BlockDimensions {
  readonly name: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly groups: number;
  /** The train-form branches; without them the block is one conv (deploy form). */
  readonly branches?: BranchRoles;
}

/** What the estimate reads of a network: a {@link NetworkRecord} fits. */
export interface NetworkShape {
  readonly input: { readonly height: number; readonly width: number; readonly channels: number };
  readonly blocks: readonly BlockDimensions[];
  /** Classifier outputs after the last block (global pooling, dense), when the network has one. */
  readonly numClasses?: number;
}

export interface MemoryEstimateOptions {
  /** Images per batch. */
  readonly batch: number;
  /** 'train': a training step (forward, backward, update); 'inference': a forward pass. */
  readonly purpose: 'train' | 'inference';
  /** The form that runs: 'train' (every branch; blocks without branches are one conv) or 'deploy'. Default 'train'. */
  readonly form?: 'train' | 'deploy';
}

/** One tensor: where it comes from, its shape (batch first, NHWC) and its element count. */
export interface TensorSize {
  /** 'input' or the block whose output it is. */
  readonly name: string;
  readonly shape: readonly number[];
  readonly elements: number;
}

export interface MemoryEstimate {
  /** The whole estimate: activations and weights, float32. */
  readonly bytes: number;
  readonly activationBytes: number;
  readonly weightBytes: number;
  /** The largest single tensor, which one typed array (one TF.js tensor) must hold. */
  readonly largestTensor: TensorSize;
}

const BYTES = 4;

/** Tensors of a block's output size that one forward of the block creates. */
function tensorsPerBlock(b: BlockDimensions, form: 'train' | 'deploy'): number {
  if (form === 'deploy' || b.branches === undefined) return 2;
  const convs = b.branches.kxk + (b.branches.scale ? 1 : 0);
  const paths = convs + (b.branches.identity ? 1 : 0);
  return 2 * convs + (b.branches.identity ? 1 : 0) + (paths > 1 ? 1 : 0) + 1;
}

/** Weights of a block in the form that runs (BN: gamma, beta, mean, variance). */
function weightsPerBlock(b: BlockDimensions, form: 'train' | 'deploy'): number {
  const perConv = (k: number) => b.outChannels * (b.inChannels / b.groups) * k * k;
  if (form === 'deploy' || b.branches === undefined) return perConv(b.kernelSize) + b.outChannels;
  const bns = b.branches.kxk + (b.branches.scale ? 1 : 0) + (b.branches.identity ? 1 : 0);
  return (
    b.branches.kxk * perConv(b.kernelSize) +
    (b.branches.scale ? perConv(1) : 0) +
    bns * 4 * b.outChannels
  );
}

/**
 * The memory one batch of `net` needs for `options.purpose` (see the module
 * comment for what is counted). Sizes follow the blocks' symmetric padding:
 * an output side is ceil(input side / stride).
 */
export function estimateMemory(net: NetworkShape, options: MemoryEstimateOptions): MemoryEstimate {
  const { batch, purpose } = options;
  const form = options.form ?? 'train';
  let { height, width } = net.input;
  const inputElements = height * width * net.input.channels;
  let largest: TensorSize = {
    name: 'input',
    shape: [batch, height, width, net.input.channels],
    elements: batch * inputElements,
  };
  let kept = inputElements; // train: every activation of one image
  let peak = 0; // the most one block holds at once, per image
  let weights = 0;
  let previous = inputElements;
  for (const b of net.blocks) {
    height = Math.floor((height - 1) / b.stride) + 1;
    width = Math.floor((width - 1) / b.stride) + 1;
    const out = height * width * b.outChannels;
    const created = tensorsPerBlock(b, form) * out;
    kept += created;
    peak = Math.max(peak, purpose === 'train' ? created : previous + created);
    weights += weightsPerBlock(b, form);
    if (batch * out > largest.elements)
      largest = {
        name: b.name,
        shape: [batch, height, width, b.outChannels],
        elements: batch * out,
      };
    previous = out;
  }
  const last = net.blocks.at(-1)?.outChannels ?? net.input.channels;
  if (net.numClasses !== undefined) weights += last * net.numClasses + net.numClasses;
  const activations = batch * (purpose === 'train' ? kept + peak : Math.max(peak, previous));
  const weightCopies = purpose === 'train' ? 4 : 1;
  const activationBytes = activations * BYTES;
  const weightBytes = weights * weightCopies * BYTES;
  return {
    bytes: activationBytes + weightBytes,
    activationBytes,
    weightBytes,
    largestTensor: largest,
  };
}
