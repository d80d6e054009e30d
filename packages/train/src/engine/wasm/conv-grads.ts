/**
 * Conv2D gradients for the wasm backend, built on the kernels it runs fast
 * (XNNPACK forward conv and plain matMul) instead of the stock
 * Conv2DBackpropInput loop; Conv2DBackpropFilter is not registered by the wasm
 * backend at all. With M = N*Ho*Wo output positions and K = kh*kw*Ci:
 *   dW[K, Co] = col(x)^T[K, M] @ dy[M, Co]       (patches built transposed)
 *   dx = conv2d(dy, W rotated 180 deg with in/out swapped)   at stride 1
 *   dx = col2im(dy[M, Co] @ W^T[Co, K])                      at stride > 1
 * The big patch matrix must be matMul's left operand: as the right one, XNNPACK
 * repacks it on every call (a 48 x 32768 x 432 product took 450 ms that way,
 * 49 ms this way). It is written transposed directly, in cache-sized blocks:
 * the wasm Transpose kernel ran at about 20 ns per element on it (measured).
 * With training SIMD on, a wasm loop writes it (im2col-kernels.ts); the JS
 * loops below are the fallback.
 */
import * as tf from '@tensorflow/tfjs';
import { callKernel, type KernelArgs, view, type WasmBackendLike } from './heap.js';
import { heapPointer } from './heap-module.js';
import { type Im2colKernels, im2colKernels } from './im2col-kernels.js';

export interface ConvGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly ci: number;
  readonly kh: number;
  readonly kw: number;
  readonly co: number;
  readonly ho: number;
  readonly wo: number;
  readonly sh: number;
  readonly sw: number;
  readonly top: number;
  readonly left: number;
}

export function convGeometry(
  op: string,
  xShape: number[],
  filterShape: number[],
  attrs: Record<string, unknown>,
  depthwise = false,
): ConvGeometry {
  const dilations = (attrs.dilations ?? 1) as number | [number, number];
  const [dh, dw] = typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (dh !== 1 || dw !== 1)
    throw new Error(`${op} (RepNets wasm kernel): dilations ${dh}x${dw} are not supported, only 1`);
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') {
    throw new Error(
      `${op} (RepNets wasm kernel): dataFormat ${String(attrs.dataFormat)} is not supported, only NHWC`,
    );
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides as [number, number] | number,
    1,
    attrs.pad as 'same' | 'valid' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    depthwise,
    'channelsLast',
  );
  return {
    n: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    ci: info.inChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    co: info.outChannels,
    ho: info.outHeight,
    wo: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/** A 1x1 stride-1 unpadded conv is a plain matrix product: no patches needed. */
function isPointwise(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.top === 0 && g.left === 0;
}

/**
 * The input pixel each kernel tap reads, for every output position:
 * `table[m * kh*kw + (r*kw + s)]` is the NHWC offset of x[n, oy*sh + r - top,
 * ox*sw + s - left, 0] (a multiple of the channel count), or -1 where the tap
 * falls in the zero padding. All four gradient loops walk this one table.
 * Written into `table` when given (at least n*ho*wo*kh*kw entries).
 */
export function tapTable(
  g: ConvGeometry,
  table: Int32Array = new Int32Array(g.n * g.ho * g.wo * g.kh * g.kw),
): Int32Array {
  let at = 0;
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.ho; oy++) {
      for (let ox = 0; ox < g.wo; ox++) {
        for (let r = 0; r < g.kh; r++) {
          const iy = oy * g.sh + r - g.top;
          for (let s = 0; s < g.kw; s++, at++) {
            const ix = ox * g.sw + s - g.left;
            table[at] =
              iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? ((n * g.h + iy) * g.w + ix) * g.ci : -1;
          }
        }
      }
    }
  }
  return table;
}

/** dx[pixel, c] += dcol[m, (r, s, c)]: the adjoint of im2col. `dx` must start at zero. */
export function col2im(
  dcol: Float32Array,
  g: ConvGeometry,
  taps: Int32Array,
  dx: Float32Array,
): void {
  const { ci } = g;
  // Entry mt = m * T + t of the table is row m, columns t*ci.. of dcol.
  for (let mt = 0; mt < taps.length; mt++) {
    const o = taps[mt]!;
    if (o < 0) continue;
    const src = mt * ci;
    for (let c = 0; c < ci; c++) dx[o + c]! += dcol[src + c]!;
  }
}

/**
 * colT[(r, s, c), m] = x[pixel of tap (r, s) at m, c] (zero in the padding):
 * im2col written transposed, a block of output positions at a time so the
 * input rows it reads stay in cache.
 */
export function im2colT(
  x: Float32Array,
  g: ConvGeometry,
  taps: Int32Array,
  colT: Float32Array,
): void {
  const { ci } = g;
  const T = g.kh * g.kw;
  const M = taps.length / T;
  const B = 64;
  for (let m0 = 0; m0 < M; m0 += B) {
    const len = Math.min(B, M - m0);
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < ci; c++) {
        const dst = (t * ci + c) * M + m0;
        for (let j = 0; j < len; j++) {
          const o = taps[(m0 + j) * T + t]!;
          colT[dst + j] = o < 0 ? 0 : x[o + c]!;
        }
      }
    }
  }
}

/**
 * im2colT by the SIMD loop, on the heap. Its tap table goes to the heap too,
 * followed by C zeros: padded taps read that zero row.
 */
function im2colTOnHeap(
  k: Im2colKernels,
  b: WasmBackendLike,
  x: tf.TensorInfo,
  g: ConvGeometry,
  colT: tf.TensorInfo,
): void {
  const T = g.kh * g.kw;
  const M = g.n * g.ho * g.wo;
  const table = b.makeOutput([M * T + g.ci], 'int32');
  const entries = b.typedArrayFromHeap(table) as unknown as Int32Array; // int32 data
  tapTable(g, entries.subarray(0, M * T));
  entries.fill(0, M * T); // int32 0 and float32 0 have the same bits
  const taps = heapPointer(b, table);
  const cBytes = 4 * g.ci;
  k.im2colT(
    taps,
    4 * T,
    taps + 4 * M * T,
    heapPointer(b, x),
    cBytes,
    cBytes & ~15,
    M & ~15,
    M & ~3,
    M,
    4 * M,
    heapPointer(b, colT),
  );
  b.disposeData(table.dataId);
}

/** dst[c, r] = src[r, c] for a rows x cols matrix, in blocks that stay in cache. */
export function transpose2d(
  src: Float32Array,
  rows: number,
  cols: number,
  dst: Float32Array,
): void {
  const B = 32;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const row = r * cols;
        for (let c = c0; c < c1; c++) dst[c * rows + r] = src[row + c]!;
      }
    }
  }
}

/** Conv2DBackpropFilter: inputs {x, dy}, attrs {strides, pad, dimRoundingMode, filterShape}. */
export function conv2DBackpropFilter({ inputs, backend, attrs = {} }: KernelArgs): tf.TensorInfo {
  const b = backend as WasmBackendLike;
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const filterShape = attrs.filterShape as number[];
  const g = convGeometry('Conv2DBackpropFilter', x.shape, filterShape, attrs);
  const M = g.n * g.ho * g.wo;
  const K = g.kh * g.kw * g.ci;
  const colT = b.makeOutput([K, M], 'float32');
  const simd = im2colKernels(backend);
  if (simd) {
    im2colTOnHeap(simd, b, x, g, colT); // a 1x1 conv's patches are a transpose: the same loop
  } else {
    // Views after the last allocation: a heap growth would detach earlier ones.
    const colData = b.typedArrayFromHeap(colT);
    if (isPointwise(g)) transpose2d(b.typedArrayFromHeap(x), M, K, colData);
    else im2colT(b.typedArrayFromHeap(x), g, tapTable(g), colData);
  }
  const out = callKernel(
    tf,
    'BatchMatMul',
    backend,
    { a: view(colT, [1, K, M]), b: view(dy, [1, M, g.co]) },
    {
      transposeA: false,
      transposeB: false,
    },
  );
  b.disposeData(colT.dataId);
  return { ...out, shape: filterShape };
}

/** Conv2DBackpropInput: inputs {dy, filter}, attrs {strides, pad, dimRoundingMode, inputShape}. */
export function conv2DBackpropInput({ inputs, backend, attrs = {} }: KernelArgs): tf.TensorInfo {
  const b = backend as WasmBackendLike;
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const inputShape = attrs.inputShape as number[];
  const g = convGeometry('Conv2DBackpropInput', inputShape, filter.shape, attrs);
  if (g.sh === 1 && g.sw === 1) return backpropInputAsConv(b, dy, filter, g, inputShape);
  const M = g.n * g.ho * g.wo;
  const K = g.kh * g.kw * g.ci;
  const wT = b.makeOutput([g.co, K], 'float32');
  transpose2d(b.typedArrayFromHeap(filter), K, g.co, b.typedArrayFromHeap(wT));
  const dcol = callKernel(
    tf,
    'BatchMatMul',
    backend,
    { a: view(dy, [1, M, g.co]), b: view(wT, [1, g.co, K]) },
    {
      transposeA: false,
      transposeB: false,
    },
  );
  b.disposeData(wT.dataId);
  if (isPointwise(g)) return { ...dcol, shape: inputShape };
  const dx = b.makeOutput(inputShape, 'float32');
  // Views are taken after the last allocation: a heap growth would detach earlier ones.
  const dxData = b.typedArrayFromHeap(dx);
  dxData.fill(0);
  col2im(b.typedArrayFromHeap(dcol), g, tapTable(g), dxData);
  b.disposeData(dcol.dataId);
  return dx;
}

/**
 * At stride 1 the input gradient is a forward convolution of dy with the kernel
 * rotated by 180 degrees and its in/out axes swapped, padded by k-1-p on each
 * side: the backend's fastest kernel does the work.
 */
function backpropInputAsConv(
  b: WasmBackendLike,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: ConvGeometry,
  inputShape: number[],
): tf.TensorInfo {
  const { kh, kw, ci, co } = g;
  const bottom = g.ho - 1 + kh - g.h - g.top; // padding below that the forward conv used
  const right = g.wo - 1 + kw - g.w - g.left;
  const flipped = b.makeOutput([kh, kw, co, ci], 'float32');
  const w = b.typedArrayFromHeap(filter);
  const f = b.typedArrayFromHeap(flipped);
  for (let r = 0; r < kh; r++) {
    for (let s = 0; s < kw; s++) {
      const src = ((kh - 1 - r) * kw + (kw - 1 - s)) * ci * co;
      const dst = (r * kw + s) * co * ci;
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) f[dst + o * ci + i] = w[src + i * co + o]!;
    }
  }
  const pad = [
    [0, 0],
    [kh - 1 - g.top, kh - 1 - bottom],
    [kw - 1 - g.left, kw - 1 - right],
    [0, 0],
  ];
  const dx = callKernel(
    tf,
    'Conv2D',
    b,
    { x: dy, filter: flipped },
    {
      strides: [1, 1],
      pad,
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined,
    },
  );
  b.disposeData(flipped.dataId);
  if (dx.shape.some((d, j) => d !== inputShape[j])) {
    throw new Error(
      `Conv2DBackpropInput (RepNets wasm kernel): got [${dx.shape}] for input [${inputShape}]`,
    );
  }
  return dx;
}
