/**
 * A parameter's lrScale (backboneLrFactor) is its learning rate, under every
 * optimizer, on the fused wasm path and the TF.js-op path alike: an optimizer
 * with a scaled parameter updates it bit for bit as one whose lr is scaled.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { type OptimizerConfig, registerWasmTrainingKernels } from '../src/index.js';
import { Optimizer } from '../src/optim/optimizers.js';

const CONFIGS: OptimizerConfig[] = [
  { type: 'sgd', lr: 0.1, momentum: 0 },
  { type: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-2 },
  { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true },
  { type: 'adam', lr: 0.01, weightDecay: 1e-3 },
  { type: 'adamw', lr: 0.01 },
];

/** Three steps of `config` on weights w (scaled by `scale`) and v (unscaled); their values. */
function run(config: OptimizerConfig, lrOf: (name: string) => { lr: number; scale?: number }) {
  const w = tf.variable(tf.tensor2d([0.5, -1, 2, 0.25], [2, 2]), false);
  const v = tf.variable(tf.tensor2d([1, 2, -0.5, 3], [2, 2]), false);
  const params = [
    { name: 'w', variable: w, decay: true },
    { name: 'v', variable: v, decay: true },
  ];
  const out: Record<string, number[]> = {};
  // One optimizer per learning rate, or one with a scaled parameter.
  const groups = new Map<number, typeof params>();
  for (const p of params) {
    const { lr, scale } = lrOf(p.name);
    const withScale = scale !== undefined ? { ...p, lrScale: scale } : p;
    groups.set(lr, [...(groups.get(lr) ?? []), withScale]);
  }
  for (const [lr, ps] of groups) {
    const opt = new Optimizer({ ...config, lr }, ps);
    for (let s = 0; s < 3; s++) {
      const grads = ps.map((p) =>
        tf.fill(p.variable.shape, 0.3 * (s + 1) - (p.name === 'v' ? 0.7 : 0)),
      );
      opt.step(grads, lr);
      tf.dispose(grads);
    }
    opt.dispose();
  }
  out.w = Array.from(w.dataSync());
  out.v = Array.from(v.dataSync());
  tf.dispose([w, v]);
  return out;
}

describe.each(['cpu', 'wasm'])('lrScale on %s', (backend) => {
  it.each(CONFIGS.map((c) => [JSON.stringify(c), c] as const))('%s', async (_, config) => {
    if (backend === 'wasm') registerWasmTrainingKernels();
    await tf.setBackend(backend);
    const scaled = run(config, (n) => ({ lr: config.lr, ...(n === 'w' ? { scale: 0.25 } : {}) }));
    const separate = run(config, (n) => ({ lr: n === 'w' ? config.lr * 0.25 : config.lr }));
    expect(scaled).toEqual(separate);
    const unscaled = run(config, () => ({ lr: config.lr }));
    expect(scaled.w).not.toEqual(unscaled.w);
    expect(scaled.v).toEqual(unscaled.v);
  });
});
