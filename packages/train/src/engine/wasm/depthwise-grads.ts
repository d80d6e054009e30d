/**
 * Depthwise conv gradients for the wasm backend, which registers neither. Each
 * output channel c*M + m reads input channel c only, so these are short
 * per-channel loops in plain JS on the wasm heap, with float64 accumulation for
 * the filter (a sum over every output position); the input gradient at stride 1
 * runs as the backend's own depthwise conv with the kernel rotated.
 */
import * as tf from '@tensorflow/tfjs';
import { type ConvGeometry, convGeometry, tapTable } from './conv-grads.js';
import { callKernel, type KernelArgs, type WasmBackendLike } from './heap.js';
import { heapKernels } from './simd-heap-kernels.js';

/** DepthwiseConv2dNativeBackpropFilter: inputs {x, dy}, attrs {strides, dilations, pad, dimRoundingMode, filterShape}. */
export function depthwiseBackpropFilter({
  inputs,
  backend,
  attrs = {},
}: KernelArgs): tf.TensorInfo {
  const b = backend as WasmBackendLike;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const filterShape = attrs.filterShape as number[];
  const g = convGeometry('DepthwiseConv2dNativeBackpropFilter', x.shape, filterShape, attrs, true);
  const C = g.ci;
  const mult = filterShape[3]!;
  const CM = C * mult;
  const taps = tapTable(g);
  const T = g.kh * g.kw;
  const out = b.makeOutput(filterShape, 'float32');
  const simd = mult === 1 && C % 4 === 0 ? heapKernels(backend) : null;
  if (simd) {
    // The tap table and the float64 accumulators go on the heap for the SIMD loop.
    const tapsInfo = b.makeOutput([taps.length], 'int32');
    const accInfo = b.makeOutput([2 * T * C], 'float32');
    const tapView = b.typedArrayFromHeap(tapsInfo);
    new Int32Array(tapView.buffer, tapView.byteOffset, taps.length).set(taps);
    b.typedArrayFromHeap(accInfo).fill(0);
    const p = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
    simd.dwFilterGrad(p(tapsInfo), taps.length, T, p(x), p(dy), p(accInfo), C * 4);
    const accView = b.typedArrayFromHeap(accInfo);
    b.typedArrayFromHeap(out).set(new Float64Array(accView.buffer, accView.byteOffset, T * C));
    b.disposeData(tapsInfo.dataId);
    b.disposeData(accInfo.dataId);
    return out;
  }
  const acc = new Float64Array(T * CM);
  const xs = b.typedArrayFromHeap(x);
  const dys = b.typedArrayFromHeap(dy);
  for (let mt = 0; mt < taps.length; mt++) {
    const xBase = taps[mt]!;
    if (xBase < 0) continue;
    const dyBase = Math.floor(mt / T) * CM;
    const wBase = (mt % T) * CM;
    if (mult === 1) {
      for (let c = 0; c < C; c++) acc[wBase + c]! += xs[xBase + c]! * dys[dyBase + c]!;
    } else {
      for (let c = 0; c < C; c++) {
        const xv = xs[xBase + c]!;
        for (let m = 0; m < mult; m++)
          acc[wBase + c * mult + m]! += xv * dys[dyBase + c * mult + m]!;
      }
    }
  }
  b.typedArrayFromHeap(out).set(acc);
  return out;
}

/** DepthwiseConv2dNativeBackpropInput: inputs {dy, filter}, attrs {strides, dilations, pad, dimRoundingMode, inputShape}. */
export function depthwiseBackpropInput({ inputs, backend, attrs = {} }: KernelArgs): tf.TensorInfo {
  const b = backend as WasmBackendLike;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const inputShape = attrs.inputShape as number[];
  const g = convGeometry(
    'DepthwiseConv2dNativeBackpropInput',
    inputShape,
    filter.shape,
    attrs,
    true,
  );
  const C = g.ci;
  const mult = filter.shape[3]!;
  if (mult === 1 && g.sh === 1 && g.sw === 1) return depthwiseInputAsConv(b, dy, filter, g);
  const CM = C * mult;
  const out = b.makeOutput(inputShape, 'float32');
  const simd = mult === 1 && C % 4 === 0 ? heapKernels(backend) : null;
  if (simd) {
    const taps = tapTable(g);
    const tapsInfo = b.makeOutput([taps.length], 'int32');
    // Views after the last allocation: a heap growth would detach earlier ones.
    const tapView = b.typedArrayFromHeap(tapsInfo);
    new Int32Array(tapView.buffer, tapView.byteOffset, taps.length).set(taps);
    b.typedArrayFromHeap(out).fill(0);
    const p = (t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
    simd.dwInputGrad(p(tapsInfo), taps.length, g.kh * g.kw, p(dy), p(filter), p(out), C * 4);
    b.disposeData(tapsInfo.dataId);
    return out;
  }
  const dx = b.typedArrayFromHeap(out);
  dx.fill(0);
  const dys = b.typedArrayFromHeap(dy);
  const ws = b.typedArrayFromHeap(filter);
  const taps = tapTable(g);
  const T = g.kh * g.kw;
  for (let mt = 0; mt < taps.length; mt++) {
    const xBase = taps[mt]!;
    if (xBase < 0) continue;
    const dyBase = Math.floor(mt / T) * CM;
    const wBase = (mt % T) * CM;
    if (mult === 1) {
      for (let c = 0; c < C; c++) dx[xBase + c]! += dys[dyBase + c]! * ws[wBase + c]!;
    } else {
      for (let c = 0; c < C; c++) {
        let v = 0;
        for (let m = 0; m < mult; m++) v += dys[dyBase + c * mult + m]! * ws[wBase + c * mult + m]!;
        dx[xBase + c]! += v;
      }
    }
  }
  return out;
}

/**
 * Stride 1, multiplier 1: the input gradient is a depthwise convolution of dy
 * with each channel's kernel rotated by 180 degrees, padded by k-1-p, which the
 * backend runs natively.
 */
function depthwiseInputAsConv(
  b: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: ConvGeometry,
): tf.TensorInfo {
  const { kh, kw, ci } = g;
  const bottom = g.ho - 1 + kh - g.h - g.top;
  const right = g.wo - 1 + kw - g.w - g.left;
  const flipped = b.makeOutput([kh, kw, ci, 1], 'float32');
  const w = b.typedArrayFromHeap(filter);
  const f = b.typedArrayFromHeap(flipped);
  for (let r = 0; r < kh; r++) {
    for (let s = 0; s < kw; s++) {
      const src = ((kh - 1 - r) * kw + (kw - 1 - s)) * ci;
      f.set(w.subarray(src, src + ci), (r * kw + s) * ci);
    }
  }
  const dx = callKernel(
    tf,
    'DepthwiseConv2dNative',
    b,
    { x: dy, filter: flipped },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [kh - 1 - g.top, kh - 1 - bottom],
        [kw - 1 - g.left, kw - 1 - right],
        [0, 0],
      ],
      dilations: [1, 1],
      dimRoundingMode: undefined,
    },
  );
  b.disposeData(flipped.dataId);
  return dx;
}
