import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { learningRate, type OptimizerConfig } from '../src/index.js';
import { clipByGlobalNorm, Optimizer } from '../src/optim/optimizers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Runs `steps` updates of one 2-element parameter with fixed gradients; returns its values. */
function run(config: OptimizerConfig, grads: number[][], w0 = [1, -2], decay = true): number[] {
  const v = tf.variable(tf.tensor1d(w0));
  const opt = new Optimizer(config, [{ name: 'w', variable: v, decay }]);
  for (const g of grads) tf.tidy(() => opt.step([tf.tensor1d(g)], config.lr));
  const out = Array.from(v.dataSync());
  opt.dispose();
  v.dispose();
  return out;
}

describe('optimizers (PyTorch semantics)', () => {
  const g = [
    [0.5, -1],
    [0.25, 2],
    [-1, 0.5],
  ];

  it('SGD with momentum, weight decay and Nesterov matches the update rule by hand', () => {
    for (const nesterov of [false, true]) {
      const lr = 0.1;
      const mu = 0.9;
      const wd = 0.01;
      const w = [1, -2];
      const buf = [0, 0];
      for (const gs of g) {
        for (let i = 0; i < 2; i++) {
          const d = gs[i]! + wd * w[i]!;
          buf[i] = mu * buf[i]! + d;
          w[i]! -= lr * (nesterov ? d + mu * buf[i]! : buf[i]!);
        }
      }
      const got = run({ type: 'sgd', lr, momentum: mu, nesterov, weightDecay: wd }, g);
      for (let i = 0; i < 2; i++) expect(got[i]).toBeCloseTo(w[i]!, 5);
    }
  });

  it('Adam (L2 in the gradient) and AdamW (decoupled decay) match the update rules by hand', () => {
    for (const type of ['adam', 'adamw'] as const) {
      const lr = 0.01;
      const wd = 0.1;
      const [b1, b2, eps] = [0.9, 0.999, 1e-8];
      const w = [1, -2];
      const m = [0, 0];
      const v = [0, 0];
      g.forEach((gs, t) => {
        for (let i = 0; i < 2; i++) {
          let d = gs[i]!;
          if (type === 'adam') d += wd * w[i]!;
          else w[i]! *= 1 - lr * wd;
          m[i] = b1 * m[i]! + (1 - b1) * d;
          v[i] = b2 * v[i]! + (1 - b2) * d * d;
          const mh = m[i]! / (1 - b1 ** (t + 1));
          const vh = v[i]! / (1 - b2 ** (t + 1));
          w[i]! -= (lr * mh) / (Math.sqrt(vh) + eps);
        }
      });
      const got = run({ type, lr, weightDecay: wd }, g);
      for (let i = 0; i < 2; i++) expect(got[i], type).toBeCloseTo(w[i]!, 5);
    }
  });

  it('parameters marked decay: false get no weight decay', () => {
    const cfg: OptimizerConfig = { type: 'sgd', lr: 0.1, momentum: 0, weightDecay: 0.5 };
    expect(run(cfg, [[0, 0]], [1, 1], false)).toEqual([1, 1]);
    expect(run(cfg, [[0, 0]], [1, 1], true)).toEqual([0.949999988079071, 0.949999988079071]);
  });

  it('refuses state for unknown parameters or wrong shapes, and keeps its own', () => {
    const v = tf.variable(tf.tensor1d([1, 2]));
    const opt = new Optimizer({ type: 'sgd', lr: 0.1 }, [{ name: 'w', variable: v, decay: true }]);
    const bad = new Map([['x/momentum', { shape: [2], values: new Float32Array(2) }]]);
    expect(() => opt.loadState(3, bad)).toThrow(/slot 'x\/momentum' names no parameter/);
    const wrong = new Map([['w/momentum', { shape: [3], values: new Float32Array(3) }]]);
    expect(() => opt.loadState(3, wrong)).toThrow(/has shape \[3\], parameter 'w' has \[2\]/);
    expect(opt.steps).toBe(0);
    expect([...opt.state().slots.keys()]).toEqual(['w/momentum']);
    opt.dispose();
    v.dispose();
  });

  it('clipByGlobalNorm scales every gradient by maxNorm / norm, and only when above it', () => {
    tf.tidy(() => {
      const gs = [tf.tensor1d([3, 0]), tf.tensor1d([0, 4])]; // global norm 5
      const { grads, norm } = clipByGlobalNorm(gs, 1);
      expect(norm.dataSync()[0]).toBeCloseTo(5, 5);
      expect(Array.from(grads[0]!.dataSync())[0]).toBeCloseTo(0.6, 5);
      expect(Array.from(grads[1]!.dataSync())[1]).toBeCloseTo(0.8, 5);
      const kept = clipByGlobalNorm(gs, 10).grads;
      expect(Array.from(kept[1]!.dataSync())).toEqual([0, 4]);
    });
  });
});

describe('learning-rate schedules', () => {
  const spe = 10;
  it('linear warm-up reaches the base rate on its last step, then cosine decays to minLr', () => {
    const c = { type: 'cosine', warmupEpochs: 1, minLr: 0.001 } as const;
    expect(learningRate(c, 0.1, 0, spe, 5)).toBeCloseTo(0.01, 10);
    expect(learningRate(c, 0.1, 9, spe, 5)).toBeCloseTo(0.1, 10);
    expect(learningRate(c, 0.1, 10, spe, 5)).toBeCloseTo(0.1, 10);
    expect(learningRate(c, 0.1, 30, spe, 5)).toBeCloseTo(0.001 + 0.5 * 0.099, 10); // halfway
    expect(learningRate(c, 0.1, 50, spe, 5)).toBeCloseTo(0.001, 10);
  });
  it('step decay multiplies by gamma every stepEpochs', () => {
    const c = { type: 'step', stepEpochs: 2, gamma: 0.5 } as const;
    expect(learningRate(c, 1, 19, spe, 6)).toBe(1);
    expect(learningRate(c, 1, 20, spe, 6)).toBe(0.5);
    expect(learningRate(c, 1, 45, spe, 6)).toBe(0.25);
  });
  it('constant stays put after warm-up', () => {
    expect(learningRate({ type: 'constant', warmupEpochs: 0.5 }, 0.3, 1, spe, 2)).toBeCloseTo(
      0.12,
      10,
    );
    expect(learningRate({ type: 'constant' }, 0.3, 17, spe, 2)).toBe(0.3);
  });
});
