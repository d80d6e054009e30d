/**
 * A tiny WebAssembly SIMD module, assembled here byte by byte, for the one loop
 * that dominates folding: streaming a kernel while multiplying it by BN scales.
 * Plain JS runs that loop at about 1 ns per float (scalar, bounds-checked); four
 * lanes at a time in wasm make the fold memory-bound instead (measured in
 * bench/fuse-bench.ts). All arithmetic is float32, the same as the JS fallback.
 *
 * Every function takes byte offsets into the module's own memory and byte
 * counts that are multiples of 16 (one v128).
 */

// Opcodes (WebAssembly core + fixed-width SIMD).
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_GE_U = 0x4f;
const I32_EQ = 0x46;
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const VOID = 0x40;
const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00, 0x04, 0x00]; // align 2^4, offset 0
const V128_STORE = [SIMD, 0x0b, 0x04, 0x00];
const F32X4_SPLAT = [SIMD, 0x13];
const F32X4_ADD = [SIMD, 0xe4, 0x01];
const F32X4_SUB = [SIMD, 0xe5, 0x01];
const F32X4_MUL = [SIMD, 0xe6, 0x01];
const V128_OR = [SIMD, 0x50];
const V128_ANY_TRUE = [SIMD, 0x53];
const V128_ZERO = [SIMD, 0x0c, ...new Array(16).fill(0)];

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
const vec = (items: number[][]): number[] => [...leb(items.length), ...items.flat()];
const name = (s: string): number[] => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const section = (id: number, bytes: number[]): number[] => [id, ...leb(bytes.length), ...bytes];

/**
 * `for (off = 0; off < n; off += 16) { body }` where `off` is local `offLocal`
 * and `n` is local `nLocal`.
 */
function loop16(offLocal: number, nLocal: number, body: number[]): number[] {
  return [
    BLOCK,
    VOID,
    LOOP,
    VOID,
    LOCAL_GET,
    offLocal,
    LOCAL_GET,
    nLocal,
    I32_GE_U,
    BR_IF,
    1,
    ...body,
    LOCAL_GET,
    offLocal,
    I32_CONST,
    16,
    I32_ADD,
    LOCAL_SET,
    offLocal,
    BR,
    0,
    END,
    END,
  ];
}
const at = (ptrLocal: number, offLocal: number) => [
  LOCAL_GET,
  ptrLocal,
  LOCAL_GET,
  offLocal,
  I32_ADD,
];

interface FnDef {
  readonly name: string;
  readonly params: number[];
  readonly results: number[];
  readonly locals: number[];
  readonly body: number[];
}

// scale(dst, src, n, s): dst = src * s.  Locals: 4 off, 5 splat(s).
// scaleAdd(dst, src, n, s): dst = dst + src * s.
function scaleFn(add: boolean): FnDef {
  const product = [...at(1, 4), ...V128_LOAD, LOCAL_GET, 5, ...F32X4_MUL];
  const value = add ? [...at(0, 4), ...V128_LOAD, ...product, ...F32X4_ADD] : product;
  return {
    name: add ? 'scaleAdd' : 'scale',
    params: [I32, I32, I32, F32],
    results: [],
    locals: [I32, V128],
    body: [
      LOCAL_GET,
      3,
      ...F32X4_SPLAT,
      LOCAL_SET,
      5,
      ...loop16(4, 2, [...at(0, 4), ...value, ...V128_STORE]),
    ],
  };
}

// mulRows(dst, src, scale, rowBytes, n): dst = src * scale[off mod rowBytes].
// Locals: 5 off, 6 j (offset within the row).
function mulRowsFn(add: boolean): FnDef {
  const product = [...at(1, 5), ...V128_LOAD, ...at(2, 6), ...V128_LOAD, ...F32X4_MUL];
  const value = add ? [...at(0, 5), ...V128_LOAD, ...product, ...F32X4_ADD] : product;
  return {
    name: add ? 'mulRowsAdd' : 'mulRows',
    params: [I32, I32, I32, I32, I32],
    results: [],
    locals: [I32, I32],
    body: loop16(5, 4, [
      ...at(0, 5),
      ...value,
      ...V128_STORE,
      LOCAL_GET,
      6,
      I32_CONST,
      16,
      I32_ADD,
      LOCAL_SET,
      6,
      LOCAL_GET,
      6,
      LOCAL_GET,
      3,
      I32_EQ,
      IF,
      VOID,
      I32_CONST,
      0,
      LOCAL_SET,
      6,
      END,
    ]),
  };
}

// nonFinite(ptr, n) -> 1 if any lane is Inf/NaN. x - x is +0 for finite x and NaN
// otherwise, so OR-ing the bit patterns leaves a non-zero lane exactly then.
// Locals: 2 off, 3 acc.
const nonFiniteFn: FnDef = {
  name: 'nonFinite',
  params: [I32, I32],
  results: [I32],
  locals: [I32, V128],
  body: [
    ...V128_ZERO,
    LOCAL_SET,
    3,
    ...loop16(2, 1, [
      LOCAL_GET,
      3,
      ...at(0, 2),
      ...V128_LOAD,
      ...at(0, 2),
      ...V128_LOAD,
      ...F32X4_SUB,
      ...V128_OR,
      LOCAL_SET,
      3,
    ]),
    LOCAL_GET,
    3,
    ...V128_ANY_TRUE,
  ],
};

const FUNCTIONS: FnDef[] = [
  scaleFn(false),
  scaleFn(true),
  mulRowsFn(false),
  mulRowsFn(true),
  nonFiniteFn,
];

function moduleBytes(): Uint8Array {
  const types = FUNCTIONS.map((f) => [
    0x60,
    ...vec(f.params.map((p) => [p])),
    ...vec(f.results.map((r) => [r])),
  ]);
  const bodies = FUNCTIONS.map((f) => {
    const b = [...vec(f.locals.map((l) => [1, l])), ...f.body, END];
    return [...leb(b.length), ...b];
  });
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(3, vec(FUNCTIONS.map((_, j) => leb(j)))),
    ...section(5, vec([[0x00, ...leb(1)]])),
    ...section(
      7,
      vec([
        ...FUNCTIONS.map((f, j) => [...name(f.name), 0x00, ...leb(j)]),
        [...name('memory'), 0x02, 0x00],
      ]),
    ),
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

export interface SimdKernels {
  readonly memory: WasmMemory;
  scale(dst: number, src: number, n: number, s: number): void;
  scaleAdd(dst: number, src: number, n: number, s: number): void;
  mulRows(dst: number, src: number, scale: number, rowBytes: number, n: number): void;
  mulRowsAdd(dst: number, src: number, scale: number, rowBytes: number, n: number): void;
  nonFinite(ptr: number, n: number): number;
}

let cached: SimdKernels | null | undefined;

/** The SIMD kernels, or null where WebAssembly SIMD is not available. */
export function simdKernels(): SimdKernels | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    const bytes = moduleBytes();
    if (wasm !== undefined && wasm.validate(bytes)) {
      const instance = new wasm.Instance(new wasm.Module(bytes));
      cached = instance.exports as unknown as SimdKernels;
    }
  } catch {
    cached = null;
  }
  return cached;
}
