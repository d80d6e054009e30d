/**
 * How much memory each TF.js backend gives a training step, and where it
 * lives: the wasm backend keeps every tensor in its own heap (one per worker
 * thread), a 32-bit wasm memory with a fixed maximum far below a machine's
 * memory; WebGPU holds a tensor in one storage buffer whose size the device
 * caps; the cpu backend and tfjs-node hold tensors in the process's memory,
 * one typed array each when read.
 */
import { constants } from 'node:buffer';
import { totalmem } from 'node:os';
import * as tf from '@tensorflow/tfjs';

/**
 * The most elements one Float32Array can have in this Node, and so one TF.js
 * tensor's data. `buffer.constants.MAX_LENGTH` is V8's typed-array limit: a
 * count of elements of any type up to Node 21 (2^32 on 64-bit; measured:
 * `new Float32Array(2 ** 32 + 1)` throws), a count of bytes from Node 22
 * (2^53 - 1), so float32 elements are capped at a quarter of that.
 */
export function float32ArrayLimit(): number {
  return Math.min(constants.MAX_LENGTH, Math.floor(Number.MAX_SAFE_INTEGER / 4));
}

/**
 * The largest heap of tfjs-backend-wasm 4.22, in bytes. Its three binaries
 * declare a memory of at most 65536 pages of 64 KiB (4 GiB, all a 32-bit wasm
 * memory can address), and emscripten's `getHeapMax()` in its JS grows the
 * heap to one page less than that. Past it `malloc` returns NULL: measured in
 * Node 20, 64 blocks of 64 MiB fit and the 65th got 0; a training step that
 * needs more ends in `RuntimeError: Aborted()` (test/backend-limits.test.ts
 * reads the binaries' limit).
 */
export const WASM_HEAP_MAX_BYTES = 65536 * 65536 - 65536;

/**
 * How much more than `estimateMemory`'s count a training step really grows
 * the wasm heap to: the allocator's fragmentation, kernels' scratch (XNNPACK's
 * packed weights and indirection buffers, BN's float64 sums) and the heap's
 * 16 MiB start. Measured 2026-12-07 (Node 20, 2-core Xeon) as the heap's size
 * after one step and one evaluation, over the estimate, at sizes near the
 * limit: our compact RepVGG 1.10-1.16 (880-895 px, batch 8; 910 px aborted),
 * RepVGG-A0 1.16 (480 px), RepVGG-B1 1.20 (224 px, which includes up to 96
 * MiB that emscripten grows the heap by beyond a request), RepVGG-B1g4 1.15,
 * MobileOne-S0 1.10 (256 px; 270 px aborted). 1.25 keeps every one of them
 * with room to spare.
 */
export const WASM_HEAP_OVERHEAD = 1.25;

/** A memory of its own per replica (the wasm heap): what a replica's step may grow it to. */
export interface HeapLimit {
  readonly bytes: number;
  /** The factor on the estimate a replica's heap really grows by ({@link WASM_HEAP_OVERHEAD}). */
  readonly overhead: number;
  /** What it is, for messages: 'the 4.0 GiB wasm heap'. */
  readonly what: string;
}

/** What a batch is compared with. */
export interface MemoryLimits {
  /** All of it, every replica together: the machine's memory (`os.totalmem()`). */
  readonly bytes: number;
  /** The largest single tensor, in float32 elements. */
  readonly tensorElements: number;
  /** What holds one tensor, for messages; default 'one typed array'. */
  readonly tensorHolder?: string;
  /** Where each replica has a memory of its own (wasm), its limit. */
  readonly heap?: HeapLimit;
  /** A word on `bytes` for messages: WebGPU does not tell a GPU's memory. */
  readonly machineNote?: string;
}

/** The machine's memory and Node's typed-array limit: what the cpu backend and tfjs-node have. */
export const machineLimits = (): MemoryLimits => ({
  bytes: totalmem(),
  tensorElements: float32ArrayLimit(),
});

/** The wasm backend's limits: each replica's heap, and the machine for all of them. */
export const wasmLimits = (): MemoryLimits => ({
  bytes: totalmem(),
  // Reading a tensor makes a typed array of it; the heap check binds long before.
  tensorElements: float32ArrayLimit(),
  heap: {
    bytes: WASM_HEAP_MAX_BYTES,
    overhead: WASM_HEAP_OVERHEAD,
    what: `the ${(WASM_HEAP_MAX_BYTES / 1e9).toFixed(2)} GB wasm heap (4 GiB, a 32-bit wasm memory's maximum)`,
  },
});

/** The part of a WebGPU device the limits are read from. */
interface WebGPUDeviceLimits {
  readonly maxStorageBufferBindingSize?: number;
  readonly maxBufferSize?: number;
}

/**
 * WebGPU's limits: one tensor is one storage buffer, at most the device's
 * `maxStorageBufferBindingSize` (and `maxBufferSize`), which TF.js asks the
 * adapter for in full. The GPU's own memory cannot be read through WebGPU, so
 * the total is compared with the machine's (what an integrated GPU or a
 * software one such as lavapipe uses).
 */
export function webgpuLimits(device: WebGPUDeviceLimits | undefined): MemoryLimits {
  const binding = device?.maxStorageBufferBindingSize;
  const buffer = device?.maxBufferSize;
  const sizes = [binding, buffer].filter((n): n is number => typeof n === 'number' && n > 0);
  if (sizes.length === 0)
    return { ...machineLimits(), machineNote: "WebGPU does not tell a GPU's memory" };
  const bytes = Math.min(...sizes);
  return {
    bytes: totalmem(),
    tensorElements: Math.min(float32ArrayLimit(), Math.floor(bytes / 4)),
    tensorHolder: `one WebGPU storage buffer (this device's ${bytes === binding ? 'maxStorageBufferBindingSize' : 'maxBufferSize'}, ${bytes} bytes)`,
    machineNote: "WebGPU does not tell a GPU's memory",
  };
}

/**
 * The limits of the backend TF.js runs now (`name`, as selectBackend chose
 * it): wasm's heap per replica, WebGPU's device limits, the machine's memory
 * for cpu and tfjs-node.
 */
export function backendLimits(name: string): MemoryLimits {
  if (name === 'wasm') return wasmLimits();
  if (name === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: { limits?: WebGPUDeviceLimits } }).device;
    return webgpuLimits(device?.limits);
  }
  return machineLimits();
}
