/**
 * Fused training-mode BatchNorm for the wasm backend: the kernels
 * @repnets/blocks looks up by name (BN_TRAINING_KERNEL, BN_TRAINING_GRAD_KERNEL
 * of @repnets/blocks/kernels).
 * NHWC keeps channels innermost, so every pass is one sweep over rows of C with
 * per-channel float64 accumulators: three passes forward (mean, variance,
 * output), two backward (two sums, then dx), instead of a dozen composed kernels.
 */
import type * as tf from '@tensorflow/tfjs';
import type { KernelArgs, WasmBackendLike } from './heap.js';
import { heapKernels } from './simd-heap-kernels.js';

/** Heap scratch of `floats` float32 slots (8-byte aligned by the backend's malloc); free with disposeData. */
function scratch(b: WasmBackendLike, floats: number): tf.TensorInfo {
  const t = b.makeOutput([floats], 'float32');
  b.typedArrayFromHeap(t).fill(0);
  return t;
}
const ptr = (b: WasmBackendLike, t: tf.TensorInfo) => b.typedArrayFromHeap(t).byteOffset;
/** A float64 view of a scratch tensor made with 2 * C floats. */
const f64 = (b: WasmBackendLike, t: tf.TensorInfo) => {
  const v = b.typedArrayFromHeap(t);
  return new Float64Array(v.buffer, v.byteOffset, v.length / 2);
};

function channelsOf(name: string, x: tf.TensorInfo, gamma: tf.TensorInfo): number {
  const C = x.shape[x.shape.length - 1]!;
  if (x.shape.length !== 4 || gamma.shape.length !== 1 || gamma.shape[0] !== C) {
    throw new Error(
      `${name}: expected x NHWC and gamma [C]; got x [${x.shape}] and gamma [${gamma.shape}]`,
    );
  }
  return C;
}

/** Forward: inputs {x, gamma, beta}, attrs {epsilon}; outputs [y, mean, variance]. */
export function batchNormTrainingForward({
  inputs,
  backend,
  attrs = {},
}: KernelArgs): tf.TensorInfo[] {
  const b = backend as WasmBackendLike;
  const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
  const C = channelsOf('RepNetsBatchNormTraining', x, gamma);
  const eps = attrs.epsilon as number;
  // Outputs first: allocating can grow the wasm heap, which detaches earlier views.
  const yInfo = b.makeOutput(x.shape, 'float32');
  const meanInfo = b.makeOutput([C], 'float32');
  const varInfo = b.makeOutput([C], 'float32');
  const simd = C % 4 === 0 ? heapKernels(backend) : null;
  if (simd) {
    const len = x.shape.reduce((p, q) => p * q, 1);
    const n = len / C;
    const acc = scratch(b, 2 * C);
    const coef = scratch(b, 2 * C); // mean, then scale | shift
    simd.colSum(ptr(b, x), len * 4, C * 4, ptr(b, acc));
    const mean = Float64Array.from(f64(b, acc), (s) => s / n);
    b.typedArrayFromHeap(coef).set(mean);
    f64(b, acc).fill(0);
    simd.colSqDev(ptr(b, x), len * 4, C * 4, ptr(b, coef), ptr(b, acc));
    const sq = f64(b, acc);
    const g = b.typedArrayFromHeap(gamma);
    const be = b.typedArrayFromHeap(beta);
    const m32 = b.typedArrayFromHeap(meanInfo);
    const v32 = b.typedArrayFromHeap(varInfo);
    const ss = b.typedArrayFromHeap(coef);
    for (let c = 0; c < C; c++) {
      const variance = sq[c]! / n;
      m32[c] = mean[c]!;
      v32[c] = variance;
      ss[c] = g[c]! / Math.sqrt(variance + eps);
      ss[C + c] = be[c]! - mean[c]! * ss[c]!;
    }
    const at = ptr(b, coef);
    simd.affine(ptr(b, yInfo), ptr(b, x), len * 4, C * 4, at, at + C * 4);
    b.disposeData(acc.dataId);
    b.disposeData(coef.dataId);
    return [yInfo, meanInfo, varInfo];
  }
  const xs = b.typedArrayFromHeap(x);
  const g = b.typedArrayFromHeap(gamma);
  const be = b.typedArrayFromHeap(beta);
  const ys = b.typedArrayFromHeap(yInfo);
  const len = xs.length;
  const n = len / C;
  const sum = new Float64Array(C);
  for (let i = 0; i < len; i += C) for (let c = 0; c < C; c++) sum[c]! += xs[i + c]!;
  const mean = new Float64Array(C);
  for (let c = 0; c < C; c++) mean[c] = sum[c]! / n;
  // Two-pass variance: the one-pass E[x^2] - E[x]^2 cancels badly for large means.
  const sq = new Float64Array(C);
  for (let i = 0; i < len; i += C) {
    for (let c = 0; c < C; c++) {
      const d = xs[i + c]! - mean[c]!;
      sq[c]! += d * d;
    }
  }
  const scale = new Float32Array(C);
  const shift = new Float32Array(C);
  const m32 = b.typedArrayFromHeap(meanInfo);
  const v32 = b.typedArrayFromHeap(varInfo);
  for (let c = 0; c < C; c++) {
    const variance = sq[c]! / n;
    m32[c] = mean[c]!;
    v32[c] = variance;
    scale[c] = g[c]! / Math.sqrt(variance + eps);
    shift[c] = be[c]! - mean[c]! * scale[c]!;
  }
  for (let i = 0; i < len; i += C)
    for (let c = 0; c < C; c++) ys[i + c] = xs[i + c]! * scale[c]! + shift[c]!;
  return [yInfo, meanInfo, varInfo];
}

/** Gradient: inputs {dy, x, mean, variance, gamma}, attrs {epsilon}; outputs [dx, dgamma, dbeta]. */
export function batchNormTrainingGrad({
  inputs,
  backend,
  attrs = {},
}: KernelArgs): tf.TensorInfo[] {
  const b = backend as WasmBackendLike;
  const { dy, x, mean, variance, gamma } = inputs as Record<
    'dy' | 'x' | 'mean' | 'variance' | 'gamma',
    tf.TensorInfo
  >;
  const C = channelsOf('RepNetsBatchNormTrainingGrad', x, gamma);
  const eps = attrs.epsilon as number;
  const dxInfo = b.makeOutput(x.shape, 'float32');
  const dgInfo = b.makeOutput([C], 'float32');
  const dbInfo = b.makeOutput([C], 'float32');
  const simd = C % 4 === 0 ? heapKernels(backend) : null;
  if (simd) {
    const len = x.shape.reduce((p, q) => p * q, 1);
    const n = len / C;
    const acc = scratch(b, 4 * C); // sum dy | sum dy * (x - mean), float64
    const coef = scratch(b, 3 * C); // a | k | d0
    const ap = ptr(b, acc);
    simd.gradSums(ptr(b, dy), ptr(b, x), len * 4, C * 4, ptr(b, mean), ap, ap + C * 8);
    const sums = f64(b, acc);
    const v = b.typedArrayFromHeap(variance);
    const g = b.typedArrayFromHeap(gamma);
    const dgs = b.typedArrayFromHeap(dgInfo);
    const dbs = b.typedArrayFromHeap(dbInfo);
    const cf = b.typedArrayFromHeap(coef);
    for (let c = 0; c < C; c++) {
      const inv = 1 / Math.sqrt(v[c]! + eps);
      const sdy = sums[c]!;
      const dgamma = sums[C + c]! * inv;
      dgs[c] = dgamma;
      dbs[c] = sdy;
      const a = g[c]! * inv;
      cf[c] = a;
      cf[C + c] = (-a * inv * dgamma) / n;
      cf[2 * C + c] = (-a * sdy) / n;
    }
    const cp = ptr(b, coef);
    simd.gradDx(
      ptr(b, dxInfo),
      ptr(b, dy),
      ptr(b, x),
      len * 4,
      C * 4,
      cp,
      cp + C * 4,
      ptr(b, mean),
      cp + C * 8,
    );
    b.disposeData(acc.dataId);
    b.disposeData(coef.dataId);
    return [dxInfo, dgInfo, dbInfo];
  }
  const dys = b.typedArrayFromHeap(dy);
  const xs = b.typedArrayFromHeap(x);
  const m = b.typedArrayFromHeap(mean);
  const v = b.typedArrayFromHeap(variance);
  const g = b.typedArrayFromHeap(gamma);
  const dxs = b.typedArrayFromHeap(dxInfo);
  const len = xs.length;
  const n = len / C;
  const sdy = new Float64Array(C);
  const sdyx = new Float64Array(C); // sum dy * (x - mean)
  for (let i = 0; i < len; i += C) {
    for (let c = 0; c < C; c++) {
      const d = dys[i + c]!;
      sdy[c]! += d;
      sdyx[c]! += d * (xs[i + c]! - m[c]!);
    }
  }
  // dx = a*dy + k*(x - mean) + d per channel, with
  // a = gamma*invStd, k = -a*invStd*dgamma/n, d = -a*dbeta/n.
  const a = new Float32Array(C);
  const k = new Float32Array(C);
  const d0 = new Float32Array(C);
  const dgs = b.typedArrayFromHeap(dgInfo);
  const dbs = b.typedArrayFromHeap(dbInfo);
  for (let c = 0; c < C; c++) {
    const inv = 1 / Math.sqrt(v[c]! + eps);
    const dgamma = sdyx[c]! * inv;
    dgs[c] = dgamma;
    dbs[c] = sdy[c]!;
    a[c] = g[c]! * inv;
    k[c] = (-a[c]! * inv * dgamma) / n;
    d0[c] = (-a[c]! * sdy[c]!) / n;
  }
  for (let i = 0; i < len; i += C) {
    for (let c = 0; c < C; c++) {
      dxs[i + c] = a[c]! * dys[i + c]! + k[c]! * (xs[i + c]! - m[c]!) + d0[c]!;
    }
  }
  return [dxInfo, dgInfo, dbInfo];
}

/**
 * Running statistics: inputs {movingMean, movingVariance, mean, variance},
 * attrs {momentum, count}; outputs [mean', variance']. One pass over [C] in
 * JS: the vectors are short, and one kernel replaces seven. Each step rounds
 * to float32 as the composed TF.js ops do, so both give the same bits.
 */
export function batchNormRunningStats({
  inputs,
  backend,
  attrs = {},
}: KernelArgs): tf.TensorInfo[] {
  const b = backend as WasmBackendLike;
  const { movingMean, movingVariance, mean, variance } = inputs as Record<
    'movingMean' | 'movingVariance' | 'mean' | 'variance',
    tf.TensorInfo
  >;
  const C = mean.shape[0]!;
  const count = attrs.count as number;
  const f = Math.fround;
  const keep = f(attrs.momentum as number);
  const take = f(1 - (attrs.momentum as number));
  const unbias = f(count / (count - 1));
  const outMean = b.makeOutput([C], 'float32');
  const outVar = b.makeOutput([C], 'float32');
  // Views after the allocations: a heap growth detaches earlier ones.
  const [mm, mv, bm, bv, om, ov] = [
    movingMean,
    movingVariance,
    mean,
    variance,
    outMean,
    outVar,
  ].map((t) => b.typedArrayFromHeap(t)) as Float32Array[];
  for (let c = 0; c < C; c++) {
    const v = count > 1 ? f(bv![c]! * unbias) : bv![c]!;
    om![c] = f(mm![c]! * keep) + f(bm![c]! * take);
    ov![c] = f(mv![c]! * keep) + f(v * take);
  }
  return [outMean, outVar];
}
