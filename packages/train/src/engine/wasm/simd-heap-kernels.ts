// biome-ignore-all format: the byte code reads best as one instruction group per line
/**
 * WebAssembly SIMD loops that run in place on the TF.js wasm backend's own heap
 * (the module imports that memory): per-channel reductions and affine maps over
 * NHWC rows for training-mode BatchNorm, and the depthwise filter gradient.
 * Plain JS runs these at 1-3 ns per float on the development machine; four
 * lanes at a time they are memory-bound. Sums accumulate in float64 (each f32x4
 * is promoted to two f64x2), like the JS fallbacks, so results do not drift with
 * the batch size.
 *
 * Pointers are byte offsets into the heap; `n` counts bytes and `rowBytes`
 * (4 * C) must be a multiple of 16, i.e. C % 4 == 0; callers check and use JS
 * otherwise. f64 accumulators take 8 bytes per channel.
 */
import { I32, instantiate, op, V128, type WasmFunction, type WasmMemory } from '@repnets/fuse/wasm-asm';

const { get, set, tee, i32, at, ifThen, loop } = op;
const { i32Add, i32Mul, i32DivU, i32RemU, i32Eq, i32LtS, i32Load, i32Shl } = op;
const { v128Load, v128Store, f32x4Add, f32x4Sub, f32x4Mul, f64x2Add, f64x2PromoteLow, highToLow } = op;

/** `j += 16; if (j == rowBytes) j = 0` — the channel offset within the current row. */
const nextChannel = (j: number, rowBytes: number) => [
  ...get(j), ...i32(16), ...i32Add, ...set(j),
  ...get(j), ...get(rowBytes), ...i32Eq, ...ifThen([...i32(0), ...set(j)]),
];

/** f64 accumulator at `acc + 2*j` += the four f32 lanes of local `v`. Uses local `p`. */
const accumulate = (acc: number, j: number, v: number, p: number) => [
  ...get(acc), ...get(j), ...i32(1), ...i32Shl, ...i32Add, ...tee(p),
  ...get(p), ...v128Load, ...get(v), ...f64x2PromoteLow, ...f64x2Add, ...v128Store,
  ...get(p), ...i32(16), ...i32Add,
  ...get(p), ...i32(16), ...i32Add, ...v128Load, ...get(v), ...get(v), ...highToLow, ...f64x2PromoteLow, ...f64x2Add,
  ...v128Store,
];

// colSum(x, n, rowBytes, acc): acc[c] += x[r, c] over every row.
// Locals: 4 off, 5 j, 6 v, 7 p.
const colSum: WasmFunction = {
  name: 'colSum',
  params: [I32, I32, I32, I32],
  results: [],
  locals: [I32, I32, V128, I32],
  body: loop(4, 1, 16, [
    ...at(0, 4), ...v128Load, ...set(6),
    ...accumulate(3, 5, 6, 7),
    ...nextChannel(5, 2),
  ]),
};

// colSqDev(x, n, rowBytes, mean, acc): acc[c] += (x[r, c] - mean[c])^2.
// Locals: 5 off, 6 j, 7 v, 8 p.
const colSqDev: WasmFunction = {
  name: 'colSqDev',
  params: [I32, I32, I32, I32, I32],
  results: [],
  locals: [I32, I32, V128, I32],
  body: loop(5, 1, 16, [
    ...at(0, 5), ...v128Load, ...at(3, 6), ...v128Load, ...f32x4Sub, ...tee(7), ...get(7), ...f32x4Mul, ...set(7),
    ...accumulate(4, 6, 7, 8),
    ...nextChannel(6, 2),
  ]),
};

// affine(y, x, n, rowBytes, scale, shift): y = x * scale[c] + shift[c].
// Locals: 6 off, 7 j.
const affine: WasmFunction = {
  name: 'affine',
  params: [I32, I32, I32, I32, I32, I32],
  results: [],
  locals: [I32, I32],
  body: loop(6, 2, 16, [
    ...at(0, 6),
    ...at(1, 6), ...v128Load, ...at(4, 7), ...v128Load, ...f32x4Mul, ...at(5, 7), ...v128Load, ...f32x4Add,
    ...v128Store,
    ...nextChannel(7, 3),
  ]),
};

// gradSums(dy, x, n, rowBytes, mean, accDy, accDyX): accDy[c] += dy, accDyX[c] += dy * (x - mean[c]).
// Locals: 7 off, 8 j, 9 g, 10 v, 11 p.
const gradSums: WasmFunction = {
  name: 'gradSums',
  params: [I32, I32, I32, I32, I32, I32, I32],
  results: [],
  locals: [I32, I32, V128, V128, I32],
  body: loop(7, 2, 16, [
    ...at(0, 7), ...v128Load, ...set(9),
    ...accumulate(5, 8, 9, 11),
    ...at(1, 7), ...v128Load, ...at(4, 8), ...v128Load, ...f32x4Sub, ...get(9), ...f32x4Mul, ...set(10),
    ...accumulate(6, 8, 10, 11),
    ...nextChannel(8, 3),
  ]),
};

// gradDx(dx, dy, x, n, rowBytes, a, k, mean, d0): dx = a*dy + k*(x - mean) + d0, per channel.
// Locals: 9 off, 10 j.
const gradDx: WasmFunction = {
  name: 'gradDx',
  params: [I32, I32, I32, I32, I32, I32, I32, I32, I32],
  results: [],
  locals: [I32, I32],
  body: loop(9, 3, 16, [
    ...at(0, 9),
    ...at(1, 9), ...v128Load, ...at(5, 10), ...v128Load, ...f32x4Mul,
    ...at(2, 9), ...v128Load, ...at(7, 10), ...v128Load, ...f32x4Sub, ...at(6, 10), ...v128Load, ...f32x4Mul,
    ...f32x4Add,
    ...at(8, 10), ...v128Load, ...f32x4Add,
    ...v128Store,
    ...nextChannel(10, 4),
  ]),
};

// dwFilterGrad(taps, nTaps, T, x, dy, acc, rowBytes): for every entry mt of the tap
// table with x element offset xb >= 0: acc[t = mt % T][c] += x[xb + c] * dy[mt / T][c].
// Locals: 7 mt, 8 xp, 9 dyp, 10 ap, 11 j, 12 v, 13 p.
const dwFilterGrad: WasmFunction = {
  name: 'dwFilterGrad',
  params: [I32, I32, I32, I32, I32, I32, I32],
  results: [],
  locals: [I32, I32, I32, I32, I32, V128, I32],
  body: loop(7, 1, 1, [
    ...get(0), ...get(7), ...i32(2), ...i32Shl, ...i32Add, ...i32Load, ...tee(8),
    ...i32(0), ...i32LtS,
    0x45, // i32.eqz: the tap is inside the image
    ...ifThen([
      ...get(3), ...get(8), ...i32(2), ...i32Shl, ...i32Add, ...set(8),
      ...get(4), ...get(7), ...get(2), ...i32DivU, ...get(6), ...i32Mul, ...i32Add, ...set(9),
      ...get(5), ...get(7), ...get(2), ...i32RemU, ...get(6), ...i32Mul, ...i32(1), ...i32Shl, ...i32Add, ...set(10),
      ...i32(0), ...set(11),
      ...loop(11, 6, 16, [
        ...at(8, 11), ...v128Load, ...at(9, 11), ...v128Load, ...f32x4Mul, ...set(12),
        ...accumulate(10, 11, 12, 13),
      ]),
    ]),
  ]),
};

// dwInputGrad(taps, nTaps, T, dy, w, dx, rowBytes): for every entry mt of the tap
// table with x element offset xb >= 0: dx[xb + c] += dy[mt / T][c] * w[t = mt % T][c]
// (depthwise, multiplier 1: the adjoint of the forward conv at any stride).
// Locals: 7 mt, 8 xp, 9 dyp, 10 wp, 11 j.
const dwInputGrad: WasmFunction = {
  name: 'dwInputGrad',
  params: [I32, I32, I32, I32, I32, I32, I32],
  results: [],
  locals: [I32, I32, I32, I32, I32],
  body: loop(7, 1, 1, [
    ...get(0), ...get(7), ...i32(2), ...i32Shl, ...i32Add, ...i32Load, ...tee(8),
    ...i32(0), ...i32LtS,
    0x45, // i32.eqz: the tap is inside the image
    ...ifThen([
      ...get(5), ...get(8), ...i32(2), ...i32Shl, ...i32Add, ...set(8),
      ...get(3), ...get(7), ...get(2), ...i32DivU, ...get(6), ...i32Mul, ...i32Add, ...set(9),
      ...get(4), ...get(7), ...get(2), ...i32RemU, ...get(6), ...i32Mul, ...i32Add, ...set(10),
      ...i32(0), ...set(11),
      ...loop(11, 6, 16, [
        ...at(8, 11),
        ...at(8, 11), ...v128Load, ...at(9, 11), ...v128Load, ...at(10, 11), ...v128Load, ...f32x4Mul, ...f32x4Add,
        ...v128Store,
      ]),
    ]),
  ]),
};

export interface HeapKernels {
  colSum(x: number, n: number, rowBytes: number, acc: number): void;
  colSqDev(x: number, n: number, rowBytes: number, mean: number, acc: number): void;
  affine(y: number, x: number, n: number, rowBytes: number, scale: number, shift: number): void;
  gradSums(dy: number, x: number, n: number, rowBytes: number, mean: number, accDy: number, accDyX: number): void;
  gradDx(dx: number, dy: number, x: number, n: number, rowBytes: number, a: number, k: number, mean: number, d0: number): void;
  dwFilterGrad(taps: number, nTaps: number, T: number, x: number, dy: number, acc: number, rowBytes: number): void;
  dwInputGrad(taps: number, nTaps: number, T: number, dy: number, w: number, dx: number, rowBytes: number): void;
}

const FUNCTIONS = [colSum, colSqDev, affine, gradSums, gradDx, dwFilterGrad, dwInputGrad];
const byMemory = new WeakMap<object, HeapKernels | null>();
let disabled = false;

/**
 * Turns the SIMD loops of the wasm training kernels off (their plain-JS loops
 * run instead) or back on. For comparisons and tests; results agree to float
 * rounding.
 */
export function setWasmTrainingSimd(enabled: boolean): void {
  disabled = !enabled;
}

/** Whether the wasm training kernels run their SIMD loops on this backend instance. */
export function wasmTrainingSimdActive(backend: unknown): boolean {
  return heapKernels(backend) !== null;
}

/**
 * The SIMD loops bound to this wasm backend's heap, or null (JS fallback) when
 * they are disabled, SIMD is unavailable, or the backend does not expose its
 * WebAssembly.Memory (the emscripten module keeps it at `asm.memory`).
 */
export function heapKernels(backend: unknown): HeapKernels | null {
  if (disabled) return null;
  const mod = (backend as { wasm?: { asm?: { memory?: WasmMemory }; wasmMemory?: WasmMemory } }).wasm;
  const memory = mod?.asm?.memory ?? mod?.wasmMemory;
  if (!memory) return null;
  let k = byMemory.get(memory);
  if (k === undefined) {
    k = instantiate<HeapKernels>(FUNCTIONS, memory);
    byMemory.set(memory, k);
  }
  return k;
}
