import { type AffineChannels, type BatchNorm, checkedBatchNormAffine } from './batchnorm.js';
import { foldRows, type RowBranch } from './engine/fold-rows.js';
import { FuseError } from './errors.js';
import { type Kernel, type KernelLayout, type KernelView, shapeFor } from './kernel-layout.js';
import {
  firstNonFinite,
  validateChannelVector,
  validateKernel,
  validatePositiveInt,
} from './validate.js';

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

interface PlacedBranch extends RowBranch {
  readonly argument: string;
}

/**
 * Folds parallel conv(+bias)(+BN) branches and an optional identity branch into
 * one convolution with bias. Each branch kernel is multiplied per output channel
 * by its BN scale `gamma / sqrt(var + eps)`, centred in the folded kernel
 * (zero-padded symmetrically) and summed; the identity branch adds its BN scale
 * at the centre tap of input channel `o % (in/groups)` for output `o`. Biases:
 * `sum_b (beta_b + (bias_b - mean_b) * scale_b)` (+ `beta - mean * scale` of the
 * identity BN).
 *
 * Exact as long as every branch pads symmetrically by (k-1)/2 and shares the
 * stride: then all of them sample the same input points.
 */
export function foldBranches<L extends KernelLayout>(
  args: FoldBranchesArgs<L>,
  into: FoldInto<L> = {},
  op = 'foldBranches',
  names: readonly string[] = [],
): FoldedConv<L> {
  const branches = args?.branches;
  if (!Array.isArray(branches) || branches.length === 0) {
    throw new FuseError(op, 'branches', 'must be a non-empty array of { kernel, bias?, bn? }');
  }
  // Argument paths in errors follow the caller's own parameter names.
  const prefix = (b: number) => names[b] ?? `branches[${b}]`;
  const arg = (b: number, field: string) => (prefix(b) === '' ? field : `${prefix(b)}.${field}`);
  const first = branches[0]!;
  const v0 = validateKernel(op, arg(0, 'kernel'), first.kernel);
  const layout = first.kernel.layout;
  const shapes: Record<string, readonly number[]> = {};
  const views: KernelView[] = [];
  for (let b = 0; b < branches.length; b++) {
    const k = branches[b]!.kernel;
    const v = validateKernel(op, arg(b, 'kernel'), k);
    shapes[`${arg(b, 'kernel')} ${k.layout}`] = k.shape;
    views.push(v);
  }
  for (let b = 1; b < branches.length; b++) {
    const k = branches[b]!.kernel;
    const v = views[b]!;
    if (k.layout !== layout) {
      throw new FuseError(
        op,
        arg(b, 'kernel'),
        `has layout ${k.layout}, but ${arg(0, 'kernel')} is ${layout}; convert first`,
        shapes,
      );
    }
    if (v.out !== v0.out || v.inPerGroup !== v0.inPerGroup) {
      throw new FuseError(
        op,
        arg(b, 'kernel'),
        `has ${v.out} outputs x ${v.inPerGroup} inputs per group, but ${arg(0, 'kernel')} has ${v0.out} x ${v0.inPerGroup}`,
        shapes,
      );
    }
    if (layout === 'HWIM' && k.shape[2] !== first.kernel.shape[2]) {
      throw new FuseError(
        op,
        arg(b, 'kernel'),
        `has ${k.shape[2]} channels, but ${arg(0, 'kernel')} has ${first.kernel.shape[2]}`,
        shapes,
      );
    }
  }

  const out = v0.out;
  const ipg = v0.inPerGroup;
  const hwimChannels = layout === 'HWIM' ? first.kernel.shape[2] : undefined;
  let groups = args.groups ?? hwimChannels ?? 1;
  validatePositiveInt(op, 'groups', groups);
  if (hwimChannels !== undefined && args.groups !== undefined && groups !== hwimChannels) {
    throw new FuseError(
      op,
      'groups',
      `is ${groups}, but an HWIM kernel is depthwise over ${hwimChannels} channels`,
      shapes,
    );
  }
  if (hwimChannels !== undefined) groups = hwimChannels;
  if (out % groups !== 0) {
    throw new FuseError(
      op,
      'groups',
      `is ${groups}, which does not divide the ${out} output channels`,
      shapes,
    );
  }

  let KH = 0;
  let KW = 0;
  for (const v of views) {
    KH = Math.max(KH, v.kh);
    KW = Math.max(KW, v.kw);
  }
  if (args.kernelSize !== undefined) {
    const ks = args.kernelSize;
    const [th, tw] = typeof ks === 'number' ? [ks, ks] : [ks[0], ks[1]];
    validatePositiveInt(op, 'kernelSize', th);
    validatePositiveInt(op, 'kernelSize', tw);
    if (th < KH || tw < KW) {
      throw new FuseError(
        op,
        'kernelSize',
        `is ${th}x${tw}, smaller than the largest branch ${KH}x${KW}`,
        shapes,
      );
    }
    KH = th;
    KW = tw;
  }
  const placed: PlacedBranch[] = [];
  const biasAcc = new Float64Array(out);
  for (let b = 0; b < branches.length; b++) {
    const br = branches[b]!;
    const v = views[b]!;
    if ((KH - v.kh) % 2 !== 0 || (KW - v.kw) % 2 !== 0) {
      throw new FuseError(
        op,
        arg(b, 'kernel'),
        `is ${v.kh}x${v.kw} and cannot be centred in ${KH}x${KW} (the size difference must be even)`,
        shapes,
      );
    }
    let affine: AffineChannels | null = null;
    if (br.bn !== undefined) affine = checkedBatchNormAffine(op, arg(b, 'bn'), br.bn, out, shapes);
    if (br.bias !== undefined) validateChannelVector(op, arg(b, 'bias'), br.bias, out, shapes);
    for (let o = 0; o < out; o++) {
      const convBias = br.bias ? br.bias[o] : 0;
      biasAcc[o] += affine ? convBias * affine.scale[o] + affine.shift[o] : convBias;
    }
    placed.push({
      data: br.kernel.data,
      kh: v.kh,
      kw: v.kw,
      scale: affine ? Float32Array.from(affine.scale) : null,
      offH: (KH - v.kh) / 2,
      offW: (KW - v.kw) / 2,
      argument: arg(b, 'kernel'),
    });
  }

  let identityScale: Float32Array | null = null;
  if (args.identity !== undefined) {
    if (ipg * groups !== out) {
      throw new FuseError(
        op,
        'identity',
        `needs in == out channels, but the block maps ${ipg * groups} (in/groups ${ipg} x groups ${groups}) to ${out}`,
        shapes,
      );
    }
    if (KH % 2 === 0 || KW % 2 === 0) {
      throw new FuseError(
        op,
        'identity',
        `needs an odd kernel for a centre tap, but the folded kernel is ${KH}x${KW}`,
        shapes,
      );
    }
    if (args.identity === true) {
      identityScale = new Float32Array(out).fill(1);
    } else {
      const affine = checkedBatchNormAffine(op, 'identity', args.identity, out, shapes);
      identityScale = Float32Array.from(affine.scale);
      for (let o = 0; o < out; o++) biasAcc[o] += affine.shift[o];
    }
  }

  const targetShape = shapeFor(layout, out, ipg, KH, KW, hwimChannels);
  let kernel: Kernel<L>;
  if (into.kernel !== undefined) {
    const t = into.kernel;
    validateKernel(op, 'into.kernel', t);
    if (t.layout !== layout || t.shape.some((d, j) => d !== targetShape[j])) {
      throw new FuseError(
        op,
        'into.kernel',
        `must be a ${layout} kernel of shape [${targetShape.join(', ')}]`,
        {
          'into.kernel': t.shape,
        },
      );
    }
    if (placed.some((p) => p.data.buffer === t.data.buffer)) {
      throw new FuseError(
        op,
        'into.kernel',
        'shares memory with a branch kernel; fold into a separate buffer',
      );
    }
    kernel = t;
  } else {
    kernel = { layout, shape: targetShape, data: new Float32Array(out * ipg * KH * KW) };
  }
  let bias: Float32Array;
  if (into.bias !== undefined) {
    if (!(into.bias instanceof Float32Array) || into.bias.length !== out) {
      throw new FuseError(op, 'into.bias', `must be a Float32Array of ${out} channels`);
    }
    bias = into.bias;
  } else {
    bias = new Float32Array(out);
  }
  bias.set(biasAcc);

  // Full-size branches first, so the first one writes the row instead of zero-fill + add.
  placed.sort((a, b) => Number(b.kh === KH && b.kw === KW) - Number(a.kh === KH && a.kw === KW));
  const bad = foldRows(
    { dst: kernel.data, out, inPerGroup: ipg, kh: KH, kw: KW, branches: placed, identityScale },
    v0.channelsLast,
  );
  if (bad >= 0) reportNonFinite(op, placed, bad, shapes);
  return { kernel, bias };
}

function reportNonFinite(
  op: string,
  branches: readonly PlacedBranch[],
  index: number,
  shapes: Record<string, readonly number[]>,
): never {
  for (const br of branches) {
    const j = firstNonFinite(br.data);
    if (j >= 0) {
      throw new FuseError(
        op,
        br.argument,
        `has a non-finite value ${br.data[j]} at element ${j}`,
        shapes,
      );
    }
  }
  throw new FuseError(op, 'branches', `fold overflowed float32 at output element ${index}`, shapes);
}
