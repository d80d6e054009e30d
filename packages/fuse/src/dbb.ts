import { FuseError } from './errors.js';
import { type ConvBranch, type FoldedConv, foldBranches } from './fold-branches.js';
import {
  convertKernel,
  type Kernel,
  type KernelLayout,
  kernelView,
  shapeFor,
} from './kernel-layout.js';
import { validateKernel, validatePositiveInt } from './validate.js';

/**
 * Merges a 1x1 conv followed by a kxk conv into one kxk conv (Diverse Branch
 * Block, Ding et al., CVPR 2021):
 * `W[o, c] = sum_d W2[o, d] * W1[d, c]` within each group, and
 * `b[o] = b2[o] + sum_{d,h,w} W2[o, d, h, w] * b1[d]`.
 * Both branches may carry a BN, which is folded first.
 *
 * Exact when the kxk conv has no padding, or when its padding is filled with the
 * 1x1 output's per-channel bias instead of zeros (DBB's "BN and pad" layer):
 * with zero padding the border taps would miss `b1`.
 */
export function mergeSequentialConvs<L extends KernelLayout>(
  first: ConvBranch<L>,
  second: ConvBranch<L>,
  groups = 1,
): FoldedConv<L> {
  const op = 'mergeSequentialConvs';
  validatePositiveInt(op, 'groups', groups);
  const v1 = validateKernel(op, 'first.kernel', first?.kernel);
  const v2 = validateKernel(op, 'second.kernel', second?.kernel);
  const shapes = {
    [`first.kernel ${first.kernel.layout}`]: first.kernel.shape,
    [`second.kernel ${second.kernel.layout}`]: second.kernel.shape,
  };
  if (first.kernel.layout !== second.kernel.layout) {
    throw new FuseError(
      op,
      'second.kernel',
      `has layout ${second.kernel.layout}, but first.kernel is ${first.kernel.layout}`,
      shapes,
    );
  }
  if (first.kernel.layout === 'HWIM') {
    throw new FuseError(
      op,
      'first.kernel',
      'is HWIM; convert depthwise kernels to OIHW with groups == channels first',
      shapes,
    );
  }
  if (v1.kh !== 1 || v1.kw !== 1) {
    throw new FuseError(op, 'first.kernel', `is ${v1.kh}x${v1.kw}, expected 1x1`, shapes);
  }
  const mid = v1.out;
  if (mid % groups !== 0 || v2.out % groups !== 0) {
    throw new FuseError(
      op,
      'groups',
      `is ${groups}, which does not divide ${mid} middle and ${v2.out} output channels`,
      shapes,
    );
  }
  if (v2.inPerGroup * groups !== mid) {
    throw new FuseError(
      op,
      'second.kernel',
      `reads ${v2.inPerGroup} x ${groups} groups = ${v2.inPerGroup * groups} channels, but first.kernel produces ${mid}`,
      shapes,
    );
  }
  const a = foldBranches({ branches: [first] }, {}, op, ['first']);
  const b = foldBranches({ branches: [second] }, {}, op, ['second']);
  const w1 = convertKernel(a.kernel, 'OIHW').data; // [mid, cpg, 1, 1]
  const w2 = convertKernel(b.kernel, 'OIHW').data; // [out, mpg, kh, kw]
  const cpg = v1.inPerGroup;
  const mpg = v2.inPerGroup;
  const opg = v2.out / groups;
  const taps = v2.kh * v2.kw;
  const merged = new Float32Array(v2.out * cpg * taps);
  const bias = new Float32Array(v2.out);
  for (let o = 0; o < v2.out; o++) {
    const g = Math.floor(o / opg);
    let acc = b.bias[o]!;
    for (let dl = 0; dl < mpg; dl++) {
      const d = g * mpg + dl;
      const w2Row = (o * mpg + dl) * taps;
      for (let t = 0; t < taps; t++) acc += w2[w2Row + t]! * a.bias[d]!;
      for (let c = 0; c < cpg; c++) {
        const w1v = w1[d * cpg + c]!;
        const dst = (o * cpg + c) * taps;
        for (let t = 0; t < taps; t++) merged[dst + t]! += w2[w2Row + t]! * w1v;
      }
    }
    bias[o] = acc;
  }
  const layout = second.kernel.layout;
  const oihw: Kernel<'OIHW'> = { layout: 'OIHW', shape: [v2.out, cpg, v2.kh, v2.kw], data: merged };
  return { kernel: convertKernel(oihw, layout), bias };
}

export interface AvgPoolKernelArgs<L extends KernelLayout> {
  readonly channels: number;
  readonly kernelSize: number;
  /** Groups of the conv that will hold it; DBB uses the block's groups. */
  readonly groups?: number;
  readonly layout: L;
}

/**
 * Average pooling as a convolution: weight 1/k^2 on every tap of input channel
 * `o % (channels/groups)` for output `o`. Equal to a k x k average pool whose
 * zero padding is counted in the mean (PyTorch's `count_include_pad=True`);
 * TF's 'same' average pooling excludes padding and differs at the borders.
 */
export function avgPoolKernel<L extends KernelLayout>(args: AvgPoolKernelArgs<L>): Kernel<L> {
  const op = 'avgPoolKernel';
  const { channels, kernelSize: k, layout } = args;
  validatePositiveInt(op, 'channels', channels);
  validatePositiveInt(op, 'kernelSize', k);
  const groups = layout === 'HWIM' ? channels : (args.groups ?? 1);
  validatePositiveInt(op, 'groups', groups);
  if (channels % groups !== 0) {
    throw new FuseError(op, 'groups', `is ${groups}, which does not divide ${channels} channels`);
  }
  const ipg = channels / groups;
  const shape = shapeFor(layout, channels, ipg, k, k, layout === 'HWIM' ? channels : undefined);
  const kernel: Kernel<L> = { layout, shape, data: new Float32Array(channels * ipg * k * k) };
  const v = kernelView(kernel);
  const value = 1 / (k * k);
  for (let o = 0; o < channels; o++) {
    const i = o % ipg;
    for (let h = 0; h < k; h++) {
      for (let w = 0; w < k; w++) {
        kernel.data[o * v.strideO + i * v.strideI + h * v.strideH + w * v.strideW] = value;
      }
    }
  }
  return kernel;
}
