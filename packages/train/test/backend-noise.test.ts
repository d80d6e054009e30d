import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { arrayDataset, selectBackend, train } from '../src/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('what backend selection prints', () => {
  it("'auto' asks Dawn in a child process: nothing from Dawn or the Vulkan loader reaches stderr", async () => {
    const script = join(import.meta.dirname, 'helpers', 'auto-backend.ts');
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', script],
      { cwd: join(import.meta.dirname, '..'), timeout: 60_000 },
    );
    const choice = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(choice.backend).toBe('wasm');
    // webgpu was considered and ruled out with a reason, whatever this machine has.
    const webgpu = choice.tried.find((t: { name: string }) => t.name === 'webgpu');
    expect(webgpu).toMatchObject({ ok: false });
    expect(webgpu.detail).toMatch(/software adapter|no adapter|not installed|could not start/);
    expect(stderr).toBe('');
  }, 90_000);

  it('train() on a cpu backend nobody chose warns once, naming selectBackend', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await tf.setBackend('cpu');
    const data = arrayDataset({
      name: 'two',
      pixels: new Float32Array(8 * 4),
      labels: [0, 1, 0, 1, 0, 1, 0, 1],
      shape: [2, 2, 1],
      classNames: ['a', 'b'],
    });
    const input = tf.input({ shape: [2, 2, 1] });
    const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    const model = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 2 }).apply(flat) as tf.SymbolicTensor,
    });
    const options = {
      epochs: 1,
      batchSize: 4,
      optimizer: { type: 'sgd', lr: 0.1 },
      progress: 'none',
    } as const;
    await train(model, { train: data }, options);
    await train(model, { train: data }, options);
    const lines = warn.mock.calls.map((c) => String(c[0]));
    expect(lines.filter((l) => l.includes('plain-JS cpu backend'))).toEqual([
      "@repnets/train: training on TF.js's plain-JS cpu backend, far slower than wasm (no backend was selected; call selectBackend('auto') first). Pass 'cpu' to selectBackend to mean it.",
    ]);
    model.dispose();
  });

  it('webgl in Node is refused with the reason', async () => {
    await expect(selectBackend('webgl')).rejects.toThrow(
      "selectBackend('webgl'): no backend could start (webgl: WebGL is a browser API; in Node use webgpu, wasm or tensorflow)",
    );
  });
});
