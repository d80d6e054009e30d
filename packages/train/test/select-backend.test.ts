import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectBackend } from '../src/index.js';

describe('selectBackend', () => {
  it("'auto' falls through tensorflow and webgpu (not installed here) to wasm, saying why", async () => {
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
  });

  it('a named backend is used alone; one that cannot start is an error with the reason', async () => {
    expect((await selectBackend('cpu')).backend).toBe('cpu');
    await expect(selectBackend('tensorflow')).rejects.toThrow(
      /selectBackend\('tensorflow'\): no backend could start \(tensorflow: @tensorflow\/tfjs-node-gpu/,
    );
    await expect(selectBackend('gpu' as never)).rejects.toThrow(/unknown backend 'gpu'/);
  });
});
