/**
 * Everything `foldBranches` refuses before it computes anything: kernels that
 * disagree in layout or channels, groups, a kernel size that cannot hold or
 * centre every branch, BatchNorms and biases of the wrong size or value, an
 * identity the block's shape does not allow, `into` buffers that do not fit.
 * What it returns is what the placement reads, each branch with the float64
 * affine map of its BN (checked and computed in one pass).
 */
import { type AffineChannels, checkedBatchNormAffine } from './batchnorm.js';
import { FuseError } from './errors.js';
import type { FoldBranchesArgs, FoldInto } from './fold-args.js';
import { type Kernel, type KernelLayout, type Shape4, shapeFor } from './kernel-layout.js';
import { validateChannelVector, validateKernel, validatePositiveInt } from './validate.js';

/** A branch as the placement reads it: its kernel data and size, BN map and bias. */
export interface CheckedBranch {
  readonly data: Float32Array;
  readonly kh: number;
  readonly kw: number;
  readonly affine: AffineChannels | null;
  readonly bias: Float32Array | undefined;
  /** The argument path that names the branch's kernel in errors. */
  readonly argument: string;
}

/** A fold whose inputs all checked out. */
export interface CheckedFold<L extends KernelLayout> {
  readonly op: string;
  readonly layout: L;
  readonly out: number;
  readonly inPerGroup: number;
  /** The folded kernel's size. */
  readonly kh: number;
  readonly kw: number;
  readonly targetShape: Shape4;
  readonly channelsLast: boolean;
  readonly branches: readonly CheckedBranch[];
  /** The identity's BN map, `true` for a plain `x`, or undefined for none. */
  readonly identity: AffineChannels | true | undefined;
  readonly into: FoldInto<L>;
  /** Shapes of the branch kernels, for errors the placement raises. */
  readonly shapes: Record<string, readonly number[]>;
}

/**
 * Checks a fold's arguments, in the order a reader meets them: branch kernels,
 * groups, kernel size, each branch's centring, BN and bias, the identity, then
 * `into`. The first problem throws a FuseError naming its argument.
 */
export function checkFoldBranches<L extends KernelLayout>(
  args: FoldBranchesArgs<L>,
  into: FoldInto<L>,
  op: string,
  names: readonly string[],
): CheckedFold<L> {
  const branches = args?.branches;
  const [first] = Array.isArray(branches) ? branches : [];
  if (first === undefined) {
    throw new FuseError(op, 'branches', 'must be a non-empty array of { kernel, bias?, bn? }');
  }
  // Argument paths in errors follow the caller's own parameter names.
  const prefix = (b: number) => names[b] ?? `branches[${b}]`;
  const arg = (b: number, field: string) => (prefix(b) === '' ? field : `${prefix(b)}.${field}`);
  const v0 = validateKernel(op, arg(0, 'kernel'), first.kernel);
  const layout = first.kernel.layout;
  const shapes: Record<string, readonly number[]> = {};
  const views = branches.map((br, b) => {
    const v = validateKernel(op, arg(b, 'kernel'), br.kernel);
    shapes[`${arg(b, 'kernel')} ${br.kernel.layout}`] = br.kernel.shape;
    return v;
  });
  branches.forEach(({ kernel: k }, b) => {
    const v = views[b];
    if (b === 0 || v === undefined) return;
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
  });

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

  const checked = branches.map((br, b): CheckedBranch => {
    const { kh, kw } = views[b] ?? v0;
    if ((KH - kh) % 2 !== 0 || (KW - kw) % 2 !== 0) {
      throw new FuseError(
        op,
        arg(b, 'kernel'),
        `is ${kh}x${kw} and cannot be centred in ${KH}x${KW} (the size difference must be even)`,
        shapes,
      );
    }
    const affine =
      br.bn !== undefined ? checkedBatchNormAffine(op, arg(b, 'bn'), br.bn, out, shapes) : null;
    if (br.bias !== undefined) validateChannelVector(op, arg(b, 'bias'), br.bias, out, shapes);
    return { data: br.kernel.data, kh, kw, affine, bias: br.bias, argument: arg(b, 'kernel') };
  });

  let identity: AffineChannels | true | undefined;
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
    identity =
      args.identity === true
        ? true
        : checkedBatchNormAffine(op, 'identity', args.identity, out, shapes);
  }

  const targetShape = shapeFor(layout, out, ipg, KH, KW, hwimChannels);
  if (into.kernel !== undefined) checkIntoKernel(op, into.kernel, layout, targetShape, checked);
  if (into.bias !== undefined) {
    if (!(into.bias instanceof Float32Array) || into.bias.length !== out) {
      throw new FuseError(op, 'into.bias', `must be a Float32Array of ${out} channels`);
    }
  }
  return {
    op,
    layout,
    out,
    inPerGroup: ipg,
    kh: KH,
    kw: KW,
    targetShape,
    channelsLast: v0.channelsLast,
    branches: checked,
    identity,
    into,
    shapes,
  };
}

/** `into.kernel` must have the folded kernel's layout and shape, in memory of its own. */
function checkIntoKernel(
  op: string,
  t: Kernel,
  layout: KernelLayout,
  targetShape: Shape4,
  branches: readonly CheckedBranch[],
): void {
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
  if (branches.some((p) => p.data.buffer === t.data.buffer)) {
    throw new FuseError(
      op,
      'into.kernel',
      'shares memory with a branch kernel; fold into a separate buffer',
    );
  }
}
