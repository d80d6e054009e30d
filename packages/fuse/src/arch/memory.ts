/**
 * How much memory one batch of a network needs, from its blocks alone (the
 * architecture record, or the blocks of a fused checkpoint): nothing is built
 * or run. It is an estimate in float32 bytes, meant to refuse input sizes and
 * batches that cannot fit long before TF.js would allocate them, not to
 * predict an allocator to the byte.
 *
 * What it counts, per image and then times the batch:
 * - for training, what TF.js holds at the end of a step's backward pass, where
 *   it peaks: every tensor the forward created (its tape keeps them for the
 *   backward pass: per conv branch a conv and a BN output, a BN output for the
 *   identity branch, one add per branch after the first, the activation; in
 *   deploy form the conv and the activation), and every gradient of them, since
 *   TF.js frees none before the pass ends (per block the activation's, each
 *   BN's, and one of the block's input size per path into the block; none for
 *   the network's input); on top, the largest conv's patch matrix with its
 *   index table (k*k*(in/groups + 1) values per output position), which a
 *   filter gradient computed as a matrix product builds (RepNets' wasm kernels
 *   do); and the weights four times (weights, gradients, and up to two
 *   optimizer slots);
 * - for inference, only the largest block's input and tensors at once (TF.js
 *   releases a layer's inputs once their last reader has run), and the
 *   weights once.
 * Measured against the wasm heap a training step really grew to (RepVGG-A0,
 * B0, our compact RepVGG, MobileOne-S0/S1, 64-256 px), the training count is
 * within 7-20% below it: what is left is the allocator's own (see the CLI's
 * memory check, which adds it for wasm).
 * Grouped convs that are not depthwise count their split and concat copies
 * (see `splitCopies`). Squeeze-excite and pooling are small next to the block
 * outputs and are left out.
 */
import { type BlockDimensions, blockWeights } from './weight-count.js';

export type { BlockDimensions } from './weight-count.js';

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

/** The convs and paths of a block in the form that runs (a block without branches is one conv). */
function pathsOf(b: BlockDimensions, form: 'train' | 'deploy') {
  if (form === 'deploy' || b.branches === undefined) return { convs: 1, identity: 0, paths: 1 };
  const convs = b.branches.kxk + (b.branches.scale ? 1 : 0);
  const identity = b.branches.identity ? 1 : 0;
  return { convs, identity, paths: convs + identity };
}

/** Tensors of a block's output size that one forward of the block creates. */
function tensorsPerBlock(b: BlockDimensions, form: 'train' | 'deploy'): number {
  if (form === 'deploy' || b.branches === undefined) return 2;
  const { convs, identity, paths } = pathsOf(b, form);
  return 2 * convs + identity + (paths - 1) + 1;
}

/**
 * Gradient elements of a block per image, all alive at the end of the
 * backward pass: the activation's and each conv branch's BN's (output size),
 * and one per path into the block for its input (`inputElements`; 0 for the
 * network's input, whose gradient TF.js never computes). Adds pass their
 * gradient on without a copy.
 */
function gradientsPerBlock(
  b: BlockDimensions,
  form: 'train' | 'deploy',
  outElements: number,
  inputElements: number,
): number {
  const { convs, paths } = pathsOf(b, form);
  const bns = form === 'deploy' || b.branches === undefined ? 0 : convs;
  return outElements * (1 + bns) + inputElements * paths;
}

/**
 * Grouped convs that are not depthwise: TF.js has no groups argument, so each
 * is run as split, one conv per group, concat (see @repnets/blocks). Per such
 * conv the forward keeps the split copy of the input, and the backward makes
 * the output's gradient in slices, each slice's input gradient and their
 * concat: an output and two inputs more. Returns how many such convs the block has.
 */
function splitCopies(b: BlockDimensions, form: 'train' | 'deploy'): number {
  if (b.groups === 1 || b.groups === b.inChannels) return 0;
  return pathsOf(b, form).convs;
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
  let gradients = 0; // train: every gradient of one image
  let patches = 0; // train: the largest conv's patch matrix and index table, per image
  let peak = 0; // inference: the most one block holds at once, per image
  let weights = 0;
  let previous = inputElements;
  for (const [i, b] of net.blocks.entries()) {
    height = Math.floor((height - 1) / b.stride) + 1;
    width = Math.floor((width - 1) / b.stride) + 1;
    const out = height * width * b.outChannels;
    const created = tensorsPerBlock(b, form) * out;
    const split = splitCopies(b, form);
    kept += created + split * previous;
    gradients +=
      gradientsPerBlock(b, form, out, i === 0 ? 0 : previous) + split * (out + 2 * previous);
    patches = Math.max(
      patches,
      height * width * b.kernelSize * b.kernelSize * (b.inChannels / b.groups + 1),
    );
    peak = Math.max(peak, previous + created);
    weights += blockWeights(b, form);
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
  const activations =
    batch * (purpose === 'train' ? kept + gradients + patches : Math.max(peak, previous));
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
