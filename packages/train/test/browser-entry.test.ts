/**
 * The browser entry, run in Node: everything in it must work without Node
 * modules, and what needs them (checkpoint files, worker threads) is refused
 * naming why.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it, vi } from 'vitest';
import * as browser from '../src/browser.js';
import * as node from '../src/index.js';
import { H, tinyData } from './helpers/tiny-data.js';

function tinyModel(): tf.LayersModel {
  const input = tf.input({ shape: [H, H, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  return tf.model({
    inputs: input,
    outputs: tf.layers
      .dense({ units: 4, kernelInitializer: 'zeros' })
      .apply(flat) as tf.SymbolicTensor,
  });
}

const base = {
  epochs: 1,
  batchSize: 8,
  optimizer: { type: 'sgd', lr: 0.1 },
  seed: 3,
  progress: 'none',
} as const;

describe('@repnets/train/browser', () => {
  it('exports no Node-only name, and the Node entry has every browser name', () => {
    for (const name of [
      'mnistDataset',
      'cifar10Dataset',
      'imageFolderDataset',
      'namedDataset',
      'loadCheckpoint',
      'saveCheckpoint',
      'ensureWebGPU',
    ]) {
      expect(name in browser, name).toBe(false);
      expect(name in node, name).toBe(true);
    }
    for (const name of Object.keys(browser)) {
      if (name !== 'BROWSER_BACKENDS' && name !== 'probeBackends')
        expect(node, name).toHaveProperty(name);
    }
  });

  it('trains in this thread to the same weights as the Node entry', async () => {
    await tf.setBackend('cpu');
    const data = { train: tinyData(32, 1), test: tinyData(16, 2) };
    const a = tinyModel();
    const b = tinyModel();
    const ra = await browser.train(a, data, { ...base, workers: 'auto' });
    const rb = await node.train(b, data, { ...base, workers: 1 });
    expect(ra.history).toHaveLength(1);
    expect(ra.history[0]!.testTop1).toBe(rb.history[0]!.testTop1);
    const wa = a.getWeights().map((w) => Array.from(w.dataSync()));
    const wb = b.getWeights().map((w) => Array.from(w.dataSync()));
    expect(wa).toEqual(wb);
    a.dispose();
    b.dispose();
  });

  it('prints progress lines on the console (a page has no stdout)', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const m = tinyModel();
    await browser.train(m, { train: tinyData(16, 1) }, { ...base, progress: 'lines' });
    const lines = log.mock.calls.map((c) => String(c[0]));
    log.mockRestore();
    expect(lines.some((l) => /^epoch 1\/1 /.test(l))).toBe(true);
    m.dispose();
  });

  it('refuses checkpoint files and worker threads, naming what to do instead', async () => {
    const m = tinyModel();
    const data = { train: tinyData(16, 1) };
    await expect(browser.train(m, data, { ...base, checkpointDir: 'ckpt' })).rejects.toThrow(
      "train: checkpointDir and resume need a file system, and there is none in a browser; save the model from callbacks.onEpochEnd instead (model.save('indexeddb://name'))",
    );
    await expect(browser.train(m, data, { ...base, workers: 2 })).rejects.toThrow(
      'train: workers: 2 needs worker threads, and there are none in a browser; train with workers: 1',
    );
    m.dispose();
  });

  it('selects and probes the backends a page can run', async () => {
    await expect(browser.selectBackend('tensorflow')).rejects.toThrow(
      "selectBackend('tensorflow'): no backend could start (tensorflow: tfjs-node is Node-only)",
    );
    const attempts = await browser.probeBackends(['wasm', 'cpu']);
    expect(attempts.map((a) => [a.name, a.ok])).toEqual([
      ['wasm', true],
      ['cpu', true],
    ]);
    expect(attempts[0]!.detail).toMatch(/^XNNPACK.*1 thread; RepNets training kernels$/);
    expect(tf.getBackend()).toBe('wasm');
    await tf.setBackend('cpu');
  });
});
