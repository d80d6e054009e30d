/**
 * The assembler's imported memory: a module must link against a plain heap
 * and against a shared one (the heap of a threaded emscripten build, e.g.
 * tfjs-backend-wasm's threaded SIMD build), and work in place on it.
 */
import { describe, expect, it } from 'vitest';
import { F32, I32, instantiate, op, type WasmFunction } from '../src/engine/wasm-asm.js';

// scale(ptr, s): heap f32 at ptr *= s
const scale: WasmFunction = {
  name: 'scale',
  params: [I32, F32],
  results: [],
  locals: [],
  body: [...op.get(0), ...op.get(0), ...op.f32Load, ...op.get(1), ...op.f32Mul, ...op.f32Store],
};

// fuse builds without the DOM lib, which declares WebAssembly's constructors.
const { Memory } = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (d: object) => { buffer: ArrayBuffer; grow(n: number): number } };
  }
).WebAssembly;

describe('instantiate with an imported memory', () => {
  it.each([
    ['plain', { initial: 1 }],
    ['shared', { initial: 1, maximum: 4, shared: true }],
  ] as const)('links against a %s memory and writes it in place', (_, descriptor) => {
    const memory = new Memory(descriptor);
    const k = instantiate<{ scale(ptr: number, s: number): void }>([scale], memory);
    expect(k).not.toBeNull();
    const view = new Float32Array(memory.buffer);
    view[3] = 1.5;
    k!.scale(12, 4);
    expect(view[3]).toBe(6);
  });
});
