/**
 * A run that diverges stops at the step where the loss stops being finite,
 * says where and what to change, and never writes a non-finite checkpoint
 * over the last finite one.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Transform } from '../src/data/types.js';
import {
  loadCheckpoint,
  saveCheckpoint,
  TrainingDivergedError,
  type TrainOptions,
  train,
} from '../src/index.js';
import { tinyData, tinySimpleNet } from './helpers/tiny-data.js';

const root = join(import.meta.dirname, '.tmp', 'divergence');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const trainSet = tinyData(48, 1);
const tinyModel = () => tinySimpleNet({ seed: 2 });

const base = (dir: string, more: Partial<TrainOptions> = {}): TrainOptions => ({
  epochs: 3,
  batchSize: 16,
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 },
  schedule: { type: 'constant' },
  seed: 1,
  checkpointDir: dir,
  progress: 'none',
  ...more,
});

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('a non-finite loss stops the run', () => {
  it('at the step it appears (injected NaN data), naming epoch and step; the last finite checkpoint stays', async () => {
    const dir = join(root, 'nan-data');
    const ckpt = join(dir, 'last.ckpt');
    // Epoch 1 sees clean images; from epoch 2 on, every image holds a NaN.
    let poisoned = false;
    const poison: Transform = (img) => {
      if (!poisoned) return img;
      const data = img.data.slice();
      data[0] = Number.NaN;
      return { ...img, data };
    };
    let afterEpoch1 = '';
    const steps: number[] = [];
    const m = tinyModel();
    const err = await train(
      m,
      { train: trainSet },
      base(dir, {
        transform: poison,
        callbacks: {
          onStep: (r) => void steps.push(r.step),
          onEpochEnd: () => {
            afterEpoch1 ||= sha(ckpt);
            poisoned = true;
          },
        },
      }),
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as Error).message).toBe(
      `train: the loss became NaN at epoch 2, step 4 (batch 1 of 3; learning rate 0.05): training diverged; lower the learning rate (try 0.005) or clip gradients (clipGradNorm). The last finite checkpoint is ${ckpt} (epoch 1)`,
    );
    expect(err).toMatchObject({ epoch: 2, step: 4, batch: 1, loss: Number.NaN });
    // Stopped at once: no step after the one that diverged.
    expect(steps).toEqual([1, 2, 3]);
    expect(sha(ckpt)).toBe(afterEpoch1);
    expect((await loadCheckpoint(ckpt)).epoch).toBe(1);
    m.dispose();
  });

  it('a learning rate that diverges a tiny model stops in epoch 1 and writes no checkpoint', async () => {
    const dir = join(root, 'huge-lr');
    const m = tinyModel();
    const err = await train(
      m,
      { train: trainSet },
      base(dir, { optimizer: { type: 'sgd', lr: 1e30, momentum: 0 } }),
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as Error).message).toMatch(
      /^train: the loss became (NaN|Infinity) at epoch 1, step \d+ \(batch \d+ of 3; learning rate 1e\+30\): training diverged; lower the learning rate \(try 1e\+29\) or clip gradients \(clipGradNorm\)\. No checkpoint was written: no epoch ended with finite weights$/,
    );
    expect(existsSync(join(dir, 'last.ckpt'))).toBe(false);
    m.dispose();
  });

  it('non-finite weights at an epoch end (BN statistics) are not checkpointed over the last finite ones', async () => {
    const dir = join(root, 'nan-stats');
    const ckpt = join(dir, 'last.ckpt');
    const m = tinyModel();
    let afterEpoch1 = '';
    const err = await train(
      m,
      { train: trainSet },
      base(dir, {
        callbacks: {
          onEpochEnd: () => {
            afterEpoch1 ||= sha(ckpt);
            // The loss in training mode uses batch statistics: it stays finite, the running mean does not.
            const mean = m.weights.find((w) => w.name.includes('moving_mean'))!;
            mean.write(tf.fill(mean.shape as number[], Number.NaN));
          },
        },
      }),
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as Error).message).toMatch(
      /^train: after epoch 2 the weight '.*moving_mean.*' holds NaN: training diverged; lower the learning rate \(try 0\.005\) or clip gradients \(clipGradNorm\)\. The last finite checkpoint is .*last\.ckpt \(epoch 1\)$/,
    );
    expect(sha(ckpt)).toBe(afterEpoch1);
    m.dispose();
  });
});

describe('resuming a run that diverged', () => {
  it('a checkpoint holding a non-finite weight is refused, naming it, before any step', async () => {
    const dir = join(root, 'nan-resume');
    const ckpt = join(dir, 'last.ckpt');
    const first = tinyModel();
    await train(first, { train: trainSet }, base(dir, { epochs: 1 }));
    first.dispose();
    const saved = await loadCheckpoint(ckpt);
    saved.weights[1]!.values[0] = Number.POSITIVE_INFINITY;
    await saveCheckpoint(ckpt, saved);
    const m = tinyModel();
    let steps = 0;
    const err = await train(
      m,
      { train: trainSet },
      base(dir, { resume: true, callbacks: { onStep: () => void steps++ } }),
    ).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      `train: checkpoint '${ckpt}' holds non-finite values (the weight '${m.weights[1]!.name}' holds Infinity): its run had diverged; resume from an earlier checkpoint or start again with a lower learning rate`,
    );
    expect(steps).toBe(0);
    m.dispose();
  });
});
