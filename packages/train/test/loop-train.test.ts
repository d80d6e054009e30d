import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transform } from '../src/data/types.js';
import {
  arrayDataset,
  registerWasmTrainingKernels,
  type TrainOptions,
  train,
} from '../src/index.js';
import { H, tinyData } from './helpers/tiny-data.js';

const root = join(import.meta.dirname, '.tmp', 'train');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(() => registerWasmTrainingKernels());

const trainSet = tinyData(48, 1);
const testSet = tinyData(20, 2);
const tinyModel = (widths = [0.125, 0.0625], seed?: number) =>
  createModel('simplenet', {
    numClasses: 4,
    inputSize: H,
    channels: 1,
    widthMultipliers: widths,
    seed,
  } as never);

/** Horizontal flip with probability 1/2: exercises the per-example streams. */
const flip: Transform = (img, r) => {
  if (!r.chance(0.5)) return img;
  const out = new Float32Array(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      out[y * img.width + x] = img.data[y * img.width + (img.width - 1 - x)]!;
  return { ...img, data: out };
};

const base = (dir: string): TrainOptions => ({
  epochs: 3,
  batchSize: 16,
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 },
  schedule: { type: 'cosine', warmupEpochs: 1 },
  labelSmoothing: 0.1,
  clipGradNorm: 5,
  transform: flip,
  seed: 3,
  checkpointDir: dir,
  progress: 'none',
});

async function weightsOf(model: tf.LayersModel): Promise<Float32Array[]> {
  return Promise.all(model.weights.map(async (w) => Float32Array.from(await w.read().data())));
}

describe.each(['cpu', 'wasm'])('train() on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
  });

  it('stopped after epoch 1 and resumed gives bit-identical weights to an uninterrupted run', async () => {
    const a = tinyModel();
    const initial = a.getWeights().map((t) => t.clone());
    const full = await train(
      a,
      { train: trainSet, test: testSet },
      base(join(root, backend, 'full')),
    );
    expect(full.epochs).toBe(3);
    expect(full.steps).toBe(9);

    const b = tinyModel();
    b.setWeights(initial);
    const dir = join(root, backend, 'stopped');
    const first = await train(
      b,
      { train: trainSet, test: testSet },
      {
        ...base(dir),
        callbacks: { onEpochEnd: (r) => r.epoch < 1 },
      },
    );
    expect(first.stopped).toBe(true);
    expect(first.epochs).toBe(1);

    const c = tinyModel(); // a different random init: everything must come from the checkpoint
    const resumed = await train(
      c,
      { train: trainSet, test: testSet },
      { ...base(dir), resume: true },
    );
    expect(resumed.startEpoch).toBe(1);
    expect(resumed.steps).toBe(9);
    expect(resumed.history.map((h) => h.trainLoss)).toEqual(full.history.map((h) => h.trainLoss));
    const [wa, wc] = [await weightsOf(a), await weightsOf(c)];
    expect(wc.length).toBe(wa.length);
    for (const [i, w] of wa.entries()) {
      expect(Buffer.from(wc[i]!.buffer).equals(Buffer.from(w.buffer)), `weight ${i}`).toBe(true);
    }
    tf.dispose(initial);
    for (const m of [a, b, c]) m.dispose();
  });

  it('holds the tensor count constant from epoch to epoch (no leaks) and learns', async () => {
    const m = tinyModel(undefined, 5); // seeded: whether it learns must not depend on the draw
    const r = await train(
      m,
      { train: trainSet, test: testSet },
      { ...base(join(root, backend, 'mem')), epochs: 3 },
    );
    expect(r.tensorsAtEpochStart).toHaveLength(3);
    expect(new Set(r.tensorsAtEpochStart).size).toBe(1);
    expect(r.history[2]!.trainLoss).toBeLessThan(r.history[0]!.trainLoss);
    for (const h of r.history) expect(h.testTop5).toBe(1); // 4 classes: top-5 always hits
    m.dispose();
  });
});

describe('train() options', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it("customL2 swaps the RepVGG kernels' plain decay for the equivalent-kernel L2", async () => {
    const a = tinyModel();
    const initial = a.getWeights().map((t) => t.clone());
    const b = tinyModel();
    b.setWeights(initial);
    const opts = {
      ...base(''),
      checkpointDir: undefined,
      epochs: 1,
      optimizer: { type: 'sgd', lr: 0.05, weightDecay: 0.1 },
    } as const;
    await train(a, { train: trainSet }, opts);
    await train(b, { train: trainSet }, { ...opts, customL2: true });
    const [wa, wb] = [await weightsOf(a), await weightsOf(b)];
    const kernel = a.weights.findIndex((w) => w.originalName.endsWith('block1/dense_kernel'));
    const diff = Math.max(...wa[kernel]!.map((v, k) => Math.abs(v - wb[kernel]![k]!)));
    expect(diff).toBeGreaterThan(1e-6);
    const head = a.weights.findIndex((w) => w.originalName.endsWith('head_fc/kernel'));
    expect(head).toBeGreaterThanOrEqual(0);
    tf.dispose(initial);
    for (const m of [a, b]) m.dispose();
    const plain = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [H, H, 1] }), tf.layers.dense({ units: 4 })],
    });
    await expect(train(plain, { train: trainSet }, { ...opts, customL2: true })).rejects.toThrow(
      /customL2 is set but the model has no layer with customL2\(\)/,
    );
    plain.dispose();
  });
});

describe('train() refuses what does not fit', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('a checkpoint of another architecture is refused before any weight changes', async () => {
    const dir = join(root, 'mismatch');
    const small = tinyModel();
    await train(small, { train: trainSet }, { ...base(dir), epochs: 1 });
    const other = tinyModel([0.25, 0.0625]);
    const before = await weightsOf(other);
    await expect(
      train(other, { train: trainSet }, { ...base(dir), epochs: 2, resume: true }),
    ).rejects.toThrow(
      /last\.ckpt' does not fit this run: weight \d+ .* has shape \[[\d,]+\], the model's .* has \[[\d,]+\]/,
    );
    const after = await weightsOf(other);
    for (const [i, w] of before.entries()) expect(Array.from(after[i]!)).toEqual(Array.from(w));
    const sameArch = tinyModel();
    await expect(
      train(sameArch, { train: trainSet }, { ...base(dir), epochs: 2, resume: true, seed: 99 }),
    ).rejects.toThrow(/written with seed 3, this run asks for seed 99/);
    for (const m of [small, other, sameArch]) m.dispose();
  });

  it('bad options name the option and the value', async () => {
    const m = tinyModel();
    const d = { train: trainSet };
    await expect(train(m, d, { ...base(''), epochs: 0 })).rejects.toThrow(
      /epochs must be a positive integer, got 0/,
    );
    await expect(train(m, d, { ...base(''), labelSmoothing: 1 })).rejects.toThrow(
      /labelSmoothing must be in \[0, 1\)/,
    );
    await expect(
      train(m, d, { ...base(''), batchSize: 100, checkpointDir: undefined }),
    ).rejects.toThrow(/'tiny-1' has 48 examples, fewer than one batch of 100/);
    await expect(
      train(
        m,
        {
          train: tinyData(8, 5),
          test: arrayDataset({
            name: 'wide',
            pixels: new Float32Array(64),
            labels: [5],
            shape: [8, 8, 1],
            classNames: ['0', '1', '2', '3', '4', '5'],
          }),
        },
        base(''),
      ),
    ).rejects.toThrow(/test set 'wide' has 6 classes, the model outputs 4/);
    m.dispose();
  });
});
