/**
 * `modelFromRecord`: the zoo's wiring for a record a user made, the public way
 * to build an architecture that has no name (a zoo record with its blocks
 * changed). `createModel(name)` is it applied to `architecture(name)`.
 */
import { architecture, type NetworkRecord } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createModel, modelFromRecord, RepVGGBlock, reparameterize } from '../src/index.js';

const opts = { numClasses: 5, inputSize: 32, stemStride: 1 } as const;

function weightsOf(m: tf.LayersModel): number[][] {
  return m.getWeights().map((w) => Array.from(w.dataSync()));
}

describe('modelFromRecord', () => {
  it.each(['simplenet', 'repvgg_compact', 'repshufflenetv2_x0_5'] as const)(
    'builds what createModel builds from the same record: %s',
    (name) => {
      for (const form of ['train', 'deploy'] as const) {
        const a = createModel(name, { ...opts, form, seed: 3 });
        const b = modelFromRecord(architecture(name, opts), { form, seed: 3 });
        expect(b.name).toBe(a.name);
        expect(b.layers.map((l) => l.name)).toEqual(a.layers.map((l) => l.name));
        expect(weightsOf(b)).toEqual(weightsOf(a));
        a.dispose();
        b.dispose();
      }
    },
  );

  it("a RepVGG record with squeeze-excite after the ReLU ('post') builds, and folds to the same function", async () => {
    const r = architecture('repvgg_compact', opts);
    const record: NetworkRecord = {
      ...r,
      name: 'compact_post_se',
      blocks: r.blocks.map((b) => ({ ...b, se: 'post' })),
    };
    const model = modelFromRecord(record, { seed: 1 });
    const blocks = model.layers.filter((l): l is RepVGGBlock => l instanceof RepVGGBlock);
    expect(blocks).toHaveLength(r.blocks.length);
    for (const l of blocks) expect(l.spec.se).toBe('post');
    const { model: deploy, folded } = await reparameterize(model);
    expect(folded).toHaveLength(r.blocks.length);
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 7);
    const [ya, yb] = [model.predict(x) as tf.Tensor, deploy.predict(x) as tf.Tensor];
    const scale = tf.max(tf.abs(ya)).dataSync()[0]!;
    expect(tf.max(tf.abs(tf.sub(ya, yb))).dataSync()[0]! / scale).toBeLessThan(1e-5);
    tf.dispose([x, ya, yb]);
    model.dispose();
    deploy.dispose();
  });

  it('refuses a family it has no wiring for, naming it', () => {
    const r = architecture('simplenet');
    expect(() => modelFromRecord({ ...r, family: 'resnet' } as unknown as NetworkRecord)).toThrow(
      "modelFromRecord: record 'simplenet' has the family 'resnet'; known: repvgg, qarepvgg, mobileone, simplenet, repshufflenetv2",
    );
  });

  it('refuses bad layer options as createModel does', () => {
    const r = architecture('simplenet');
    expect(() => modelFromRecord(r, { bn: { epsilon: 0 } })).toThrow(
      "modelFromRecord('simplenet'): bn.epsilon must be a finite number > 0",
    );
    expect(() => modelFromRecord(r, { form: 'fused' as never })).toThrow(
      "simplenet: option 'form' must be 'train' or 'deploy', got 'fused'",
    );
  });
});
