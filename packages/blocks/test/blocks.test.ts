import { makeKernel, referenceConv2d } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ConvBN, MobileOneBlock, RepVGGBlock, SEBlock } from '../src/index.js';
import { groupedConv2d } from '../src/kernels.js';
import { foldAndCompare, singleLayerModel } from './helpers/models.js';
import { rng } from './helpers/random-bn.js';

const TOL = 1e-4;
const input = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe('groupedConv2d (TF.js has no groups argument)', () => {
  it.each([
    [1, 1],
    [2, 1],
    [4, 2],
    [8, 1],
    [8, 2],
  ])('groups %i, stride %i matches the naive reference', async (groups, stride) => {
    const r = rng(groups * 7 + stride);
    const [C, O] = [8, 16];
    const kernel = Float32Array.from({ length: 3 * 3 * (C / groups) * O }, () => r() * 2 - 1);
    const x = input([2, 7, 6, C], groups);
    const y = groupedConv2d(
      x as tf.Tensor4D,
      tf.tensor4d(kernel, [3, 3, C / groups, O]),
      stride,
      1,
      groups,
    );
    const want = referenceConv2d(
      { shape: [2, 7, 6, C], data: (await x.data()) as Float32Array },
      makeKernel('HWIO', [3, 3, C / groups, O], kernel),
      { stride, pad: 1, groups },
    );
    expect(y.shape).toEqual(want.shape);
    const got = (await y.data()) as Float32Array;
    const scale = Math.max(...want.data.map(Math.abs));
    const worst = want.data.reduce((m, v, j) => Math.max(m, Math.abs(got[j]! - v)), 0);
    expect(worst).toBeLessThan(1e-5 * scale);
  });
});

describe('RepVGGBlock: eval-mode train form == deploy form', () => {
  const cases: Array<[number, number, number | 'depthwise', 'none' | 'pre' | 'post', number]> = [];
  for (const stride of [1, 2])
    for (const groups of [1, 2, 4, 'depthwise'] as const)
      for (const se of ['none', 'pre', 'post'] as const)
        cases.push([stride, 8, groups, se, stride === 1 ? 8 : 16]);
  it.each(cases)(
    'stride %i, %i channels in, groups %s, SE %s, %i out',
    async (stride, inC, groups, se, out) => {
      const filters = groups === 'depthwise' ? inC : out;
      const block = new RepVGGBlock({ filters, strides: stride, groups, se, name: 'block' });
      const model = singleLayerModel(block, [9, 8, inC]);
      const { diff, deployModel } = await foldAndCompare(model, input([2, 9, 8, inC], 3));
      expect(diff).toBeLessThan(TOL);
      expect(block.hasIdentity).toBe(stride === 1 && filters === inC);
      expect(deployModel.getLayer('block')).toBeDefined();
    },
  );
});

describe('MobileOneBlock: eval-mode train form == deploy form', () => {
  const cases: Array<[number, 'depthwise' | 'pointwise', number, boolean]> = [];
  for (const k of [1, 2, 3, 4])
    for (const kind of ['depthwise', 'pointwise'] as const)
      for (const stride of [1, 2]) cases.push([k, kind, stride, k % 2 === 0]);
  it.each(cases)('k=%i %s, stride %i, SE %s', async (k, kind, stride, withSe) => {
    const dw = kind === 'depthwise';
    const block = new MobileOneBlock({
      filters: dw ? 8 : stride === 1 ? 8 : 12,
      kernelSize: dw ? 3 : 1,
      strides: dw ? stride : 1,
      groups: dw ? 'depthwise' : 1,
      branches: k,
      se: withSe ? 'pre' : 'none',
    });
    const model = singleLayerModel(block, [8, 8, 8]);
    const { diff } = await foldAndCompare(model, input([2, 8, 8, 8], k));
    expect(diff).toBeLessThan(TOL);
    // k branches, a scale branch when the kernel is 3x3, identity when shapes allow.
    const identity = (dw ? stride : 1) === 1 && (dw || stride === 1);
    expect(block.branchCount).toBe(k + (dw ? 1 : 0) + (identity ? 1 : 0));
  });
});

describe('ConvBN and SEBlock', () => {
  it.each([
    [1, 1],
    [3, 1],
    [3, 2],
  ])('ConvBN k=%i groups %i folds to a conv with bias', async (k, groups) => {
    const model = singleLayerModel(
      new ConvBN({ filters: 6, kernelSize: k, groups, activation: 'relu' }),
      [5, 5, 4],
    );
    const { diff } = await foldAndCompare(model, input([1, 5, 5, 4], k));
    expect(diff).toBeLessThan(TOL);
  });

  it('a standalone SEBlock survives reparameterization as stock layers', async () => {
    const inp = tf.input({ shape: [6, 6, 32] });
    const y = new SEBlock({ ratio: 1 / 8, name: 'se' }).apply(inp) as tf.SymbolicTensor;
    const { diff, deployModel } = await foldAndCompare(
      tf.model({ inputs: inp, outputs: y }),
      input([2, 6, 6, 32], 9),
    );
    expect(diff).toBeLessThan(1e-6);
    expect(deployModel.layers.map((l) => l.getClassName())).not.toContain('SEBlock');
  });
});

describe('BatchNorm inside blocks', () => {
  it('training mode normalizes with batch moments and updates running statistics with the momentum', () => {
    const block = new ConvBN({ filters: 4, kernelSize: 1, bnMomentum: 0.9, name: 'cb' });
    const model = singleLayerModel(block, [3, 3, 2]);
    const x = input([4, 3, 3, 2], 5);
    const conv = tf.conv2d(x as tf.Tensor4D, block.getWeights()[0] as tf.Tensor4D, 1, 0);
    const { mean, variance } = tf.moments(conv, [0, 1, 2]);
    const y = block.apply(x, { training: true }) as tf.Tensor;
    // Batch-normalized with gamma 1, beta 0: each channel has mean 0 and variance ~1.
    const m = tf.moments(y, [0, 1, 2]);
    expect(Math.max(...m.mean.abs().dataSync())).toBeLessThan(1e-5);
    const byName = Object.fromEntries(
      block.weights.map((w) => [w.originalName.split('/').pop(), w.read()]),
    );
    const n = 4 * 3 * 3;
    const expectedMean = mean.mul(0.1);
    const expectedVar = tf.scalar(0.9).add(variance.mul(n / (n - 1)).mul(0.1));
    expect(
      tf.max(tf.abs(byName.conv_bn_moving_mean!.sub(expectedMean))).dataSync()[0],
    ).toBeLessThan(1e-6);
    expect(
      tf.max(tf.abs(byName.conv_bn_moving_variance!.sub(expectedVar))).dataSync()[0],
    ).toBeLessThan(1e-5);
    // Inference mode leaves them alone.
    const before = Array.from(byName.conv_bn_moving_mean!.dataSync());
    model.predict(x);
    const after = block.weights.find((w) => w.originalName.endsWith('moving_mean'))!.read();
    expect(Array.from(after.dataSync())).toEqual(before);
  });

  it('epsilon and momentum are per block and survive getConfig', () => {
    const b = new RepVGGBlock({ filters: 4, bnEpsilon: 1e-3, bnMomentum: 0.99 });
    expect(b.getConfig()).toMatchObject({ bnEpsilon: 1e-3, bnMomentum: 0.99 });
    expect(new RepVGGBlock({ filters: 4 }).getConfig()).toMatchObject({
      bnEpsilon: 1e-5,
      bnMomentum: 0.9,
    });
  });
});

describe('block argument errors name the layer', () => {
  it('refuses bad kernel sizes, groups and impossible identities', () => {
    expect(() => new RepVGGBlock({ filters: 8, kernelSize: 2, name: 'b1' })).toThrow(
      /RepVGGBlock 'b1': kernelSize must be an odd integer/,
    );
    expect(() => new RepVGGBlock({ filters: 6, groups: 4, name: 'b2' })).toThrow(
      /RepVGGBlock 'b2': groups 4 does not divide filters 6/,
    );
    expect(() =>
      singleLayerModel(new RepVGGBlock({ filters: 8, groups: 2, name: 'b3' }), [4, 4, 3]),
    ).toThrow(/RepVGGBlock 'b3': groups 2 must divide 3 input and 8 output channels/);
    expect(() =>
      singleLayerModel(
        new RepVGGBlock({ filters: 8, strides: 2, identity: true, name: 'b4' }),
        [4, 4, 8],
      ),
    ).toThrow(/RepVGGBlock 'b4': identity needs in == out and stride 1/);
    expect(() => new MobileOneBlock({ filters: 8, branches: 0, name: 'm' })).toThrow(
      /MobileOneBlock 'm': branches must be a positive integer/,
    );
  });
});

describe('BatchNorm training-mode gradient', () => {
  it('the closed-form gradient equals autodiff of tf.batchNorm with batch statistics', () => {
    const block = new ConvBN({ filters: 5, kernelSize: 1, bnEpsilon: 1e-3, name: 'g' });
    singleLayerModel(block, [4, 3, 3]);
    randomizeGammaBeta(block);
    const x = input([3, 4, 3, 3], 12);
    const target = input([3, 4, 3, 5], 13);
    const loss = (y: tf.Tensor) => y.sub(target).square().mul(tf.range(1, 6)).sum() as tf.Scalar;
    const vars = block.trainableWeights.map((w) => w.read() as tf.Variable); // kernel, gamma, beta
    const ours = tf.variableGrads(
      () => loss(block.apply(x, { training: true }) as tf.Tensor),
      vars,
    ).grads;
    const [oursDx] = tf.grads((xx: tf.Tensor) =>
      loss(block.apply(xx, { training: true }) as tf.Tensor),
    )([x]);
    const reference = tf.grads((xx: tf.Tensor, k: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const z = tf.conv2d(xx as tf.Tensor4D, k as tf.Tensor4D, 1, 0);
      const { mean, variance } = tf.moments(z, [0, 1, 2]);
      return loss(
        tf.batchNorm4d(
          z,
          mean as tf.Tensor1D,
          variance as tf.Tensor1D,
          b as tf.Tensor1D,
          g as tf.Tensor1D,
          1e-3,
        ),
      );
    })([x, ...vars.map((v) => v.clone())]);
    const rel = (a: tf.Tensor, b: tf.Tensor) =>
      tf.max(tf.abs(a.sub(b))).dataSync()[0]! / tf.max(tf.abs(b)).dataSync()[0]!;
    expect(rel(oursDx!, reference[0]!)).toBeLessThan(1e-5);
    for (const [j, v] of vars.entries())
      expect(rel(ours[v.name]!, reference[j + 1]!)).toBeLessThan(1e-5);
  });
});

function randomizeGammaBeta(layer: tf.layers.Layer): void {
  const r = rng(99);
  for (const w of layer.weights) {
    if (!/_(gamma|beta)$/.test(w.originalName)) continue;
    w.write(
      tf.tensor(
        Array.from({ length: w.shape[0] as number }, () => 0.5 + r()),
        w.shape as number[],
      ),
    );
  }
}

describe("RepVGGBlock.customL2 (RepVGG's equivalent-kernel weight decay)", () => {
  it('equals the circle + equivalent-centre formula computed by hand, and does not differentiate through BN', () => {
    const block = new RepVGGBlock({ filters: 3, strides: 2 });
    block.apply(tf.zeros([1, 5, 5, 2]));
    const r = rng(5);
    // Random BN statistics so the scales t = gamma / sqrt(var + eps) differ per channel.
    const named = new Map(block.weights.map((w) => [w.originalName.split('/').pop()!, w]));
    for (const [name, w] of named) {
      if (name.endsWith('_gamma')) w.write(tf.tensor1d([0.5 + r(), 0.5 + r(), 0.5 + r()]));
      if (name.endsWith('_moving_variance'))
        w.write(tf.tensor1d([0.2 + r(), 0.2 + r(), 0.2 + r()]));
    }
    const kd = named.get('dense_kernel')!.read().dataSync(); // [3, 3, 2, 3] HWIO
    const k1 = named.get('conv1x1_kernel')!.read().dataSync(); // [1, 1, 2, 3]
    const t = (branch: string) => {
      const g = named.get(`${branch}_bn_gamma`)!.read().dataSync();
      const v = named.get(`${branch}_bn_moving_variance`)!.read().dataSync();
      return Array.from(g, (gg, o) => gg / Math.sqrt(v[o]! + 1e-5));
    };
    const [td, t1] = [t('dense'), t('conv1x1')];
    let want = 0;
    for (let h = 0; h < 3; h++)
      for (let w = 0; w < 3; w++)
        for (let i = 0; i < 2; i++)
          for (let o = 0; o < 3; o++) {
            const v = kd[((h * 3 + w) * 2 + i) * 3 + o]!;
            if (h === 1 && w === 1) {
              const eq = v * td[o]! + k1[i * 3 + o]! * t1[o]!;
              want += (eq * eq) / (td[o]! ** 2 + t1[o]! ** 2);
            } else want += v * v;
          }
    expect(block.customL2().dataSync()[0]).toBeCloseTo(want, 4);
    const gamma = named.get('dense_bn_gamma')!.read() as tf.Variable;
    const kernel = named.get('dense_kernel')!.read() as tf.Variable;
    const { grads } = tf.variableGrads(() => block.customL2(), [gamma, kernel]);
    expect(Math.max(...Array.from(grads[gamma.name]?.dataSync() ?? [0]).map(Math.abs))).toBe(0);
    expect(Math.max(...Array.from(grads[kernel.name]!.dataSync()).map(Math.abs))).toBeGreaterThan(
      0,
    );
    expect(block.customL2Variables().map((v) => v.originalName.split('/').pop())).toEqual([
      'dense_kernel',
      'conv1x1_kernel',
    ]);
  });
});
