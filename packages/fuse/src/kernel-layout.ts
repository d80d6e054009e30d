import { FuseError } from './errors.js';

/**
 * Memory layouts of a 4-D convolution kernel, outermost dimension first.
 * - `OIHW`: PyTorch and ONNX, [out, in/groups, kh, kw].
 * - `HWIO`: TF.js `conv2d`, [kh, kw, in/groups, out].
 * - `HWIM`: TF.js `depthwiseConv2d`, [kh, kw, channels, multiplier]; output
 *   channel `c * multiplier + m` reads input channel `c` only (groups == channels).
 */
export type KernelLayout = 'OIHW' | 'HWIO' | 'HWIM';

export type Shape4 = readonly [number, number, number, number];

/** A convolution kernel whose layout travels with its data, so nobody guesses. */
export interface Kernel<L extends KernelLayout = KernelLayout> {
  readonly layout: L;
  /** Dimensions in the order the layout names them. */
  readonly shape: Shape4;
  /** Row-major data, `shape` product long. */
  readonly data: Float32Array;
}

export type KernelOIHW = Kernel<'OIHW'>;
export type KernelHWIO = Kernel<'HWIO'>;
export type KernelHWIM = Kernel<'HWIM'>;

/**
 * A layout-free view of a kernel: the output channel count, the input channels
 * each output sees (in/groups), the spatial size, and the element strides of
 * those four axes in `data`. Every fold works on this view, so one loop serves
 * all three layouts.
 */
export interface KernelView {
  readonly out: number;
  readonly inPerGroup: number;
  readonly kh: number;
  readonly kw: number;
  readonly strideO: number;
  readonly strideI: number;
  readonly strideH: number;
  readonly strideW: number;
  /** True when output channels are the innermost axis (HWIO, HWIM). */
  readonly channelsLast: boolean;
}

const LAYOUTS: readonly KernelLayout[] = ['OIHW', 'HWIO', 'HWIM'];

function checkShape(op: string, arg: string, shape: readonly number[]): asserts shape is Shape4 {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new FuseError(op, arg, 'must be 4 positive integers', { [arg]: shape });
  }
}

/**
 * Wraps `data` (or a new zero buffer) as a kernel of the given layout and shape.
 * The data is not copied.
 */
export function makeKernel<L extends KernelLayout>(
  layout: L,
  shape: readonly number[],
  data?: Float32Array,
): Kernel<L> {
  const op = 'makeKernel';
  if (!LAYOUTS.includes(layout)) {
    throw new FuseError(
      op,
      'layout',
      `is '${String(layout)}', expected one of ${LAYOUTS.join(', ')}`,
    );
  }
  checkShape(op, 'shape', shape);
  const size = shape[0] * shape[1] * shape[2] * shape[3];
  if (data === undefined) data = new Float32Array(size);
  if (!(data instanceof Float32Array)) {
    throw new FuseError(op, 'data', 'must be a Float32Array');
  }
  if (data.length !== size) {
    throw new FuseError(op, 'data', `has ${data.length} elements, expected ${size}`, {
      shape,
    });
  }
  return { layout, shape: [shape[0], shape[1], shape[2], shape[3]], data };
}

/** The layout-free view of `k`, see {@link KernelView}. */
export function kernelView(k: Kernel): KernelView {
  const [a, b, c, d] = k.shape;
  switch (k.layout) {
    case 'OIHW':
      return {
        out: a,
        inPerGroup: b,
        kh: c,
        kw: d,
        strideO: b * c * d,
        strideI: c * d,
        strideH: d,
        strideW: 1,
        channelsLast: false,
      };
    case 'HWIO':
      return {
        out: d,
        inPerGroup: c,
        kh: a,
        kw: b,
        strideO: 1,
        strideI: d,
        strideH: b * c * d,
        strideW: c * d,
        channelsLast: true,
      };
    case 'HWIM':
      // Output channel o = c * M + m is the flattened innermost pair, and each
      // output sees exactly one input channel, so it is HWIO with I = 1.
      return {
        out: c * d,
        inPerGroup: 1,
        kh: a,
        kw: b,
        strideO: 1,
        strideI: 0,
        strideH: b * c * d,
        strideW: c * d,
        channelsLast: true,
      };
  }
}

/** Shape of a kernel of `layout` with the given logical dimensions. */
export function shapeFor(
  layout: KernelLayout,
  out: number,
  inPerGroup: number,
  kh: number,
  kw: number,
  channels?: number,
): Shape4 {
  switch (layout) {
    case 'OIHW':
      return [out, inPerGroup, kh, kw];
    case 'HWIO':
      return [kh, kw, inPerGroup, out];
    case 'HWIM': {
      const c = channels ?? out;
      return [kh, kw, c, out / c];
    }
  }
}

/** Permutes OIHW <-> HWIO. HWIM is HWIO with I = 1 in memory, so it shares this. */
function transpose(src: Float32Array, view: KernelView, toChannelsLast: boolean): Float32Array {
  const { out, inPerGroup: ipg, kh, kw } = view;
  const dst = new Float32Array(src.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < ipg; i++) {
      for (let h = 0; h < kh; h++) {
        for (let w = 0; w < kw; w++) {
          const oihw = ((o * ipg + i) * kh + h) * kw + w;
          const hwio = ((h * kw + w) * ipg + i) * out + o;
          if (toChannelsLast) dst[hwio] = src[oihw]!;
          else dst[oihw] = src[hwio]!;
        }
      }
    }
  }
  return dst;
}

/** The same kernel in OIHW (PyTorch/ONNX) layout. Always a new buffer. */
export function toOIHW(k: Kernel): KernelOIHW {
  if (k.layout === 'OIHW') return { ...k, layout: 'OIHW', data: k.data.slice() };
  const v = kernelView(k);
  return {
    layout: 'OIHW',
    shape: [v.out, v.inPerGroup, v.kh, v.kw],
    data: transpose(k.data, v, false),
  };
}

/**
 * The same kernel in HWIO (TF.js conv2d) layout. Always a new buffer. A depthwise
 * HWIM kernel becomes [kh, kw, 1, C*M], the grouped form with groups == C.
 */
export function toHWIO(k: Kernel): KernelHWIO {
  const v = kernelView(k);
  const shape: Shape4 = [v.kh, v.kw, v.inPerGroup, v.out];
  if (k.layout === 'HWIO' || k.layout === 'HWIM') {
    return { layout: 'HWIO', shape, data: k.data.slice() };
  }
  return { layout: 'HWIO', shape, data: transpose(k.data, v, true) };
}

/**
 * The same depthwise kernel in HWIM (TF.js depthwiseConv2d) layout. `channels`
 * is the input channel count C (== groups); the kernel must see one input
 * channel per output (in/groups == 1) and have C * M outputs.
 */
export function toHWIM(k: Kernel, channels: number): KernelHWIM {
  const op = 'toHWIM';
  const v = kernelView(k);
  if (v.inPerGroup !== 1) {
    throw new FuseError(
      op,
      'kernel',
      `is not depthwise: it has ${v.inPerGroup} inputs per group, expected 1`,
      {
        [`kernel ${k.layout}`]: k.shape,
      },
    );
  }
  if (!Number.isInteger(channels) || channels <= 0 || v.out % channels !== 0) {
    throw new FuseError(
      op,
      'channels',
      `is ${channels}, which does not divide the ${v.out} output channels`,
      {
        [`kernel ${k.layout}`]: k.shape,
      },
    );
  }
  const shape: Shape4 = [v.kh, v.kw, channels, v.out / channels];
  if (k.layout === 'OIHW') {
    return { layout: 'HWIM', shape, data: transpose(k.data, v, true) };
  }
  return { layout: 'HWIM', shape, data: k.data.slice() };
}

/** Converts to `layout`; `channels` is needed (and only used) for HWIM. */
export function convertKernel<L extends KernelLayout>(
  k: Kernel,
  layout: L,
  channels?: number,
): Kernel<L> {
  switch (layout) {
    case 'OIHW':
      return toOIHW(k) as Kernel<L>;
    case 'HWIO':
      return toHWIO(k) as Kernel<L>;
    case 'HWIM': {
      if (channels === undefined && k.layout === 'HWIM') return toHWIM(k, k.shape[2]) as Kernel<L>;
      if (channels === undefined) {
        throw new FuseError('convertKernel', 'channels', 'is required to convert to HWIM');
      }
      return toHWIM(k, channels) as Kernel<L>;
    }
    default:
      throw new FuseError(
        'convertKernel',
        'layout',
        `is '${String(layout)}', expected one of ${LAYOUTS.join(', ')}`,
      );
  }
}
