/**
 * The fused wasm optimizer update (engine/wasm/fused-update.ts) against the
 * TF.js-op path on the cpu backend: every rule, with and without weight decay,
 * rank-1 parameters that skip it, lengths that are not a multiple of 4. Both
 * paths perform the same f32 operations in the same order, so they must agree
 * bit for bit. Also: data shared with held tensors stays untouched, XNNPACK's
 * weight cache sees the new weights, and data left on another backend moves.
 */

import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { optimizerKernels } from '../src/engine/wasm/optimizer-kernels.js';
import {
  type OptimizerConfig,
  releaseBackend,
  selectBackend,
  setWasmTrainingSimd,
} from '../src/index.js';
import { decays, Optimizer } from '../src/optim/optimizers.js';
import { rngFromState } from '../src/random.js';

/** Why the wasm backend cannot run here (null: it can), found before the suite is declared. */
const wasm = await selectBackend('wasm').then(
  () => null,
  (e: Error) => e.message,
);
if (wasm !== null)
  console.log(`loop-optimizers-fused: skipped: wasm backend unavailable (${wasm})`);
await tf.setBackend('cpu');
afterAll(releaseBackend);
afterEach(() => setWasmTrainingSimd(true));

const random = (n: number, seed: number, scale = 1) => {
  const r = rngFromState(seed).next;
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
};

/** Conv kernel, dense kernel with a tail of 3, rank-1 vectors of 7 and 1 (decay skipped by default), 2 floats. */
const SHAPES = [[3, 3, 4, 5], [5, 3], [7], [1], [2, 1]];
const STEPS = 4;

interface Result {
  weights: Float32Array[];
  slots: Map<string, Float32Array>;
  /** Kernels the engine ran for the last step (the fused path runs none). */
  kernels: number;
}

/** STEPS updates of fresh parameters with fixed random gradients on `backend`; lr changes per step, like a schedule. */
async function train(config: OptimizerConfig, backend: string): Promise<Result> {
  await tf.setBackend(backend);
  const params = SHAPES.map((shape, i) => ({
    name: `p${i}`,
    variable: tf.variable(tf.tensor(random(tf.util.sizeFromShape(shape), 100 + i), shape)),
    decay: decays(config, shape.length),
  }));
  const opt = new Optimizer(config, params);
  let kernels = 0;
  for (let s = 0; s < STEPS; s++) {
    const grads = SHAPES.map((shape, i) =>
      tf.tensor(random(tf.util.sizeFromShape(shape), 10 * s + i, 3), shape),
    );
    const info = await tf.profile(() => opt.step(grads, config.lr * (1 - s / 8)));
    kernels = info.kernels.length;
    tf.dispose(grads);
  }
  const weights = params.map((p) => p.variable.dataSync() as Float32Array);
  const slots = new Map([...opt.state().slots].map(([k, t]) => [k, t.dataSync() as Float32Array]));
  opt.dispose();
  for (const p of params) p.variable.dispose();
  await tf.setBackend('cpu');
  return { weights, slots, kernels };
}

const CONFIGS: Array<[string, OptimizerConfig]> = [
  ['sgd, no momentum', { type: 'sgd', lr: 0.1, momentum: 0 }],
  ['sgd, no momentum, decay', { type: 'sgd', lr: 0.1, momentum: 0, weightDecay: 0.05 }],
  ['sgd momentum', { type: 'sgd', lr: 0.1, momentum: 0.9 }],
  ['sgd momentum, decay', { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-2 }],
  [
    'sgd momentum, decay on every rank',
    { type: 'sgd', lr: 0.1, weightDecay: 1e-2, decayBiasAndNorm: true },
  ],
  ['nesterov', { type: 'sgd', lr: 0.05, momentum: 0.8, nesterov: true }],
  ['nesterov, decay', { type: 'sgd', lr: 0.05, momentum: 0.8, nesterov: true, weightDecay: 4e-5 }],
  ['adam', { type: 'adam', lr: 1e-3 }],
  ['adam, L2 decay', { type: 'adam', lr: 1e-3, weightDecay: 0.1, beta1: 0.8, epsilon: 1e-6 }],
  ['adamw (default decay 0.01)', { type: 'adamw', lr: 1e-2 }],
  [
    'adamw, decay on every rank',
    { type: 'adamw', lr: 1e-2, weightDecay: 0.3, decayBiasAndNorm: true },
  ],
  ['adamw, no decay', { type: 'adamw', lr: 1e-2, weightDecay: 0, beta2: 0.99 }],
];

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function expectSame(got: Result, want: Result): void {
  for (const [i, w] of got.weights.entries()) {
    expect(bits(w), `weight p${i}`).toEqual(bits(want.weights[i]!));
  }
  expect([...got.slots.keys()]).toEqual([...want.slots.keys()]);
  for (const [k, v] of want.slots) expect(bits(got.slots.get(k)!), `slot ${k}`).toEqual(bits(v));
}

describe.skipIf(wasm !== null)(
  `fused wasm optimizer update${wasm === null ? '' : ` (skipped: wasm backend unavailable: ${wasm})`}`,
  () => {
    it('is instantiated on this machine', async () => {
      await tf.setBackend('wasm');
      const k = optimizerKernels(tf.backend());
      await tf.setBackend('cpu');
      expect(k).not.toBeNull();
    });

    it.each(CONFIGS)('matches the TF.js-op path on cpu bit for bit: %s', async (_, config) => {
      const reference = await train(config, 'cpu');
      const fused = await train(config, 'wasm');
      expect(fused.kernels, 'the fused path runs no TF.js kernel').toBe(0);
      expectSame(fused, reference);
      // The TF.js-op path on wasm (SIMD off) agrees too, and runs its elementwise kernels.
      setWasmTrainingSimd(false);
      const ops = await train(config, 'wasm');
      expect(ops.kernels).toBeGreaterThan(0);
      expectSame(ops, reference);
      // And the fused path is deterministic.
      setWasmTrainingSimd(true);
      expectSame(await train(config, 'wasm'), fused);
    });

    it('leaves tensors that share data with a variable, a slot or a gradient untouched', async () => {
      await tf.setBackend('wasm');
      const init = tf.tensor1d([1, 2, 3, 4, 5]);
      const v = tf.variable(init); // shares init's data
      const held = tf.clone(v); // shares it too
      const opt = new Optimizer({ type: 'sgd', lr: 0.5, momentum: 0.9 }, [
        { name: 'w', variable: v, decay: true },
      ]);
      const g = tf.tensor1d([1, 1, 1, 1, 1]);
      const gHeld = tf.clone(g);
      opt.step([g], 0.5);
      const slot = opt.state().slots.get('w/momentum')!;
      const slotHeld = tf.clone(slot);
      opt.step([g], 0.5);
      expect(Array.from(init.dataSync())).toEqual([1, 2, 3, 4, 5]);
      expect(Array.from(held.dataSync())).toEqual([1, 2, 3, 4, 5]);
      expect(Array.from(gHeld.dataSync())).toEqual([1, 1, 1, 1, 1]);
      expect(Array.from(slotHeld.dataSync())).toEqual([1, 1, 1, 1, 1]);
      // buf = 1, then 1.9; w = x - 0.5 - 0.95.
      const w = v.dataSync();
      for (const [i, x] of [1, 2, 3, 4, 5].entries()) expect(w[i]).toBeCloseTo(x - 0.5 - 0.95, 6);
      for (const b of slot.dataSync()) expect(b).toBeCloseTo(1.9, 6);
      tf.dispose([init, held, g, gHeld, slotHeld]);
      opt.dispose();
      v.dispose();
      await tf.setBackend('cpu');
    });

    it('keeps the engine tensor count and the memory in use constant across steps', async () => {
      await tf.setBackend('wasm');
      const v = tf.variable(tf.zeros([6, 5]));
      const opt = new Optimizer({ type: 'adamw', lr: 0.1 }, [
        { name: 'w', variable: v, decay: true },
      ]);
      const g = tf.ones([6, 5]);
      opt.step([g], 0.1);
      const before = tf.memory();
      for (let s = 0; s < 3; s++) opt.step([g], 0.1);
      const after = tf.memory();
      expect([after.numTensors, after.numDataBuffers, after.numBytes]).toEqual([
        before.numTensors,
        before.numDataBuffers,
        before.numBytes,
      ]);
      tf.dispose([g, v]);
      opt.dispose();
      await tf.setBackend('cpu');
    });

    it('a conv after the update sees the new weights (XNNPACK caches packed weights by tensor id)', async () => {
      await tf.setBackend('wasm');
      const x = tf.tensor4d(random(2 * 5 * 5 * 4, 1), [2, 5, 5, 4]);
      const w = tf.variable(tf.tensor4d(random(3 * 3 * 4 * 6, 2), [3, 3, 4, 6]));
      const opt = new Optimizer({ type: 'sgd', lr: 0.1 }, [
        { name: 'w', variable: w, decay: true },
      ]);
      tf.conv2d(x, w as tf.Tensor4D, 1, 'same').dispose(); // XNNPACK packs and caches w
      const g = tf.onesLike(w);
      opt.step([g], 0.1);
      const got = tf.conv2d(x, w as tf.Tensor4D, 1, 'same');
      const copy = tf.tensor4d(w.dataSync(), [3, 3, 4, 6]);
      const want = tf.conv2d(x, copy, 1, 'same');
      expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
      tf.dispose([x, g, got, copy, want, w]);
      opt.dispose();
      await tf.setBackend('cpu');
    });

    it('moves parameters and gradients created on another backend, with the same result', async () => {
      const config: OptimizerConfig = { type: 'adam', lr: 0.01, weightDecay: 0.01 };
      const run = async (stepOn: string) => {
        await tf.setBackend('cpu');
        const v = tf.variable(tf.tensor2d(random(15, 7), [5, 3]));
        const opt = new Optimizer(config, [{ name: 'w', variable: v, decay: true }]);
        const g = tf.tensor2d(random(15, 8), [5, 3]);
        await tf.setBackend(stepOn);
        opt.step([g], 0.01);
        opt.step([g], 0.01);
        const out = v.dataSync() as Float32Array;
        tf.dispose([v, g]);
        opt.dispose();
        await tf.setBackend('cpu');
        return out;
      };
      expect(bits(await run('wasm'))).toEqual(bits(await run('cpu')));
    });
  },
);
