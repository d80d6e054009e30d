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

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

// Instructions, each a byte group.
const get = (local: number) => [0x20, local];
const set = (local: number) => [0x21, local];
const tee = (local: number) => [0x22, local];
const i32 = (v: number) => [0x41, ...sleb(v)];
const add32 = [0x6a];
const eq32 = [0x46];
const geU32 = [0x4f];
const f32Store = [0x38, 0x02, 0x00];
const f32Add = [0x92];
const f32Mul = [0x94];
const f32Ne = [0x5c];
const f32Zero = [0x43, 0, 0, 0, 0];
const f32Load = [0x2a, 0x02, 0x00];
const v128Load = [0xfd, 0x00, 0x04, 0x00];
const v128Store = [0xfd, 0x0b, 0x04, 0x00];
const f32x4Splat = [0xfd, 0x13];
const f32x4Add = [0xfd, 0xe4, 0x01];
const f32x4Sub = [0xfd, 0xe5, 0x01];
const f32x4Mul = [0xfd, 0xe6, 0x01];
const v128Or = [0xfd, 0x50];
const v128AnyTrue = [0xfd, 0x53];
const END = 0x0b;
/** `if (cond on stack) { body }` */
const ifThen = (body: number[]) => [0x04, 0x40, ...body, END];
/** `ptr + off` from two locals. */
const at = (ptr: number, off: number) => [...get(ptr), ...get(off), ...add32];

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];

/** `for (off = 0; off < n; off += 16) { body }`, `off` and `n` being locals. */
function loop16(off: number, n: number, body: number[]): number[] {
  return [
    0x02, 0x40, 0x03, 0x40,                     // block, loop
    ...get(off), ...get(n), ...geU32, 0x0d, 1,   // br_if out when off >= n
    ...body,
    ...get(off), ...i32(16), ...add32, ...set(off),
    0x0c, 0,                                     // br loop
    END, END,
  ];
}

interface FnDef {
  readonly name: string;
  readonly params: number[];
  readonly results: number[];
  readonly locals: number[];
  readonly body: number[];
}

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

function moduleBytes(): Uint8Array {
  const types = FUNCTIONS.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec(f.results.map((r) => [r]))]);
  const bodies = FUNCTIONS.map((f) => {
    const b = [...vec(f.locals.map((l) => [1, l])), ...f.body, END];
    return [...uleb(b.length), ...b];
  });
  const exports = [...FUNCTIONS.map((f, j) => [...name(f.name), 0x00, ...uleb(j)]), [...name('memory'), 0x02, 0x00]];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...section(1, vec(types)),
    ...section(3, vec(FUNCTIONS.map((_, j) => uleb(j)))),
    ...section(5, vec([[0x00, ...uleb(1)]])), // one memory, 1 page to start
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}

/** The slice of the WebAssembly API used here (typed locally: no DOM lib needed). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}

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
  cached = null;
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    const bytes = moduleBytes();
    if (wasm?.validate(bytes)) {
      const instance = new wasm.Instance(new wasm.Module(bytes));
      cached = instance.exports as unknown as SimdKernels;
    }
  } catch {
    cached = null;
  }
  return cached;
}
