/**
 * Binds a set of assembled WebAssembly functions to a TF.js wasm backend's own
 * heap, once per WebAssembly.Memory, under the same switch and availability
 * rule as the other SIMD training loops (setWasmTrainingSimd, SIMD support,
 * an exposed memory): callers that get null run their plain-JS or TF.js-op
 * fallback.
 */

import { instantiate, type WasmFunction, type WasmMemory } from '@repnets/fuse/wasm-asm';
import type * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './heap.js';
import { wasmTrainingSimdActive } from './simd-heap-kernels.js';

/** The emscripten module keeps the heap's WebAssembly.Memory at `asm.memory` (or `wasmMemory`). */
function backendMemory(backend: unknown): WasmMemory | undefined {
  const mod = (backend as { wasm?: { asm?: { memory?: WasmMemory }; wasmMemory?: WasmMemory } })
    .wasm;
  return mod?.asm?.memory ?? mod?.wasmMemory;
}

const switchedOff = new Set<string>();

/**
 * Turns one heap module off (its callers' fallback runs) or back on, on top of
 * setWasmTrainingSimd: for benchmarks that measure one loop against its
 * fallback with everything else unchanged. Names: 'optimizer', 'im2col'.
 */
export function setHeapModuleEnabled(name: string, enabled: boolean): void {
  if (enabled) switchedOff.delete(name);
  else switchedOff.add(name);
}

/** A lookup `backend -> T | null` for the module `name` built from `functions`. */
export function heapModule<T>(
  name: string,
  functions: readonly WasmFunction[],
): (backend: unknown) => T | null {
  const byMemory = new WeakMap<object, T | null>();
  return (backend) => {
    if (switchedOff.has(name) || !wasmTrainingSimdActive(backend)) return null;
    const memory = backendMemory(backend);
    if (!memory) return null;
    let k = byMemory.get(memory);
    if (k === undefined) {
      k = instantiate<T>(functions, memory);
      byMemory.set(memory, k);
    }
    return k;
  };
}

/** The byte offset of a tensor's data on the wasm heap (moved there first if it lives on another backend). */
export function heapPointer(backend: WasmBackendLike, t: tf.TensorInfo): number {
  // typedArrayFromHeap looks the data up in the backend's DataStorage, which
  // moves data from another backend on first use, as it does for kernel inputs.
  return backend.typedArrayFromHeap(t).byteOffset;
}
