// biome-ignore-all format: the byte code reads best as one instruction group per line
/**
 * A minimal WebAssembly assembler: instruction byte groups, LEB128, and a
 * module writer. RepNets engines write their few hot loops with it instead of
 * shipping binaries or a toolchain; the bytes are validated at load and every
 * caller keeps a plain-JS fallback.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
export function sleb(n: number): number[] {
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
const simd = (op: number) => [0xfd, ...uleb(op)];
/** Memory immediates: alignment hint 0 (wasm never traps on misalignment), offset 0. */
const mem0 = [0x00, 0x00];

export const op = {
  get: (local: number) => [0x20, ...uleb(local)],
  set: (local: number) => [0x21, ...uleb(local)],
  tee: (local: number) => [0x22, ...uleb(local)],
  i32: (v: number) => [0x41, ...sleb(v)],
  f32Zero: [0x43, 0, 0, 0, 0],
  i32Load: [0x28, ...mem0],
  f32Load: [0x2a, ...mem0],
  f32Store: [0x38, ...mem0],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32DivU: [0x6e],
  i32RemU: [0x70],
  i32Shl: [0x74],
  i32Eq: [0x46],
  i32LtS: [0x48],
  i32GeU: [0x4f],
  f32Add: [0x92],
  f32Mul: [0x94],
  f32Ne: [0x5c],
  v128Load: [...simd(0x00), ...mem0],
  v128Store: [...simd(0x0b), ...mem0],
  /** Lanes 2,3 of the first operand moved to lanes 0,1 (for promoting the high half). */
  highToLow: [...simd(0x0d), 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15],
  f32x4Splat: simd(0x13),
  v128Or: simd(0x50),
  v128AnyTrue: simd(0x53),
  f64x2PromoteLow: simd(0x5f),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f64x2Add: simd(0xf0),
  f64x2Mul: simd(0xf2),
  END: [0x0b],
  /** `if (cond on stack) { body }` */
  ifThen: (body: number[]) => [0x04, 0x40, ...body, 0x0b],
  /** `ptr + off` from two locals. */
  at: (ptr: number, off: number) => [0x20, ...uleb(ptr), 0x20, ...uleb(off), 0x6a],
  /** `for (; i < n; i += step) { body }`, `i` and `n` being i32 locals. */
  loop: (i: number, n: number, step: number, body: number[]) => [
    0x02, 0x40, 0x03, 0x40,                                           // block, loop
    0x20, ...uleb(i), 0x20, ...uleb(n), 0x4f, 0x0d, 1,                // br_if out when i >= n (unsigned)
    ...body,
    0x20, ...uleb(i), 0x41, ...sleb(step), 0x6a, 0x21, ...uleb(i),
    0x0c, 0,                                                          // br loop
    0x0b, 0x0b,
  ],
} as const;

export interface WasmFunction {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
  readonly locals: readonly ValType[];
  readonly body: readonly number[];
}

/**
 * A module of `functions`, all exported by name. Memory is either the module's
 * own (exported as `memory`) or imported as `env.memory`, which lets the
 * functions work in place on another module's heap (a TF.js wasm backend's).
 */
export function assembleModule(
  functions: readonly WasmFunction[],
  memory: 'own' | 'import' | 'import-shared',
): Uint8Array {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((p) => [p])), ...vec(f.results.map((r) => [r]))]);
  const bodies = functions.map((f) => {
    const b = [...vec(f.locals.map((l) => [1, l])), ...f.body, 0x0b];
    return [...uleb(b.length), ...b];
  });
  const exports = functions.map((f, j) => [...name(f.name), 0x00, ...uleb(j)]);
  if (memory === 'own') exports.push([...name('memory'), 0x02, 0x00]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...section(1, vec(types)),
    ...(memory === 'own' ? [] : section(2, vec([[...name('env'), ...name('memory'), 0x02, ...importLimits(memory)]]))),
    ...section(3, vec(functions.map((_, j) => uleb(j)))),
    ...(memory === 'own' ? section(5, vec([[0x00, ...uleb(1)]])) : []), // 1 page to start
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ]);
}

/**
 * Limits of the imported memory: at least 0 pages, and for a shared memory
 * (a threaded emscripten build's heap) the shared flag with the largest
 * maximum, since a shared import must declare one and link against any.
 */
const importLimits = (memory: 'import' | 'import-shared') =>
  memory === 'import' ? [0x00, 0x00] : [0x03, 0x00, ...uleb(65536)];

/** The slice of the WebAssembly API used here (typed locally: no DOM lib needed). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports?: object) => { exports: unknown };
}

/**
 * Instantiates `functions` (with `memory` imported when given), or returns null
 * where WebAssembly or its SIMD extension is unavailable or the bytes do not
 * validate: callers fall back to JS.
 */
export function instantiate<T>(functions: readonly WasmFunction[], memory?: WasmMemory): T | null {
  try {
    const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    const shared =
      typeof SharedArrayBuffer !== 'undefined' && memory?.buffer instanceof SharedArrayBuffer;
    const bytes = assembleModule(functions, memory ? (shared ? 'import-shared' : 'import') : 'own');
    if (!wasm?.validate(bytes)) return null;
    const imports = memory ? { env: { memory } } : undefined;
    return new wasm.Instance(new wasm.Module(bytes), imports).exports as T;
  } catch {
    return null;
  }
}
