// biome-ignore-all format: the byte code reads best as one instruction group per line
/**
 * The rank-ordered gradient sum as a WebAssembly SIMD loop over the shared
 * memory that holds every replica's gradient row: `dst[i] += src[i]`, four
 * lanes at a time. f32x4.add rounds each lane as a float32 add, so the sums
 * are bitwise those of the JS loop it replaces (float32 + float32 computed in
 * float64 and rounded once is the same correctly rounded result).
 */
import { I32, instantiate, op, type WasmFunction, type WasmMemory } from '@repnets/fuse/wasm-asm';

const { at, loop, v128Load, v128Store, f32x4Add } = op;

// addInto(dst, src, bytes): dst[k] += src[k] over `bytes` (a multiple of 16). Local 3: offset.
const addInto: WasmFunction = {
  name: 'addInto',
  params: [I32, I32, I32],
  results: [],
  locals: [I32],
  body: loop(3, 2, 16, [
    ...at(0, 3),
    ...at(0, 3), ...v128Load, ...at(1, 3), ...v128Load, ...f32x4Add,
    ...v128Store,
  ]),
};

export interface ReduceKernel {
  addInto(dst: number, src: number, bytes: number): void;
}

/** The loop bound to `memory`, or null where SIMD is unavailable (callers add in JS). */
export const reduceKernel = (memory: WasmMemory): ReduceKernel | null =>
  instantiate<ReduceKernel>([addInto], memory);

/** `dst[from..to) += src[from..to)`: SIMD over the 4-aligned middle, JS for the ends. */
export function addRange(
  k: ReduceKernel | null,
  heap: Float32Array,
  dst: number,
  src: number,
  from: number,
  to: number,
): void {
  let i = from;
  const alignedFrom = Math.min(to, (from + 3) & ~3);
  for (; i < alignedFrom; i++) heap[dst + i] = heap[dst + i]! + heap[src + i]!;
  const alignedTo = alignedFrom + ((to - alignedFrom) & ~3);
  if (k && alignedTo > alignedFrom) {
    k.addInto(4 * (dst + alignedFrom), 4 * (src + alignedFrom), 4 * (alignedTo - alignedFrom));
    i = alignedTo;
  }
  for (; i < to; i++) heap[dst + i] = heap[dst + i]! + heap[src + i]!;
}
