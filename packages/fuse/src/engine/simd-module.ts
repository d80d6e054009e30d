// biome-ignore-all format: the byte code reads best as one instruction group per line
/**
 * A tiny WebAssembly SIMD module, assembled here byte by byte, for the one loop
 * that dominates folding: streaming a kernel while multiplying it by BN scales.
 * Plain JS runs that loop at about 1 ns per float (scalar, bounds-checked); four
 * lanes at a time in wasm make the fold close to memory-bound (measured in
 * bench/fuse-bench.ts). All arithmetic is float32, the same as the JS fallback.
 *
 * Every function takes byte offsets into the module's own memory and byte
 * counts that are multiples of 16 (one v128).
 */

import { F32, I32, instantiate, op, V128, type WasmFunction, type WasmMemory } from './wasm-asm.js';

const { get, set, tee, i32, at, ifThen } = op;
const { i32Add: add32, i32Eq: eq32, i32GeU: geU32, f32Store, f32Add, f32Mul, f32Ne, f32Zero, f32Load } = op;
const { v128Load, v128Store, f32x4Splat, f32x4Add, f32x4Sub, f32x4Mul, v128Or, v128AnyTrue } = op;
const END = 0x0b;
const loop16 = (off: number, n: number, body: number[]) => op.loop(off, n, 16, body);
type FnDef = WasmFunction;

/**
 * dst[off] = (dst[off] +) src[off] * <factor>, then acc |= v - v for the stored v.
 * x - x is +0 for finite x and NaN otherwise, so `acc` ends non-zero exactly when
 * some stored lane is Inf or NaN; non-finite values survive later additions, so
 * probing every store is as good as probing the finished row, without a pass.
 */
const madd = (add: boolean, dst: number, src: number, off: number, factor: number[], v: number, acc: number) => [
  ...at(dst, off),
  ...(add ? [...at(dst, off), ...v128Load] : []),
  ...at(src, off), ...v128Load, ...factor, ...f32x4Mul,
  ...(add ? f32x4Add : []),
  ...tee(v), ...v128Store,
  ...get(acc), ...get(v), ...get(v), ...f32x4Sub, ...v128Or, ...set(acc),
];
const anyNonFinite = (acc: number) => [...get(acc), ...v128AnyTrue];

// scale(dst, src, n, s) -> nonFinite: dst = src * s (scaleAdd: dst += src * s).
// Locals: 4 off, 5 splat(s), 6 v, 7 acc.
const scaleFn = (add: boolean): FnDef => ({
  name: add ? 'scaleAdd' : 'scale',
  params: [I32, I32, I32, F32],
  results: [I32],
  locals: [I32, V128, V128, V128],
  body: [
    ...get(3), ...f32x4Splat, ...set(5),
    ...loop16(4, 2, madd(add, 0, 1, 4, get(5), 6, 7)),
    ...anyNonFinite(7),
  ],
});

// scaleRows(dst, src, scales, rowBytes, n) -> nonFinite: row r of dst = src row r * scales[r].
// Locals: 5 off, 6 j (offset in row), 7 splat(scales[r]), 8 scale pointer, 9 v, 10 acc.
const scaleRowsFn = (add: boolean): FnDef => ({
  name: add ? 'scaleRowsAdd' : 'scaleRows',
  params: [I32, I32, I32, I32, I32],
  results: [I32],
  locals: [I32, I32, V128, I32, V128, V128],
  body: [
    ...get(2), ...set(8),
    ...get(8), ...f32Load, ...f32x4Splat, ...set(7),
    ...loop16(5, 4, [
      ...madd(add, 0, 1, 5, get(7), 9, 10),
      ...get(6), ...i32(16), ...add32, ...set(6),
      ...get(6), ...get(3), ...eq32,
      ...ifThen([
        ...i32(0), ...set(6),
        ...get(8), ...i32(4), ...add32, ...set(8),
        ...get(8), ...f32Load, ...f32x4Splat, ...set(7),
      ]),
    ]),
    ...anyNonFinite(10),
  ],
});

// mulRows(dst, src, scale, rowBytes, n) -> nonFinite: dst = src * scale[off mod rowBytes].
// Locals: 5 off, 6 j (offset in row), 7 v, 8 acc.
const mulRowsFn = (add: boolean): FnDef => ({
  name: add ? 'mulRowsAdd' : 'mulRows',
  params: [I32, I32, I32, I32, I32],
  results: [I32],
  locals: [I32, I32, V128, V128],
  body: [
    ...loop16(5, 4, [
      ...madd(add, 0, 1, 5, [...at(2, 6), ...v128Load], 7, 8),
      ...get(6), ...i32(16), ...add32, ...set(6),
      ...get(6), ...get(3), ...eq32,
      ...ifThen([...i32(0), ...set(6)]),
    ]),
    ...anyNonFinite(8),
  ],
});

// scatterAdd(dst, src, n, strideBytes, s) -> nonFinite: dst[i * stride] += src[i] * s
// for i < n/4 (scalar): a 1x1 branch landing on the centre tap of every kxk slot of a row.
// Locals: 5 off (bytes into src), 6 p (dst pointer), 7 v, 8 acc (stays 0 unless v*0 is NaN).
const scatterAddFn: FnDef = {
  name: 'scatterAdd',
  params: [I32, I32, I32, I32, F32],
  results: [I32],
  locals: [I32, I32, F32, F32],
  body: [
    ...get(0), ...set(6),
    ...f32Zero, ...set(8),
    0x02, 0x40, 0x03, 0x40,
    ...get(5), ...get(2), ...geU32, 0x0d, 1,
    ...get(6),
    ...get(6), ...f32Load,
    ...at(1, 5), ...f32Load, ...get(4), ...f32Mul,
    ...f32Add, ...tee(7), ...f32Store,
    ...get(8), ...get(7), ...f32Zero, ...f32Mul, ...f32Add, ...set(8),
    ...get(5), ...i32(4), ...add32, ...set(5),
    ...get(6), ...get(3), ...add32, ...set(6),
    0x0c, 0,
    END, END,
    ...get(8), ...get(8), ...f32Ne,
  ],
};

const FUNCTIONS: FnDef[] = [
  scaleFn(false), scaleFn(true),
  scaleRowsFn(false), scaleRowsFn(true),
  mulRowsFn(false), mulRowsFn(true),
  scatterAddFn,
];

/** Each kernel returns 1 when it stored an Inf or NaN, else 0. */
export interface SimdKernels {
  readonly memory: WasmMemory;
  scale(dst: number, src: number, n: number, s: number): number;
  scaleAdd(dst: number, src: number, n: number, s: number): number;
  scaleRows(dst: number, src: number, scales: number, rowBytes: number, n: number): number;
  scaleRowsAdd(dst: number, src: number, scales: number, rowBytes: number, n: number): number;
  mulRows(dst: number, src: number, scale: number, rowBytes: number, n: number): number;
  mulRowsAdd(dst: number, src: number, scale: number, rowBytes: number, n: number): number;
  /** `n` in bytes of src (4 per element). */
  scatterAdd(dst: number, src: number, n: number, strideBytes: number, s: number): number;
}

let cached: SimdKernels | null | undefined;

/** The SIMD kernels, or null where WebAssembly SIMD is not available. */
export function simdKernels(): SimdKernels | null {
  if (cached !== undefined) return cached;
  cached = instantiate<SimdKernels>(FUNCTIONS);
  return cached;
}
