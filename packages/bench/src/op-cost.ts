/**
 * The cost model of one executed TF.js op. Conventions (per image, float32):
 * - `macs`: multiply-accumulates of convolutions and matrix products only, the
 *   papers' convention (BN, adds, activations and pooling count 0).
 * - memory access cost (ShuffleNetV2, Ma et al. 2018): every op reads its input
 *   activations and its weights once and writes its output once; what TF.js
 *   fuses into one op (Conv2D's bias and ReLU, Dense's bias) costs nothing extra.
 */
export interface OpCost {
  /** What runs, e.g. 'conv2d', 'depthwiseConv2d', 'matMul', 'batchNorm', 'add', 'relu', 'split'. */
  readonly op: string;
  /** The block branch it belongs to, by role ('kxk', 'kxk0'…, 'scale', 'identity', 'se'), if any. */
  readonly branch?: string;
  readonly macs: number;
  /** Bytes of weights (kernels, biases, BN parameters and statistics) read. */
  readonly weightBytes: number;
  /** Bytes of input activations read. */
  readonly readBytes: number;
  /** Bytes of output activations written. */
  readonly writeBytes: number;
  /** Whether it counts as a layer: a conv, a dense or a BatchNorm op. */
  readonly layer: boolean;
}

export const BYTES_PER_FLOAT = 4;

interface OpArgs {
  readonly branch?: string;
  readonly macs?: number;
  /** Elements of each input activation read. */
  readonly reads: readonly number[];
  /** Elements of weights read. */
  readonly weights?: number;
  /** Elements written. */
  readonly writes: number;
  readonly layer?: boolean;
}

export function op(name: string, a: OpArgs): OpCost {
  return {
    op: name,
    ...(a.branch === undefined ? {} : { branch: a.branch }),
    macs: a.macs ?? 0,
    weightBytes: (a.weights ?? 0) * BYTES_PER_FLOAT,
    readBytes: a.reads.reduce((n, r) => n + r, 0) * BYTES_PER_FLOAT,
    writeBytes: a.writes * BYTES_PER_FLOAT,
    layer: a.layer ?? false,
  };
}

/** Memory access cost of an op in bytes: weights + activations read + activations written. */
export function memoryAccess(o: OpCost): number {
  return o.weightBytes + o.readBytes + o.writeBytes;
}

/** Activations tf.layers fuses into Conv2D and Dense (tfjs-layers mapActivationToFusedKernel). */
const FUSED = new Set(['relu', 'linear', 'elu']);

/**
 * The separate op an activation runs as, if any: none for 'linear', none when
 * fused into the preceding conv/dense, else one elementwise read + write.
 */
export function activationOps(
  activation: string | undefined,
  elementsOut: number,
  opts: { fused: boolean; branch?: string },
): OpCost[] {
  const name = activation ?? 'linear';
  if (name === 'linear' || (opts.fused && FUSED.has(name))) return [];
  return [op(name, { branch: opts.branch, reads: [elementsOut], writes: elementsOut })];
}

/**
 * n-ary elementwise layers (Add, Multiply, ...) run as n-1 binary ops, each
 * reading its two operands and writing one output of the result's size.
 */
export function binaryChain(
  name: string,
  inputs: readonly number[],
  out: number,
  branch?: string,
): OpCost[] {
  const ops: OpCost[] = [];
  for (let i = 1; i < inputs.length; i++) {
    ops.push(op(name, { branch, reads: [i === 1 ? inputs[0]! : out, inputs[i]!], writes: out }));
  }
  return ops;
}

export interface ConvGeometry {
  /** Elements of the input activation. */
  readonly input: number;
  /** Input channels. */
  readonly inChannels: number;
  /** Kernel HWIO [kh, kw, in/groups, out]. */
  readonly kernel: readonly number[];
  /** Elements of the output activation. */
  readonly output: number;
  /** Output height * width. */
  readonly outPixels: number;
  /** Bias elements read by the conv op itself (fused), 0 when none. */
  readonly fusedBias?: number;
  readonly branch?: string;
}

/**
 * A (grouped) conv as @repnets/blocks runs it (`groupedConv2d`): groups == 1 is
 * one conv2d; groups == in channels with one input channel per group is one
 * depthwiseConv2d; otherwise TF.js has no grouped conv, so the input and the
 * kernel are split, each group convolved, and the outputs concatenated — every
 * split and the concat copy their tensor once more.
 */
export function groupedConvOps(g: ConvGeometry): OpCost[] {
  const [kh, kw, ipg, out] = g.kernel as [number, number, number, number];
  const kernel = kh * kw * ipg * out;
  const macs = g.outPixels * kernel;
  const bias = g.fusedBias ?? 0;
  const groups = g.inChannels / ipg;
  const branch = g.branch;
  if (groups === 1) {
    return [
      op('conv2d', {
        branch,
        macs,
        reads: [g.input],
        weights: kernel + bias,
        writes: g.output,
        layer: true,
      }),
    ];
  }
  if (ipg === 1) {
    return [
      op('depthwiseConv2d', {
        branch,
        macs,
        reads: [g.input],
        weights: kernel + bias,
        writes: g.output,
        layer: true,
      }),
    ];
  }
  return [
    op('split', { branch, reads: [g.input], writes: g.input }),
    op('split', { branch, reads: [], weights: kernel, writes: kernel }),
    op(`conv2d x${groups}`, {
      branch,
      macs,
      reads: [g.input],
      weights: kernel + bias,
      writes: g.output,
      layer: true,
    }),
    op('concat', { branch, reads: [g.output], writes: g.output }),
  ];
}
