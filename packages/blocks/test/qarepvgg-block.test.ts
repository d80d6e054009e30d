/**
 * QARepVGGBlock on its own: its train-form forward against the paper's formula
 * written with plain TF.js ops, the fold, its custom L2 by hand, the values by
 * role (no BN on the 1x1 and the identity, one after the sum) and saving.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { QARepVGGBlock, RepVGGBlock } from '../src/index.js';
import { foldAndCompare, singleLayerModel } from './helpers/models.js';
import { randomizeBatchNorm, relativeDiff, rng } from './helpers/random-bn.js';

const TOL = 1e-4;
const input = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** The layer's weights by their own names (dense_kernel, post_bn_gamma, ...). */
const named = (layer: tf.layers.Layer) =>
  new Map(layer.weights.map((w) => [w.originalName.split('/').pop()!, w]));

describe('QARepVGGBlock', () => {
  it.each([
    [1, 1, 8],
    [2, 1, 8],
    [1, 2, 8],
    [1, 1, 6],
  ])(
    'groups %i, stride %i, %i filters: relu(bn(bn3(conv3x3) + conv1x1 + x)) in eval mode, and its fold',
    async (groups, stride, filters) => {
      const block = new QARepVGGBlock({ filters, strides: stride, groups, name: 'qa' });
      const model = singleLayerModel(block, [7, 6, 8]);
      randomizeBatchNorm(model, 4);
      const x = input([2, 7, 6, 8], stride + groups);
      const w = named(block);
      const read = (n: string) => w.get(n)!.read();
      const split = (t: tf.Tensor, axis: number) => tf.split(t, groups, axis);
      const conv = (k: tf.Tensor, pad: number) =>
        tf.concat(
          split(x, 3).map((xs, g) =>
            tf.conv2d(
              tf.pad(xs as tf.Tensor4D, [
                [0, 0],
                [pad, pad],
                [pad, pad],
                [0, 0],
              ]),
              split(k, 3)[g] as tf.Tensor4D,
              stride,
              'valid',
            ),
          ),
          3,
        );
      const bn = (t: tf.Tensor, p: string) =>
        tf.batchNorm(
          t,
          read(`${p}_moving_mean`),
          read(`${p}_moving_variance`),
          read(`${p}_beta`),
          read(`${p}_gamma`),
          1e-5,
        );
      let sum = bn(conv(read('dense_kernel'), 1), 'dense_bn').add(conv(read('conv1x1_kernel'), 0));
      const identity = stride === 1 && filters === 8;
      if (identity) sum = sum.add(x);
      const want = tf.relu(bn(sum, 'post_bn'));
      const got = model.predict(x) as tf.Tensor;
      expect(relativeDiff(got, want)).toBeLessThan(1e-5);
      expect(block.hasIdentity).toBe(identity);
      expect(block.branchCount).toBe(2 + (identity ? 1 : 0));
      expect([...w.keys()].filter((n) => n.endsWith('_gamma')).sort()).toEqual([
        'dense_bn_gamma',
        'post_bn_gamma',
      ]);
      const { diff } = await foldAndCompare(model, x, null);
      expect(diff).toBeLessThan(TOL);
    },
  );

  it('reads back its values by role (bare 1x1, plain identity, BN after the sum) and takes them back', async () => {
    const make = () => {
      const b = new QARepVGGBlock({ filters: 4 });
      b.apply(tf.zeros([1, 5, 5, 4]));
      return b;
    };
    const a = make();
    randomizeBatchNorm(a, 7);
    const t = await a.trainedBranches();
    expect(t.kxk.map((k) => k.name)).toEqual(['dense']);
    expect(t.scale).toBeUndefined();
    expect(t.identity).toBeUndefined();
    expect(t.bareScale?.kernel.shape).toEqual([1, 1, 4, 4]);
    expect(t.bareIdentity).toBe(true);
    expect(t.post?.mean.length).toBe(4);
    const b = make();
    b.setTrainedBranches(t);
    const x = input([1, 5, 5, 4], 2);
    expect(relativeDiff(b.apply(x) as tf.Tensor, a.apply(x) as tf.Tensor)).toBe(0);
    expect(() => b.setTrainedBranches({ ...t, post: undefined })).toThrow(
      /QARepVGGBlock '.*': has BN after the branch sum, but one was not given/,
    );
    const rep = new RepVGGBlock({ filters: 4 });
    rep.apply(tf.zeros([1, 5, 5, 4]));
    expect(() => rep.setTrainedBranches(t)).toThrow(
      /has scale \(1x1\) branch, but one was not given/,
    );
  });

  it("custom L2: RepVGG's circle + equivalent centre, the 1x1's scale 1 (it has no BN)", () => {
    const block = new QARepVGGBlock({ filters: 3, strides: 2 });
    block.apply(tf.zeros([1, 5, 5, 2]));
    const r = rng(5);
    const w = named(block);
    w.get('dense_bn_gamma')!.write(tf.tensor1d([0.5 + r(), 0.5 + r(), 0.5 + r()]));
    w.get('dense_bn_moving_variance')!.write(tf.tensor1d([0.2 + r(), 0.2 + r(), 0.2 + r()]));
    const kd = w.get('dense_kernel')!.read().dataSync();
    const k1 = w.get('conv1x1_kernel')!.read().dataSync();
    const g = w.get('dense_bn_gamma')!.read().dataSync();
    const v = w.get('dense_bn_moving_variance')!.read().dataSync();
    const td = Array.from(g, (gg, o) => gg / Math.sqrt(v[o]! + 1e-5));
    let want = 0;
    for (let h = 0; h < 3; h++)
      for (let c = 0; c < 3; c++)
        for (let i = 0; i < 2; i++)
          for (let o = 0; o < 3; o++) {
            const k = kd[((h * 3 + c) * 2 + i) * 3 + o]!;
            if (h === 1 && c === 1) {
              const eq = k * td[o]! + k1[i * 3 + o]!;
              want += (eq * eq) / (td[o]! ** 2 + 1);
            } else want += k * k;
          }
    expect(block.customL2().dataSync()[0]).toBeCloseTo(want, 4);
    expect(block.customL2Variables().map((x) => x.originalName.split('/').pop())).toEqual([
      'dense_kernel',
      'conv1x1_kernel',
    ]);
  });

  it('saves and loads as a registered layer, with the same outputs', async () => {
    const model = singleLayerModel(new QARepVGGBlock({ filters: 4, name: 'qa' }), [5, 5, 4]);
    randomizeBatchNorm(model, 3);
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(loaded.getLayer('qa').getClassName()).toBe('QARepVGGBlock');
    const x = input([1, 5, 5, 4], 1);
    expect(relativeDiff(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor)).toBe(0);
  });
});
