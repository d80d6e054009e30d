import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createModel,
  listModels,
  RepVGGBlock,
  reparameterize,
  type ZooName,
} from '../src/index.js';
import { foldAndCompare } from './helpers/models.js';

const trainableParams = (m: tf.LayersModel) =>
  m.trainableWeights.reduce((n, w) => n + (w.shape as number[]).reduce((p, d) => p * d, 1), 0);

// The cpu backend runs the grouped convs (split/conv/concat) of the B-g2/g4 nets
// at about 20 s per forward pass; XNNPACK on wasm is an order of magnitude faster.
beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});
afterEach(() => tf.disposeVariables());

describe('parameter counts at 1000 classes, 224x224x3, against the published figures', () => {
  // RepVGG: Ding et al. 2021, Table 3 (train / deploy). MobileOne: Vasu et al. 2023, Table 8 (deploy).
  const published: Array<[ZooName, number | null, number]> = [
    ['repvgg_a0', 9.11e6, 8.31e6],
    ['repvgg_a1', 14.09e6, 12.79e6],
    ['repvgg_b0', 15.82e6, 14.34e6],
    ['mobileone_s0', null, 2.08e6],
    ['mobileone_s1', null, 4.76e6],
    ['mobileone_s2', null, 7.81e6],
    ['mobileone_s3', null, 10.08e6],
    ['mobileone_s4', null, 14.84e6],
  ];
  it.each(published)('%s: train %d, deploy %d (within 1%%)', async (name, train, deploy) => {
    const model = createModel(name, { numClasses: 1000, inputSize: 224, channels: 3 });
    if (train !== null) expect(Math.abs(trainableParams(model) / train - 1)).toBeLessThan(0.01);
    const { model: folded } = await reparameterize(model);
    expect(Math.abs(folded.countParams() / deploy - 1)).toBeLessThan(0.01);
    model.dispose();
    folded.dispose();
  });
});

describe('every zoo model: eval-mode train form == deploy form at 32x32 (wasm backend)', () => {
  it.each(listModels())(
    '%s',
    async (name) => {
      const model = createModel(name, { numClasses: 10, inputSize: 32, channels: 3, seed: 1 });
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 7);
      const { diff, train, deploy, deployModel } = await foldAndCompare(model, x, 11);
      expect(diff).toBeLessThan(1e-4);
      expect(Array.from(deploy.argMax(-1).dataSync())).toEqual(
        Array.from(train.argMax(-1).dataSync()),
      );
      tf.dispose([x, train, deploy]);
      model.dispose();
      deployModel.dispose();
    },
    120_000,
  );
});

describe('builder options', () => {
  it('1-channel 28x28 inputs, stem stride 1 and width overrides', () => {
    const m = createModel('repvgg_a0', {
      numClasses: 10,
      inputSize: 28,
      channels: 1,
      stemStride: 1,
      widthMultipliers: [0.25, 0.25, 0.25, 0.5],
    });
    expect(m.inputs[0]!.shape).toEqual([null, 28, 28, 1]);
    expect(m.outputs[0]!.shape).toEqual([null, 10]);
    // Stride-1 stem: 28 -> 28 -> 14 -> 7 -> 4 -> 2 before the pool.
    expect(m.getLayer('stage4_block0').outputShape).toEqual([null, 2, 2, 256]);
    m.dispose();
  });

  it("BN epsilon and momentum from the builder reach every block, and the fold reads the layer's epsilon", async () => {
    const model = createModel('simplenet', {
      inputSize: 16,
      bn: { epsilon: 1e-3, momentum: 0.99 },
    });
    const blocks = model.layers.filter((l): l is RepVGGBlock => l instanceof RepVGGBlock);
    expect(blocks.map((b) => [b.bnEpsilon, b.bnMomentum])).toEqual([
      [1e-3, 0.99],
      [1e-3, 0.99],
      [1e-3, 0.99],
    ]);
    // Tiny running variances make a wrong epsilon visible.
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 2);
    const { diff, deployModel } = await foldAndCompare(model, x, 5);
    expect(diff).toBeLessThan(1e-4);
    for (const w of model.weights.filter((v) => v.originalName.endsWith('moving_variance'))) {
      w.write(tf.fill(w.shape as number[], 2e-3));
    }
    const { diff: small } = await foldAndCompare(model, x, null);
    expect(small).toBeLessThan(1e-4);
    deployModel.dispose();
  });

  it('unknown names and bad options are refused with the option named', () => {
    expect(() => createModel('repvgg_z9' as ZooName)).toThrow(
      /createModel: unknown model 'repvgg_z9'; known: repvgg_a0/,
    );
    expect(() => createModel('repvgg_a0', { numClasses: 0 })).toThrow(
      /repvgg_a0: option 'numClasses' must be a positive integer, got 0/,
    );
    expect(() => createModel('mobileone_s0', { widthMultipliers: [1, 2] })).toThrow(
      /widthMultipliers must be 4 positive numbers/,
    );
  });
});

describe('seeded initial weights', () => {
  const weights = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
  it('the same seed builds the same weights; another seed or none builds others', () => {
    const opts = { numClasses: 10, inputSize: 28, channels: 1, stemStride: 1 } as const;
    const [a, b, c, d] = [
      createModel('repvgg_compact', { ...opts, seed: 7 }),
      createModel('repvgg_compact', { ...opts, seed: 7 }),
      createModel('repvgg_compact', { ...opts, seed: 8 }),
      createModel('repvgg_compact', opts),
    ];
    expect(weights(b)).toEqual(weights(a));
    // Every randomly initialized weight differs under another seed (BN and biases start at constants).
    const wa = weights(a);
    const wc = weights(c);
    const random = wa.map((w, i) => (new Set(w).size > 1 ? i : -1)).filter((i) => i >= 0);
    expect(random.length).toBeGreaterThan(5);
    for (const i of random) expect(wc[i]).not.toEqual(wa[i]);
    expect(weights(d)).not.toEqual(wa);
    for (const m of [a, b, c, d]) m.dispose();
    expect(() => createModel('simplenet', { seed: -1 })).toThrow(
      'seed must be an integer >= 0, got -1',
    );
  });
});
