/**
 * The wasm running-statistics kernel gives the bits of the composed TF.js ops
 * that run where it is not registered (here: cpu).
 */
import { BN_RUNNING_STATS_KERNEL } from '@repnets/blocks/kernels';
import * as tf from '@tensorflow/tfjs';
import { rngFromState } from '../src/random.js';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, expect, it } from 'vitest';
import { selectBackend } from '../src/index.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

const vec = (c: number, seed: number, lo: number, hi: number) => {
  const r = rngFromState(seed).next;
  return Float32Array.from({ length: c }, () => lo + (hi - lo) * r());
};

it.each([
  [7, 0.9, 512],
  [64, 0.99, 2],
  [3, 0.1, 1],
])(
  'C=%i momentum=%f count=%i: wasm kernel == composed ops on cpu, bitwise',
  async (c, momentum, count) => {
    const inputs = [vec(c, 1, -2, 2), vec(c, 2, 0.5, 1.5), vec(c, 3, -1, 1), vec(c, 4, 0, 3)];
    await tf.setBackend('cpu');
    const [mm, mv, m, v] = inputs.map((a) => tf.tensor1d(a));
    const unbiased = count > 1 ? v!.mul(count / (count - 1)) : v!;
    const composed = [
      mm!.mul(momentum).add(m!.mul(1 - momentum)),
      mv!.mul(momentum).add(unbiased.mul(1 - momentum)),
    ];
    const want = await Promise.all(
      composed.map(async (t) =>
        Array.from(new Uint32Array(((await t.data()) as Float32Array).buffer)),
      ),
    );
    await tf.setBackend('wasm');
    const [wmm, wmv, wm, wv] = inputs.map((a) => tf.tensor1d(a));
    const out = tf
      .engine()
      .runKernel(
        BN_RUNNING_STATS_KERNEL,
        { movingMean: wmm!, movingVariance: wmv!, mean: wm!, variance: wv! },
        { momentum, count },
      ) as tf.Tensor[];
    const got = await Promise.all(
      out.map(async (t) => Array.from(new Uint32Array(((await t.data()) as Float32Array).buffer))),
    );
    expect(got).toEqual(want);
  },
);
