/**
 * resetHead: every zoo model, in train and deploy form, gets a fresh head of
 * another class count on the same backbone layers and weights; layerStages
 * gives every block layer its record's stage, whatever the model is named.
 */
import { architecture } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createModel,
  HEAD_LAYER,
  layerStages,
  listModels,
  reparameterize,
  resetHead,
  type ZooName,
} from '../src/index.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

/** An eighth of every width (as many multipliers as the architecture takes): the graph, not the cost. */
function slim(name: ZooName): number[] {
  for (const n of [2, 4, 5]) {
    const w = Array.from({ length: n }, () => 0.125);
    try {
      architecture(name, { widthMultipliers: w });
      return w;
    } catch {}
  }
  throw new Error(`no width multipliers fit '${name}'`);
}

describe('resetHead on every zoo model (32x32 inputs, 1/8 widths, wasm backend)', () => {
  it.each(listModels())(
    '%s, train and deploy form',
    (name) => {
      for (const form of ['train', 'deploy'] as const) {
        const model = createModel(name, {
          numClasses: 10,
          inputSize: 32,
          channels: 3,
          widthMultipliers: slim(name),
          form,
        });
        const fresh = resetHead(model, 3, { seed: 5 });
        expect(fresh.outputs[0]!.shape).toEqual([null, 3]);
        const oldHead = model.getLayer(HEAD_LAYER);
        const newHead = fresh.getLayer(HEAD_LAYER);
        expect(newHead).not.toBe(oldHead);
        expect(newHead.getWeights().map((w) => w.shape)).toEqual([
          [oldHead.getWeights()[0]!.shape[0]!, 3],
          [3],
        ]);
        // The backbone is the same layers, so the same weight variables.
        const backbone = (m: tf.LayersModel) =>
          m.layers.filter((l) => l.name !== HEAD_LAYER).flatMap((l) => l.weights);
        const before = backbone(model);
        const shared = backbone(fresh);
        expect(shared.length).toBe(before.length);
        expect(shared.every((w, i) => w === before[i])).toBe(true);
        // Every block layer has its record's stage, in either form.
        const stages = layerStages(fresh);
        for (const b of architecture(name).blocks) expect(stages.get(b.name)).toBe(b.stage);
        const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 1);
        const y = fresh.predict(x) as tf.Tensor;
        expect(y.shape).toEqual([1, 3]);
        expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
        tf.dispose([x, y]);
        newHead.dispose();
        model.dispose();
      }
    },
    120_000,
  );
});

describe('resetHead and layerStages', () => {
  it('is seeded, keeps the record of a renamed model, and the fold still matches', async () => {
    const model = createModel('repvgg_a0', {
      numClasses: 10,
      inputSize: 32,
      seed: 1,
      name: 'mine',
    });
    const [a, b] = [resetHead(model, 4, { seed: 9 }), resetHead(model, 4, { seed: 9 })];
    expect(a.getLayer(HEAD_LAYER).getWeights()[0]!.dataSync()).toEqual(
      b.getLayer(HEAD_LAYER).getWeights()[0]!.dataSync(),
    );
    expect(layerStages(a).get('stage4_block0')).toBe(4);
    expect(layerStages(a).has(HEAD_LAYER)).toBe(false);
    const { model: deploy } = await reparameterize(a);
    expect(layerStages(deploy).get('stage1_block0')).toBe(1);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3);
    const [ya, yd] = [a.predict(x) as tf.Tensor, deploy.predict(x) as tf.Tensor];
    expect(yd.shape).toEqual([2, 4]);
    // Relative to the logits' scale: random weights and unit BN statistics give large logits.
    const scale = tf.max(tf.abs(ya)).dataSync()[0]!;
    expect(tf.max(tf.abs(tf.sub(ya, yd))).dataSync()[0]! / scale).toBeLessThan(1e-5);
    model.dispose();
    deploy.dispose();
  });

  it('refuses bad input naming it', () => {
    const model = createModel('simplenet', { numClasses: 10, inputSize: 8 } as never);
    expect(() => resetHead(model, 0)).toThrow(
      'resetHead: numClasses must be a positive integer, got 0',
    );
    const plain = tf.sequential({
      name: 'plain',
      layers: [tf.layers.dense({ inputShape: [4], units: 2, name: 'fc' })],
    });
    expect(() => resetHead(plain, 3)).toThrow(
      "resetHead: model 'plain' has no layer 'head_fc' (the zoo's classifier) to replace",
    );
    expect(() => layerStages(plain)).toThrow(
      "layerStages: model 'plain' was not built by createModel or modelFromRecord here, and its name is no zoo architecture",
    );
    expect(() => layerStages(plain, architecture('repvgg_a0'))).toThrow(
      "layerStages: layer 'fc' of model 'plain' has weights but belongs to no block of the record 'repvgg_a0'",
    );
    model.dispose();
    plain.dispose();
  });
});
