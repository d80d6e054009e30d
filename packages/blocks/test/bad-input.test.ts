/**
 * What @repnets/blocks refuses in one line instead of building something
 * wrong: BN settings no BatchNorm can use, a "model" reparameterize cannot
 * fold, and weights that are no longer numbers (a diverged run) on their way
 * to a deploy model or an ONNX file.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createModel, type ModelOptions, reparameterize } from '../src/index.js';
import { exportOnnx } from '../src/onnx/index.js';

const small: ModelOptions = { numClasses: 3, inputSize: 8, seed: 1 };

describe('createModel refuses BN settings no BatchNorm can use', () => {
  it.each([0, -1e-5, Number.NaN, Number.POSITIVE_INFINITY, '1e-5' as unknown as number])(
    'bn.epsilon %s',
    (epsilon) => {
      expect(() => createModel('simplenet', { ...small, bn: { epsilon } })).toThrow(
        `createModel('simplenet'): bn.epsilon must be a finite number > 0 (PyTorch's default is 1e-5), got ${String(epsilon)}`,
      );
    },
  );

  it.each([-0.1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY])('bn.momentum %s', (momentum) => {
    expect(() => createModel('mobileone_s0', { ...small, bn: { momentum } })).toThrow(
      `createModel('mobileone_s0'): bn.momentum must be a number from 0 to 1 (TF convention: the running statistics keep this share; PyTorch's momentum=0.1 is 0.9), got ${String(momentum)}`,
    );
  });

  it('the edges of the ranges are accepted, in both forms', () => {
    for (const form of ['train', 'deploy'] as const) {
      for (const bn of [{ epsilon: 1e-12, momentum: 0 }, { momentum: 1 }]) {
        createModel('simplenet', { ...small, form, bn }).dispose();
      }
    }
  });
});

describe('reparameterize refuses what is not a built LayersModel', () => {
  it.each([
    [{}, 'a plain object'],
    [null, 'null'],
    [[], 'an array'],
    ['model.json', "the string 'model.json'"],
  ])('%j', async (value, what) => {
    await expect(reparameterize(value as unknown as tf.LayersModel)).rejects.toThrow(
      `reparameterize: expected a tf.LayersModel, got ${what}`,
    );
  });

  it('a Sequential that is not built yet', async () => {
    // TF.js refuses a first layer without an input shape, so an unbuilt one is empty.
    const seq = tf.sequential({ name: 'unbuilt' });
    await expect(reparameterize(seq)).rejects.toThrow(
      "reparameterize: model 'unbuilt' is not built yet (its input shape is unknown): give its first layer an inputShape, or call model.build(shape) first",
    );
  });

  it('a graph model', async () => {
    const graph = new tf.GraphModel('file://nowhere/model.json');
    await expect(reparameterize(graph as unknown as tf.LayersModel)).rejects.toThrow(
      'reparameterize: expected a tf.LayersModel, got a tf.GraphModel, which has no layers to fold: load the layers model (tf.loadLayersModel of a model.json saved with model.save)',
    );
  });
});

/** Sets one value of one weight of a layer to `bad`. */
function poison(model: tf.LayersModel, layer: string, weight: number, at: number, bad: number) {
  const l = model.getLayer(layer);
  const values = l.getWeights().map((w) => w.clone());
  const data = values[weight]!.dataSync().slice();
  data[at] = bad;
  values[weight] = tf.tensor(data, values[weight]!.shape);
  l.setWeights(values);
}

describe('non-finite weights are refused, naming the first layer and weight', () => {
  it.each([
    ['head_fc', 0, 5, Number.NaN, 'NaN'],
    ['block1', 0, 2, Number.POSITIVE_INFINITY, 'Infinity'],
    ['block2', 3, 0, Number.NEGATIVE_INFINITY, '-Infinity'],
  ] as const)('reparameterize and exportOnnx: %s weight %i', async (layer, w, at, bad, word) => {
    const model = createModel('simplenet', small);
    poison(model, layer, w, at, bad);
    const weight = model.getLayer(layer).weights[w]!;
    const size = weight.shape.reduce<number>((p, d) => p * (d ?? 1), 1);
    const name = (weight as unknown as { originalName: string }).originalName;
    const tail = `layer '${layer}' holds ${word} in its weight '${name}' (value ${at} of ${size}): train again with a lower learning rate, or start from a checkpoint saved before the weights diverged`;
    await expect(reparameterize(model)).rejects.toThrow(`reparameterize: ${tail}`);
    await expect(exportOnnx(model)).rejects.toThrow(`exportOnnx: ${tail}`);
  });

  it('a fold that overflows float32 is refused naming the block (the fold itself checks)', async () => {
    const model = createModel('simplenet', small);
    // gamma 3e38 over sqrt(1 + 1e-5): the folded kernel leaves float32.
    const layer = model.getLayer('block1');
    const gammaIndex = layer.weights.findIndex((v) => v.name.includes('dense_bn_gamma'));
    poison(model, 'block1', gammaIndex, 0, 3e38);
    const kernelIndex = layer.weights.findIndex((v) => v.name.includes('dense_kernel'));
    const kernel = layer.getWeights()[kernelIndex]!;
    layer.setWeights(
      layer.getWeights().map((v, i) => (i === kernelIndex ? tf.onesLike(kernel).mul(4) : v)),
    );
    await expect(reparameterize(model)).rejects.toThrow(
      /^reparameterize: layer 'block1' \(RepVGGBlock\) cannot be folded: foldRepVGGBlock: argument 'branches' fold overflowed float32 at output element \d+/,
    );
  });

  it('finite weights still fold and export', async () => {
    const model = createModel('simplenet', small);
    const { model: deploy } = await reparameterize(model);
    expect((await exportOnnx(deploy)).length).toBeGreaterThan(0);
  });
});
