/**
 * Options train() would ignore, or data it would only fail on deep inside
 * TF.js, are refused before the first step, naming the option or the shape.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Transform } from '../src/data/types.js';
import { arrayDataset, type TrainOptions, train } from '../src/index.js';
import { resolveWorkers } from '../src/runner/workers.js';
import { tinyData, tinySimpleNet } from './helpers/tiny-data.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const trainSet = tinyData(32, 1);
const tinyModel = (channels = 1) => tinySimpleNet({ channels, seed: 1 });

/** Options that count the steps taken, so "before any step" is checked, not assumed. */
function counted(more: Partial<TrainOptions> = {}): { options: TrainOptions; steps: () => number } {
  let steps = 0;
  return {
    steps: () => steps,
    options: {
      epochs: 1,
      batchSize: 16,
      optimizer: { type: 'sgd', lr: 0.05 },
      progress: 'none',
      callbacks: { onStep: () => void steps++ },
      ...more,
    },
  };
}

describe('the optimizer and schedule', () => {
  it.each([
    [
      { type: 'rmsprop', lr: 0.1 },
      `train: optimizer.type must be 'sgd', 'adam' or 'adamw', got "rmsprop"`,
    ],
    [
      { type: 'sgd', lr: 0.1, weight_decay: 1e-4 },
      "train: optimizer.weight_decay is not an option of the 'sgd' optimizer (it would be ignored); did you mean weightDecay?",
    ],
    [
      { type: 'adam', lr: 0.1, momentum: 0.9 },
      "train: optimizer.momentum is not an option of the 'adam' optimizer (it would be ignored); its options are type, lr, beta1, beta2, epsilon, weightDecay, decayBiasAndNorm",
    ],
    [{ type: 'sgd' }, 'train: optimizer.lr must be a positive finite number, got undefined'],
  ])('%j is refused before any step', async (optimizer, message) => {
    const m = tinyModel();
    const run = counted({ optimizer: optimizer as never });
    await expect(train(m, { train: trainSet }, run.options)).rejects.toThrow(message);
    expect(run.steps()).toBe(0);
    m.dispose();
  });

  it('an unknown schedule type is refused', async () => {
    const m = tinyModel();
    const run = counted({ schedule: { type: 'linear' } as never });
    await expect(train(m, { train: trainSet }, run.options)).rejects.toThrow(
      `train: schedule.type must be 'cosine', 'step' or 'constant', got "linear"`,
    );
    expect(run.steps()).toBe(0);
    m.dispose();
  });
});

describe('data that does not fit the model', () => {
  it('other channels are named before any step', async () => {
    const m = tinyModel(3);
    const run = counted();
    await expect(train(m, { train: trainSet }, run.options)).rejects.toThrow(
      "train: the training set 'tiny-1' gives 8x8x1 images (height x width x channels), the model takes 8x8x3; build the model for the data (channels, inputSize) or transform the data to fit it",
    );
    expect(run.steps()).toBe(0);
    m.dispose();
  });

  it('another size after the transform, and a test set that differs, are named', async () => {
    const crop: Transform = (img) => ({
      data: img.data.slice(0, 6 * 6),
      height: 6,
      width: 6,
      channels: 1,
    });
    const m = tinyModel();
    const run = counted({ transform: crop });
    await expect(train(m, { train: trainSet }, run.options)).rejects.toThrow(
      "train: the training set 'tiny-1' gives 6x6x1 images after the transform (height x width x channels), the model takes 8x8x1",
    );
    const test = arrayDataset({
      name: 'big-test',
      pixels: new Float32Array(4 * 10 * 10),
      labels: [0, 1, 2, 3],
      shape: [10, 10, 1],
      classNames: ['a', 'b', 'c', 'd'],
    });
    await expect(train(m, { train: trainSet, test }, counted().options)).rejects.toThrow(
      "train: the test set 'big-test' gives 10x10x1 images (height x width x channels), the model takes 8x8x1",
    );
    expect(run.steps()).toBe(0);
    m.dispose();
  });
});

describe('workers above the cores', () => {
  it('are run, with a note saying what they cost', () => {
    const r = resolveWorkers(5, 'wasm', 64, 2);
    expect(r.workers).toBe(5);
    expect(r.note).toMatch(
      /^workers: 5 is more than the 2 cores here: the replicas take turns on them, so each step is slower than with 2 workers \(measured: .*\); keep it only to repeat a run trained with 5 workers bit for bit$/,
    );
    expect(resolveWorkers(2, 'wasm', 64, 2).note).toBeUndefined();
  });
});
