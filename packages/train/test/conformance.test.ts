/**
 * One gradient suite against every backend available, the cpu backend being the
 * reference: conv2d and depthwise dx/dw, grouped convs, BatchNorm in training
 * mode, ReLU, SE, and whole training steps of RepVGG and MobileOne blocks.
 * A backend that cannot run here is skipped with the reason printed.
 */
import { MobileOneBlock, RepVGGBlock } from '@repnets/blocks';
import { batchNormTraining, groupedConv2d } from '@repnets/blocks/kernels';
import * as tf from '@tensorflow/tfjs';
import { rngFromState } from '../src/random.js';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { im2colKernels } from '../src/engine/wasm/im2col-kernels.js';
import {
  releaseBackend,
  selectBackend,
  setWasmTrainingSimd,
  wasmTrainingSimdActive,
} from '../src/index.js';

const TOL = 1e-4;
const CANDIDATES = ['wasm', 'webgpu'] as const;
/** The wasm training kernels run twice: their SIMD loops and their plain-JS fallbacks. */
const RUNS = [
  { label: 'wasm (SIMD loops)', backend: 'wasm', simd: true },
  { label: 'wasm (JS loops)', backend: 'wasm', simd: false },
  { label: 'webgpu', backend: 'webgpu', simd: true },
] as const;

/** Why each candidate cannot run here (null: it can), found before the suites are declared. */
const available: Record<string, string | null> = {};
for (const b of CANDIDATES) {
  try {
    await selectBackend(b);
    available[b] = null;
  } catch (e) {
    available[b] = (e as Error).message;
    console.log(`conformance: ${b} suites skipped: ${available[b]}`);
  }
}
await tf.setBackend('cpu');
afterAll(releaseBackend);

const random = (shape: number[], seed: number) => {
  const r = rngFromState(seed).next;
  return Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => r() * 2 - 1);
};

/** Runs `fn` on `backend` with fresh tensors and returns plain arrays. */
async function on(backend: string, fn: () => tf.Tensor[]): Promise<number[][]> {
  await tf.setBackend(backend);
  const out = tf.tidy(fn);
  const arrays = await Promise.all(out.map(async (t) => Array.from(await t.data())));
  tf.dispose(out);
  await tf.setBackend('cpu');
  return arrays;
}

function expectClose(got: number[][], want: number[][], what: string): void {
  expect(got.length).toBe(want.length);
  want.forEach((w, j) => {
    const g = got[j]!;
    const scale = Math.max(1e-6, ...w.map(Math.abs));
    const worst = w.reduce((m, v, k) => Math.max(m, Math.abs(v - g[k]!)), 0);
    expect(
      worst / scale,
      `${what}: output ${j}, max |diff| ${worst} vs scale ${scale}`,
    ).toBeLessThan(TOL);
  });
}

for (const { label, backend, simd } of RUNS) {
  const missing = available[backend] ?? null;
  // The title names the reason: the attempt's own line, without selectBackend's wrapping.
  const why = missing?.replace(
    /^selectBackend\('\w+'\): no backend could start \(\w+: (.*)\)$/,
    '$1',
  );
  const title = `${label} gradients vs cpu${why === undefined ? '' : ` (skipped: ${why})`}`;
  describe.skipIf(missing !== null)(title, () => suite(backend, simd));
}

function suite(backend: string, simd: boolean): void {
  beforeEach(() => setWasmTrainingSimd(simd));
  afterEach(() => setWasmTrainingSimd(true));

  const convCases: Array<[string, number[], number[], number, 'same' | 'valid' | number]> = [
    ['3x3 s1 same', [2, 7, 6, 4], [3, 3, 4, 6], 1, 'same'],
    ['3x3 s2 same (asymmetric)', [2, 8, 8, 4], [3, 3, 4, 6], 2, 'same'],
    ['3x3 s2 explicit 1', [2, 8, 7, 4], [3, 3, 4, 6], 2, 1],
    ['3x3 s1 valid', [1, 6, 6, 3], [3, 3, 3, 5], 1, 'valid'],
    ['1x1 s1 (pure matmul)', [2, 5, 5, 8], [1, 1, 8, 4], 1, 0],
    ['1x1 s2', [2, 6, 6, 8], [1, 1, 8, 4], 2, 0],
    ['5x5 s1 explicit 2', [1, 7, 7, 2], [5, 5, 2, 3], 1, 2],
    // Shapes for the SIMD im2col's tails: C % 4 != 0, M = N*Ho*Wo % 4 != 0, or both.
    ['3x3 s2 explicit 1, C 6, M 27', [3, 5, 5, 6], [3, 3, 6, 5], 2, 1],
    ['3x3 s1 same, C 12, M 50', [2, 5, 5, 12], [3, 3, 12, 8], 1, 'same'],
    ['3x3 s1 same, C 1', [2, 4, 5, 1], [3, 3, 1, 3], 1, 'same'],
    ['3x3 s2 same (asymmetric), C 3, M 9', [1, 6, 6, 3], [3, 3, 3, 4], 2, 'same'],
    ['1x1 s1, C 7, M 27', [3, 3, 3, 7], [1, 1, 7, 5], 1, 0],
    ['1x1 s1, C 16, M 18', [2, 3, 3, 16], [1, 1, 16, 4], 1, 0],
    ['1x1 s2 explicit 1, C 5', [2, 5, 5, 5], [1, 1, 5, 4], 2, 1],
  ];
  it.each(convCases)('conv2d dx and dw: %s', async (_, xShape, wShape, stride, pad) => {
    const xs = random(xShape, 1);
    const ws = random(wShape, 2);
    const run = () => {
      const x = tf.tensor4d(xs, xShape as [number, number, number, number]);
      const w = tf.tensor4d(ws, wShape as [number, number, number, number]);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf
          .conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)
          .square()
          .sum(),
      )([x, w]);
      return [dx!, dw!];
    };
    expectClose(await on(backend, run), await on('cpu', run), 'conv2d');
  });

  const dwCases: Array<[string, number[], number[], number, 'same' | 'valid' | number]> = [
    ['3x3 s1 same', [2, 7, 6, 4], [3, 3, 4, 1], 1, 'same'],
    ['3x3 s2 explicit 1', [2, 8, 8, 4], [3, 3, 4, 1], 2, 1],
    ['3x3 s2 same, multiplier 2', [1, 8, 7, 3], [3, 3, 3, 2], 2, 'same'],
    ['1x1 s1', [2, 5, 5, 6], [1, 1, 6, 1], 1, 0],
    ['3x3 s1 valid', [2, 6, 7, 5], [3, 3, 5, 1], 1, 'valid'],
    ['5x5 s1 explicit 2', [1, 7, 7, 3], [5, 5, 3, 1], 1, 2],
  ];
  it.each(dwCases)('depthwise dx and dw: %s', async (_, xShape, wShape, stride, pad) => {
    const xs = random(xShape, 3);
    const ws = random(wShape, 4);
    const run = () => {
      const x = tf.tensor4d(xs, xShape as [number, number, number, number]);
      const w = tf.tensor4d(ws, wShape as [number, number, number, number]);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf
          .depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)
          .square()
          .sum(),
      )([x, w]);
      return [dx!, dw!];
    };
    expectClose(await on(backend, run), await on('cpu', run), 'depthwise');
  });

  it.each([2, 4])('grouped conv (split/conv/concat), groups %i', async (groups) => {
    const xs = random([2, 6, 6, 8], 5);
    const ws = random([3, 3, 8 / groups, 8], 6);
    const run = () => {
      const x = tf.tensor4d(xs, [2, 6, 6, 8]);
      const w = tf.tensor4d(ws, [3, 3, 8 / groups, 8]);
      const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        groupedConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 1, groups)
          .square()
          .sum(),
      )([x, w]);
      return [dx!, dw!];
    };
    expectClose(await on(backend, run), await on('cpu', run), 'grouped');
  });

  if (backend === 'wasm' && simd) {
    it('runs the SIMD loops on this machine', async () => {
      await tf.setBackend('wasm');
      const active = wasmTrainingSimdActive(tf.backend());
      // A module whose bytes fail to validate falls back to JS silently: catch that here.
      const im2col = im2colKernels(tf.backend()) !== null;
      await tf.setBackend('cpu');
      expect(active).toBe(true);
      expect(im2col).toBe(true);
    });
  }

  const bnCases: Array<[string, number[], number]> = [
    ['8 channels', [4, 5, 5, 8], 0],
    ['6 channels (not a multiple of 4)', [2, 3, 5, 6], 0],
    ['mean 50 (two-pass variance)', [3, 4, 4, 12], 50],
    ['one pixel per channel pair', [2, 1, 1, 4], 0],
  ];
  it.each(bnCases)('BatchNorm in training mode: %s', async (_, shape, offset) => {
    const C = shape[3]!;
    const xs = random(shape, 9).map((v) => v + offset);
    const upstream = random(shape, 10);
    const gs = random([C], 11).map((v) => 1 + v / 2);
    const bs = random([C], 12);
    const run = () => {
      const x = tf.tensor4d(xs, shape as [number, number, number, number]);
      const w = tf.tensor4d(upstream, shape as [number, number, number, number]);
      const g = tf.tensor1d(gs);
      const b = tf.tensor1d(bs);
      const f = (a: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
        batchNormTraining(a as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-5)
          .y.mul(w)
          .sum();
      const { y, mean, variance } = batchNormTraining(x, g, b, 1e-5);
      return [y, mean, variance, ...tf.grads(f)([x, g, b])];
    };
    expectClose(await on(backend, run), await on('cpu', run), 'batchnorm');
  });

  /** One SGD-momentum step of a one-block model: loss, then every weight. */
  async function trainStep(makeLayer: () => tf.layers.Layer, inShape: number[], where: string) {
    const seeds = { x: 7, y: 8 };
    const build = () => {
      const input = tf.input({ shape: inShape.slice(1) });
      const y = tf.layers
        .globalAveragePooling2d({})
        .apply(makeLayer().apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: y });
    };
    await tf.setBackend('cpu');
    const reference = build();
    const init = reference
      .getWeights()
      .map((w) => ({ shape: w.shape, values: Array.from(w.dataSync()) }));
    const outC = reference.outputs[0]!.shape[1] as number;
    const step = async (b: string) => {
      await tf.setBackend(b);
      const model = build();
      model.setWeights(init.map((w) => tf.tensor(w.values, w.shape)));
      model.compile({ optimizer: tf.train.momentum(0.05, 0.9), loss: 'meanSquaredError' });
      const x = tf.tensor(random(inShape, seeds.x), inShape);
      const y = tf.tensor(random([inShape[0]!, outC], seeds.y), [inShape[0]!, outC]);
      const loss = (await model.trainOnBatch(x, y)) as number;
      const loss2 = (await model.trainOnBatch(x, y)) as number;
      // data(), not dataSync(): webgpu cannot read synchronously in Node.
      const weights = await Promise.all(
        model.getWeights().map(async (w) => Array.from(await w.data())),
      );
      await tf.setBackend('cpu');
      return [[loss, loss2], ...weights];
    };
    expectClose(await step(backend), await step('cpu'), where);
  }

  it('a full training step of a RepVGG block (groups 2, stride 2, SE, BN in training mode)', async () => {
    await trainStep(
      () => new RepVGGBlock({ filters: 8, strides: 2, groups: 2, se: 'post' }),
      [4, 8, 8, 4],
      'repvgg',
    );
  });

  it('a full training step of a RepVGG block with identity (stride 1)', async () => {
    await trainStep(() => new RepVGGBlock({ filters: 6 }), [4, 6, 6, 6], 'repvgg-identity');
  });

  it('a full training step of a depthwise MobileOne block (k = 3, SE) and a pointwise one', async () => {
    await trainStep(
      () => new MobileOneBlock({ filters: 6, groups: 'depthwise', branches: 3, se: 'pre' }),
      [4, 6, 6, 6],
      'mobileone-dw',
    );
    await trainStep(
      () => new MobileOneBlock({ filters: 8, kernelSize: 1, branches: 2 }),
      [4, 5, 5, 6],
      'mobileone-pw',
    );
  });
}
