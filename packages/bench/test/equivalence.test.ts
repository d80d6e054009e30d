import { reparameterize } from '@repnets/blocks';
import { arrayDataset } from '@repnets/train';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { equivalence, type InferenceModel } from '../src/index.js';
import { randomizeBatchNorm, tinyRepVGG, useWasm } from './helpers/models.js';

beforeAll(useWasm);

/** A model that returns fixed logits for image i of its input (the image's first value is i). */
function fixedLogits(rows: number[][]): InferenceModel {
  return {
    name: 'fixed',
    apply(x) {
      return tf.tidy(() => {
        const idx = (x as tf.Tensor)
          .reshape([(x as tf.Tensor).shape[0]!, -1])
          .slice([0, 0], [-1, 1]);
        return tf.gather(tf.tensor2d(rows), idx.flatten().cast('int32'));
      });
    },
  };
}

const indexImages = (n: number) =>
  tf.tidy(() => tf.range(0, n).reshape([n, 1, 1, 1]).tile([1, 2, 2, 1]));

describe('equivalence', () => {
  it('a folded model reproduces its training form on a labelled dataset, in eval mode', async () => {
    const model = tinyRepVGG([6, 6, 3], { filters: 8 }, 4);
    randomizeBatchNorm(model);
    const { model: deploy } = await reparameterize(model);
    const n = 10;
    const pixels = tf.randomUniform([n * 6 * 6 * 3], 0, 1, 'float32', 5);
    const data = arrayDataset({
      name: 'random/test',
      pixels: (await pixels.data()) as Float32Array,
      labels: Array.from({ length: n }, (_, i) => i % 4),
      shape: [6, 6, 3],
      classNames: ['a', 'b', 'c', 'd'],
    });
    pixels.dispose();
    const before = tf.memory().numTensors;
    // batchSize 4 leaves a short last batch of 2.
    const r = await equivalence(model, deploy, data, { batchSize: 4 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.count).toBe(10);
    expect(r.maxAbsLogitDiff).toBeLessThan(1e-4);
    expect(r.maxAbsLogitDiff).toBeGreaterThan(0); // float32 rounding differs; exactly 0 would mean one model twice
    expect(r.meanAbsLogitDiff).toBeLessThanOrEqual(r.maxAbsLogitDiff);
    expect(r.top1Agreement).toBe(1);
    expect(r.trainAccuracy).toBe(r.deployAccuracy);
    const hits = r.trainAccuracy! * 10;
    expect(Math.abs(hits - Math.round(hits))).toBeLessThan(1e-9);
    const limited = await equivalence(model, deploy, data, { batchSize: 3, limit: 5 });
    expect(limited.count).toBe(5);
    model.dispose();
    deploy.dispose();
  });

  it('hand-checked numbers from fixed logits, tensor input with labels', async () => {
    const a = fixedLogits([
      [1, 0],
      [0, 1],
      [2, 0],
    ]);
    const b = fixedLogits([
      [1, 0.5],
      [1, 0],
      [2, 0],
    ]);
    const x = indexImages(3);
    const r = await equivalence(a, b, x, { batchSize: 2, labels: [0, 1, 1] });
    expect(r).toEqual({
      count: 3,
      maxAbsLogitDiff: 1,
      meanAbsLogitDiff: 2.5 / 6,
      top1Agreement: 2 / 3,
      trainAccuracy: 2 / 3,
      deployAccuracy: 1 / 3,
    });
    const unlabelled = await equivalence(a, b, x);
    expect(unlabelled.trainAccuracy).toBeNull();
    expect(unlabelled.deployAccuracy).toBeNull();
    x.dispose();
  });

  it('reports NaN logits as a NaN difference rather than hiding them', async () => {
    const x = indexImages(2);
    const r = await equivalence(
      fixedLogits([
        [0, 1],
        [1, 0],
      ]),
      fixedLogits([
        [0, Number.NaN],
        [1, 0],
      ]),
      x,
    );
    expect(r.maxAbsLogitDiff).toBeNaN();
    x.dispose();
  });

  it('rejects bad input, naming it', async () => {
    const x = indexImages(2);
    const m = fixedLogits([
      [0, 1],
      [1, 0],
    ]);
    const wide = fixedLogits([
      [0, 1, 2],
      [1, 0, 2],
    ]);
    await expect(equivalence(m, wide, x)).rejects.toThrow(
      /one \[batch, classes\] logits tensor from each form, got \[\[2,2\]\] and \[\[2,3\]\]/,
    );
    await expect(equivalence(m, m, x, { labels: [0] })).rejects.toThrow(/1 labels for 2 images/);
    await expect(equivalence(m, m, x, { batchSize: 0 })).rejects.toThrow(/batchSize must be/);
    await expect(equivalence(m, m, x.slice([0], [0]))).rejects.toThrow(/no images to compare/);
    await expect(equivalence(m, m, [] as never)).rejects.toThrow(
      /must be a Dataset or a tf.Tensor/,
    );
    x.dispose();
  });
});
