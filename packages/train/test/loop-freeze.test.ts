/**
 * Fine-tuning in the loop: frozen layers keep every weight bit for bit (their
 * BatchNorm running statistics included) while the others train, with 1 or 2
 * worker replicas; a frozen run stopped and resumed from its checkpoint ends
 * bitwise where the uninterrupted one does, and refuses a resume with another
 * freeze or backbone factor, naming both; the backbone factor scales the
 * backbone's steps only; a new head trains and the fold still matches.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, reparameterize, resetHead } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadCheckpoint,
  registerWasmTrainingKernels,
  selectBackend,
  type TrainOptions,
  train,
} from '../src/index.js';
import { H, tinyData, tinySimpleNet } from './helpers/tiny-data.js';

const root = join(import.meta.dirname, '.tmp', 'freeze');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  registerWasmTrainingKernels();
  await selectBackend('wasm');
});

const trainSet = tinyData(48, 1);
const tinyModel = () => tinySimpleNet({ seed: 7 });

/** Every weight's bits, by weight name. */
const bitsOf = async (model: tf.LayersModel) =>
  new Map(
    await Promise.all(
      model.weights.map(
        async (w) =>
          [
            w.originalName,
            Array.from(new Uint32Array(Float32Array.from(await w.read().data()).buffer)),
          ] as const,
      ),
    ),
  );

const base = (over: Partial<TrainOptions> = {}): TrainOptions => ({
  epochs: 2,
  batchSize: 16,
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-3 },
  seed: 3,
  progress: 'none',
  freeze: { stages: 0 },
  backboneLrFactor: 0.5,
  ...over,
});

describe('freeze { stages: 0 } of the tiny SimpleNet (block0 is the stem)', () => {
  it.each([1, 2])(
    'with %i worker(s): the stem keeps every bit, running statistics included; the rest trains; resume is bitwise',
    async (workers) => {
      const model = tinyModel();
      const before = await bitsOf(model);
      const dir = join(root, `w${workers}`);
      await train(model, { train: trainSet }, base({ workers, checkpointDir: dir }));
      const after = await bitsOf(model);
      const stem = [...before.keys()].filter((k) => k.startsWith('block0/'));
      expect(stem.some((k) => k.includes('moving_mean'))).toBe(true);
      for (const k of stem) expect(after.get(k), k).toEqual(before.get(k));
      for (const k of before.keys()) {
        if (k.startsWith('block0/')) continue;
        // Every other weight trains, and every other BatchNorm updates its statistics.
        expect(after.get(k), k).not.toEqual(before.get(k));
      }
      const ckpt = await loadCheckpoint(join(dir, 'last.ckpt'));
      expect(ckpt.run.config).toMatchObject({ freeze: 'stages:0', backboneLrFactor: 0.5 });
      // Frozen weights have no optimizer slots.
      expect(ckpt.optimizer.slots.some((s) => s.name.includes('block0/'))).toBe(false);
      expect(ckpt.optimizer.slots.some((s) => s.name.includes('block1/'))).toBe(true);

      // Stop after epoch 1, resume: the same final bits.
      const stopDir = join(root, `w${workers}-stop`);
      const first = tinyModel();
      await train(
        first,
        { train: trainSet },
        base({ workers, checkpointDir: stopDir, callbacks: { onEpochEnd: () => false } }),
      );
      first.dispose();
      const resumed = tinyModel();
      const r = await train(
        resumed,
        { train: trainSet },
        base({ workers, checkpointDir: stopDir, resume: true }),
      );
      expect(r.startEpoch).toBe(1);
      expect(await bitsOf(resumed)).toEqual(after);

      // Another freeze or factor is another run.
      for (const [over, why] of [
        [
          { freeze: 'backbone' },
          'it was written with freeze "stages:0", this run asks for "backbone"',
        ],
        [{ freeze: undefined }, 'it was written with freeze "stages:0", this run asks for "none"'],
        [{ backboneLrFactor: 1 }, 'it was written with backboneLrFactor 0.5, this run asks for 1'],
      ] as const) {
        const other = tinyModel();
        await expect(
          train(
            other,
            { train: trainSet },
            base({ workers, checkpointDir: stopDir, resume: true, ...over }),
          ),
        ).rejects.toThrow(why);
        other.dispose();
      }
      model.dispose();
      resumed.dispose();
    },
    120_000,
  );
});

describe('backboneLrFactor', () => {
  it("scales the backbone's step and leaves the head's as it is", async () => {
    const step = async (factor: number) => {
      const model = tinyModel();
      const before = await bitsOf(model);
      const opts = base({
        epochs: 1,
        batchSize: 48,
        freeze: 'none',
        backboneLrFactor: factor,
        optimizer: { type: 'sgd', lr: 0.05, momentum: 0 },
        schedule: { type: 'constant' },
      });
      await train(model, { train: trainSet }, opts);
      const values = new Map(
        await Promise.all(
          model.weights.map(async (w) => [w.originalName, await w.read().data()] as const),
        ),
      );
      model.dispose();
      return { before, values };
    };
    const one = await step(1);
    const quarter = await step(0.25);
    const kernel = [...one.values.keys()].find((k) => /^block1\/.*kernel/.test(k))!;
    const head = 'head_fc/kernel';
    const w0 = new Float32Array(Uint32Array.from(one.before.get(kernel)!).buffer);
    const d1 = one.values.get(kernel)!.map((v, i) => v - w0[i]!);
    const dq = quarter.values.get(kernel)!.map((v, i) => v - w0[i]!);
    let num = 0;
    let den = 0;
    d1.forEach((v, i) => {
      num += dq[i]! * v;
      den += v * v;
    });
    expect(den).toBeGreaterThan(0);
    expect(num / den).toBeCloseTo(0.25, 3);
    // One step: the head's gradient is the same (same weights before it), so its step is.
    expect(Array.from(quarter.values.get(head)!)).toEqual(Array.from(one.values.get(head)!));
  }, 60_000);
});

describe('a new head, trained on a frozen backbone, then folded', () => {
  it('trains only the head, and the deploy form predicts as the train form', async () => {
    const pretrained = createModel('simplenet', {
      numClasses: 10,
      inputSize: H,
      channels: 1,
      widthMultipliers: [0.125, 0.0625],
      seed: 2,
    } as never);
    const model = resetHead(pretrained, 4, { seed: 1 });
    const before = await bitsOf(model);
    const r = await train(model, { train: trainSet }, base({ epochs: 1, freeze: 'backbone' }));
    expect(r.steps).toBe(3);
    const after = await bitsOf(model);
    for (const [k, v] of before) {
      if (k.startsWith('head_fc/')) expect(after.get(k), k).not.toEqual(v);
      else expect(after.get(k), k).toEqual(v);
    }
    const { model: deploy } = await reparameterize(model);
    const x = tf.randomNormal([16, H, H, 1], 0.5, 0.3, 'float32', 4);
    const [yt, yd] = [model.predict(x) as tf.Tensor, deploy.predict(x) as tf.Tensor];
    expect(tf.max(tf.abs(tf.sub(yt, yd))).dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([x, yt, yd]);
    model.dispose();
    deploy.dispose();
  }, 60_000);
});

describe('customL2 with frozen RepVGG blocks', () => {
  it('pulls only on the trained blocks, and runs with every block frozen', async () => {
    for (const freeze of [{ stages: 0 }, 'backbone'] as const) {
      const model = tinyModel();
      const before = await bitsOf(model);
      await train(model, { train: trainSet }, base({ epochs: 1, customL2: true, freeze }));
      const after = await bitsOf(model);
      expect(after.get('head_fc/kernel')).not.toEqual(before.get('head_fc/kernel'));
      const block0 = [...before.keys()].filter((k) => k.startsWith('block0/'));
      for (const k of block0) expect(after.get(k), k).toEqual(before.get(k));
      model.dispose();
    }
  });
});

describe('bad fine-tuning options are refused by name', () => {
  it.each([
    [
      { freeze: 'head' },
      `train: freeze must be 'none', 'backbone' or { stages: N } with an integer N >= 0, got "head"`,
    ],
    [{ freeze: { stages: -1 } }, 'got {"stages":-1}'],
    [
      { freeze: { stages: 3 } },
      "train: freeze { stages: 3 }: model 'simplenet' has stages up to 1 (freeze 'backbone' freezes all of them)",
    ],
    [
      { backboneLrFactor: 0 },
      'train: backboneLrFactor must be a positive finite number (freeze keeps weights fixed), got 0',
    ],
  ] as const)('%j', async (over, message) => {
    const model = tinyModel();
    await expect(
      train(model, { train: trainSet }, base({ epochs: 1, ...(over as Partial<TrainOptions>) })),
    ).rejects.toThrow(message);
    model.dispose();
  });
});
