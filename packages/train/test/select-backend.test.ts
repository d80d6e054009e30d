import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureWebGPU, releaseBackend, selectBackend } from '../src/index.js';

afterAll(releaseBackend);

describe('selectBackend', () => {
  it("'auto' falls through tensorflow (not installable here) and webgpu (no GPU here) to wasm, saying why", async () => {
    const choice = await selectBackend('auto');
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.tried.map((t) => [t.name, t.ok])).toEqual([
      ['tensorflow', false],
      ['webgpu', false],
      ['wasm', true],
    ]);
    expect(choice.tried[0]!.detail).toMatch(
      /@tensorflow\/tfjs-node-gpu: .*; @tensorflow\/tfjs-node: /,
    );
    expect(choice.reason).toMatch(/^wasm: XNNPACK.*\(not available: tensorflow: .*webgpu: /);
    expect(choice.tried[1]!.detail).toMatch(/software adapter|no adapter|could not load/);
  });

  it("'webgpu' by name takes a software adapter too, when one exists", async () => {
    let adapter: Awaited<ReturnType<typeof ensureWebGPU>>;
    try {
      adapter = await ensureWebGPU();
    } catch (e) {
      console.log(`skipping: no WebGPU adapter here (${(e as Error).message})`);
      return;
    }
    const choice = await selectBackend('webgpu');
    expect(choice.backend).toBe('webgpu');
    expect(choice.reason).toContain(adapter.description);
    const y = tf.square(tf.tensor1d([1, 2, 3]));
    expect(Array.from(await y.data())).toEqual([1, 4, 9]);
  }, 60_000);

  it('a named backend is used alone; one that cannot start is an error with the reason', async () => {
    expect((await selectBackend('cpu')).backend).toBe('cpu');
    await expect(selectBackend('tensorflow')).rejects.toThrow(
      /selectBackend\('tensorflow'\): no backend could start \(tensorflow: @tensorflow\/tfjs-node-gpu/,
    );
    await expect(selectBackend('gpu' as never)).rejects.toThrow(/unknown backend 'gpu'/);
  });
});
