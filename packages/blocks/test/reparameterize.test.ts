import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createModel, RepVGGBlock, reparameterize } from '../src/index.js';
import { randomizeBatchNorm, relativeDiff } from './helpers/random-bn.js';

const snapshot = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

describe('reparameterize', () => {
  it('returns a new deploy model and leaves the training model untouched', async () => {
    const model = createModel('simplenet', { numClasses: 10, inputSize: 16 });
    randomizeBatchNorm(model, 3);
    const before = snapshot(model);
    const { model: deploy, folded } = await reparameterize(model);
    expect(folded.map((f) => f.name)).toEqual(['block0', 'block1', 'block2']);
    expect(folded.map((f) => f.branches)).toEqual([2, 2, 3]);
    expect(snapshot(model)).toEqual(before);
    expect(model.layers.filter((l) => l instanceof RepVGGBlock)).toHaveLength(3);
    expect(deploy.layers.some((l) => l instanceof RepVGGBlock)).toBe(false);
    // The deploy model owns its weights: changing them leaves the training model alone.
    const fc = deploy.getLayer('head_fc');
    fc.setWeights(fc.getWeights().map((w) => tf.zerosLike(w)));
    expect(snapshot(model)).toEqual(before);
    expect(deploy.countParams()).toBeLessThan(model.countParams());
  });

  it('a model with nothing to fold comes back as an equal, independent copy with 0 folded blocks', async () => {
    const inp = tf.input({ shape: [8, 8, 3] });
    const c = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, name: 'c' })
      .apply(inp) as tf.SymbolicTensor;
    const b = tf.layers.batchNormalization({ name: 'bn' }).apply(c) as tf.SymbolicTensor;
    const out = tf.layers
      .dense({ units: 2, name: 'd' })
      .apply(tf.layers.flatten({}).apply(b)) as tf.SymbolicTensor;
    const plain = tf.model({ inputs: inp, outputs: out });
    const { model: copy, folded } = await reparameterize(plain);
    expect(folded).toHaveLength(0);
    expect(copy).not.toBe(plain);
    const x = tf.randomNormal([2, 8, 8, 3]);
    expect(relativeDiff(copy.predict(x) as tf.Tensor, plain.predict(x) as tf.Tensor)).toBe(0);
    copy.getLayer('d').setWeights(
      copy
        .getLayer('d')
        .getWeights()
        .map((w) => tf.onesLike(w)),
    );
    expect(
      relativeDiff(copy.predict(x) as tf.Tensor, plain.predict(x) as tf.Tensor),
    ).toBeGreaterThan(0);
  });

  it('a block in an inconsistent state gives an error naming the layer', async () => {
    const model = createModel('simplenet', { numClasses: 10, inputSize: 16 });
    const v = model
      .getLayer('block1')
      .weights.find((w) => w.originalName.endsWith('conv1x1_bn_moving_variance'))!;
    v.write(tf.fill(v.shape as number[], -1));
    await expect(reparameterize(model)).rejects.toThrow(
      /reparameterize: layer 'block1' \(RepVGGBlock\) cannot be folded: foldRepVGGBlock: argument 'conv1x1.bn.variance' is negative/,
    );
  });

  it('leaks no tensors', async () => {
    const model = createModel('mobileone_s0', {
      numClasses: 10,
      inputSize: 32,
      widthMultipliers: [0.25, 0.25, 0.25, 0.25],
    });
    const base = tf.memory().numTensors;
    const { model: deploy } = await reparameterize(model);
    const deployWeights = deploy.weights.length;
    expect(tf.memory().numTensors - base).toBe(deployWeights);
    deploy.dispose();
    expect(tf.memory().numTensors).toBe(base);
  });
});
