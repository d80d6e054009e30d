/**
 * The wasm heap limit the memory check uses is the one tfjs-backend-wasm
 * really has: read from the binaries it ships (their memory's maximum) and its
 * JS glue (emscripten's getHeapMax), and a request beyond it gets no memory.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { backendLimits, WASM_HEAP_MAX_BYTES } from '../src/backend-limits.js';

const dist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));

/** The memory limits a wasm binary declares (defined or imported): [min, max] pages. */
function memoryPages(file: string): [number, number | undefined][] {
  const b = readFileSync(file);
  let p = 8; // magic and version
  const leb = () => {
    let v = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = b[p++]!;
      v += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return v;
  };
  const limits = () => {
    const flags = leb();
    const min = leb();
    return [min, flags & 1 ? leb() : undefined] as [number, number | undefined];
  };
  const found: [number, number | undefined][] = [];
  while (p < b.length) {
    const id = b[p++]!;
    const size = leb();
    const end = p + size;
    if (id === 5) {
      for (let n = leb(); n > 0; n--) found.push(limits());
    } else if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        for (let names = 0; names < 2; names++) {
          const length = leb(); // module name, then field name
          p += length;
        }
        const kind = b[p++]!;
        if (kind === 0) leb();
        else if (kind === 1) {
          p++;
          limits();
        } else if (kind === 2) found.push(limits());
        else p += 2;
      }
    }
    p = end;
  }
  return found;
}

describe('the wasm heap limit', () => {
  it.each([
    'tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
  ])('%s declares a memory of at most 65536 pages of 64 KiB', (file) => {
    const pages = memoryPages(join(dist, file));
    expect(pages).toHaveLength(1);
    expect(pages[0]![1]).toBe(65536);
  });

  it("is emscripten's getHeapMax() in the backend's JS glue, one page below 4 GiB", () => {
    const glue = readFileSync(join(dist, 'tf-backend-wasm.node.js'), 'utf8');
    const maxima = new Set(
      [...glue.matchAll(/function getHeapMax\(\) \{ return (\d+); \}/g)].map((m) => Number(m[1])),
    );
    expect([...maxima]).toEqual([WASM_HEAP_MAX_BYTES]);
    expect(WASM_HEAP_MAX_BYTES).toBe(4 * 2 ** 30 - 65536);
  });

  it('a request past it gets no memory (malloc returns NULL), one well below it does', async () => {
    await tf.setBackend('wasm');
    await tf.ready();
    const wasm = (
      tf.backend() as unknown as { wasm: { _malloc(n: number): number; _free(p: number): void } }
    ).wasm;
    expect(wasm._malloc(WASM_HEAP_MAX_BYTES) >>> 0).toBe(0);
    const small = wasm._malloc(2 ** 20) >>> 0;
    expect(small).not.toBe(0);
    wasm._free(small);
    expect(backendLimits('wasm').heap?.bytes).toBe(WASM_HEAP_MAX_BYTES);
  });
});
