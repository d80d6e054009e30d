/**
 * pnpm --filter @repnets/train exec tsx bench/optimizer.ts [-- --runs N --batch N --out FILE]
 *
 * On the wasm backend, for the cifar RepVGG-A0 and MobileOne-S0 (32x32):
 * 1. Optimizer.step over the model's real parameter set: the fused SIMD pass vs
 *    the TF.js-op path, for SGD-Nesterov with decay and for AdamW;
 * 2. Conv2DBackpropFilter over the model's dense conv shapes: SIMD im2col vs the
 *    JS loop (everything else in the kernel is the same);
 * 3. one full training step (tf.variableGrads + Optimizer.step, SGD momentum):
 *    every SIMD loop off, then the loops before this change (fused optimizer and
 *    SIMD im2col off), then all on; with the fraction of the wasm forward-conv
 *    rate on the same layer shapes (3 x 2 x forward multiply-adds per step).
 * Variants alternate run by run in one process, so drift and load on a shared
 * machine hit them alike; medians with p10/p90.
 */
import { parseArgs } from 'node:util';
import { createModel, type ZooName } from '@repnets/blocks';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine, type Summary, summarize } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import { setHeapModuleEnabled } from '../src/engine/wasm/heap-module.js';
import {
  type OptimizerConfig,
  releaseBackend,
  selectBackend,
  setWasmTrainingSimd,
} from '../src/index.js';
import { decays, Optimizer } from '../src/optim/optimizers.js';
import { type ConvShape, forwardMacs, wasmForwardRate } from './flops.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    runs: { type: 'string', default: '10' },
    batch: { type: 'string', default: '32' },
    out: { type: 'string', default: 'bench-results/optimizer.json' },
  },
});
const runs = Number(values.runs);
const batch = Number(values.batch);
const MODELS: ZooName[] = ['repvgg_a0', 'mobileone_s0'];

type Mode = 'all-simd-off' | 'before' | 'after';
function setMode(mode: Mode): void {
  setWasmTrainingSimd(mode !== 'all-simd-off');
  setHeapModuleEnabled('optimizer', mode === 'after');
  setHeapModuleEnabled('im2col', mode === 'after');
}

/** Runs every variant once per round, `runs` rounds after one warm-up round; ms per call. */
function alternate<K extends string>(
  variants: Record<K, () => void>,
  n: number,
): Record<K, Summary> {
  const keys = Object.keys(variants) as K[];
  const times = new Map<K, number[]>(keys.map((k) => [k, []]));
  for (let r = -1; r < n; r++) {
    for (const k of keys) {
      const t0 = performance.now();
      variants[k]();
      if (r >= 0) times.get(k)!.push(performance.now() - t0);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, summarize(times.get(k)!)])) as Record<K, Summary>;
}

function paramsOf(model: tf.LayersModel, config: OptimizerConfig) {
  return model.trainableWeights.map((lv, i) => ({
    name: `${i}:${lv.name}`,
    variable: lv.read() as tf.Variable,
    decay: decays(config, lv.shape.length),
  }));
}

const SGD: OptimizerConfig = {
  type: 'sgd',
  lr: 0.01,
  momentum: 0.9,
  nesterov: true,
  weightDecay: 5e-4,
};
const ADAMW: OptimizerConfig = { type: 'adamw', lr: 1e-3, weightDecay: 0.05 };

/** Optimizer.step alone, fused vs TF.js ops, on the model's parameters with fixed gradients. */
interface OptimizerTiming {
  readonly params: number;
  readonly floats: number;
  readonly tfOps: Summary;
  readonly fused: Summary;
  readonly speedup: number;
}
function optimizerSteps(model: tf.LayersModel): Record<string, OptimizerTiming> {
  const out: Record<string, OptimizerTiming> = {};
  for (const [label, config] of [
    ['sgd-nesterov-wd', SGD],
    ['adamw', ADAMW],
  ] as const) {
    const params = paramsOf(model, config);
    const grads = params.map((p) => tf.randomNormal(p.variable.shape, 0, 1e-3, 'float32', 3));
    const opt = new Optimizer(config, params);
    const step = (fused: boolean) => () => {
      setHeapModuleEnabled('optimizer', fused);
      opt.step(grads, config.lr);
    };
    const t = alternate({ tfOps: step(false), fused: step(true) }, runs);
    setHeapModuleEnabled('optimizer', true);
    const floats = params.reduce((s, p) => s + p.variable.size, 0);
    out[label] = { params: params.length, floats, ...t, speedup: t.tfOps.median / t.fused.median };
    opt.dispose();
    tf.dispose(grads);
  }
  return out;
}

/** Conv2DBackpropFilter over the dense (groups 1) conv shapes at this batch: SIMD vs JS im2col. */
function backpropFilter(convs: readonly ConvShape[]) {
  const dense = convs.filter((c) => c.groups === 1);
  const inputs = dense.map((c) => {
    const x = tf.randomNormal([batch, c.input[1], c.input[2], c.input[3]]) as tf.Tensor4D;
    const y = tf.conv2d(x, tf.zeros(c.kernel) as tf.Tensor4D, c.stride, c.pad);
    const dy = tf.randomNormal(y.shape);
    y.dispose();
    return {
      x,
      dy,
      attrs: { strides: c.stride, pad: c.pad, filterShape: c.kernel, dataFormat: 'NHWC' },
    };
  });
  const all = (simd: boolean) => () => {
    setHeapModuleEnabled('im2col', simd);
    for (const { x, dy, attrs } of inputs) {
      (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor).dispose();
    }
  };
  const t = alternate({ js: all(false), simd: all(true) }, runs);
  setHeapModuleEnabled('im2col', true);
  tf.dispose(inputs.flatMap((i) => [i.x, i.dy]));
  return { convs: dense.length, ...t, speedup: t.js.median / t.simd.median };
}

/** One training step with our Optimizer (SGD momentum 0.9, lr 0.01), per mode. */
function fullSteps(model: tf.LayersModel) {
  const config: OptimizerConfig = { type: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 5e-4 };
  const params = paramsOf(model, config);
  const vars = params.map((p) => p.variable);
  const opt = new Optimizer(config, params);
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2) as tf.Tensor1D, 10);
  const step = (mode: Mode) => () => {
    setMode(mode);
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.apply(x, { training: true }) as tf.Tensor;
        return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
      }, vars);
      opt.step(
        vars.map((v) => grads[v.name] ?? tf.zerosLike(v)),
        config.lr,
      );
      value.dataSync();
    });
  };
  const t = alternate(
    { 'all-simd-off': step('all-simd-off'), before: step('before'), after: step('after') },
    runs,
  );
  setMode('after');
  opt.dispose();
  tf.dispose([x, y]);
  return t;
}

const m = machine();
await selectBackend('wasm');
console.log(
  `@repnets/train optimizer: wasm backend, ${m.cpu}, ${m.cores} cores, node ${m.node}; batch ${batch}, 32x32 cifar nets, ${runs} runs`,
);
const fmt = (s: Summary) =>
  `${s.median.toFixed(1).padStart(8)} ms (p10 ${s.p10.toFixed(1)}, p90 ${s.p90.toFixed(1)})`;
const results = [];
for (const name of MODELS) {
  const model = createModel(name, { numClasses: 10, inputSize: 32, stemStride: 1 });
  const { macs, convs } = forwardMacs(model);
  const opt = optimizerSteps(model);
  for (const [label, r] of Object.entries(opt)) {
    console.log(
      `${name.padEnd(13)} Optimizer.step ${label.padEnd(16)} (${r.params} params, ${(r.floats / 1e6).toFixed(2)} M floats)`,
    );
    console.log(`  TF.js ops ${fmt(r.tfOps)}   fused ${fmt(r.fused)}   ${r.speedup.toFixed(1)}x`);
  }
  const bpf = backpropFilter(convs);
  console.log(
    `${name.padEnd(13)} Conv2DBackpropFilter x ${bpf.convs} shapes: JS im2col ${fmt(bpf.js)}   SIMD ${fmt(bpf.simd)}   ${bpf.speedup.toFixed(1)}x`,
  );
  const full = fullSteps(model);
  const fwd = await wasmForwardRate(convs, batch);
  const flopsPerStep = 3 * 2 * macs * batch;
  const frac = (ms: number) => flopsPerStep / ms / 1e6 / fwd;
  for (const mode of ['all-simd-off', 'before', 'after'] as const) {
    console.log(
      `${name.padEnd(13)} full step, ${mode.padEnd(12)} ${fmt(full[mode])}   ${(100 * frac(full[mode].median)).toFixed(0)}% of wasm forward conv (${fwd.toFixed(1)} GFLOP/s)`,
    );
  }
  results.push({
    model: name,
    optimizerStep: opt,
    conv2DBackpropFilter: bpf,
    fullStep: full,
    fullStepSpeedup: full.before.median / full.after.median,
    wasmForwardConvGflops: fwd,
    fractionOfForwardConvRate: {
      'all-simd-off': frac(full['all-simd-off'].median),
      before: frac(full.before.median),
      after: frac(full.after.median),
    },
  });
  model.dispose();
}
writeFileAtomicSync(
  values.out,
  reportJson({
    benchmark: 'train-optimizer',
    description:
      'wasm backend: Optimizer.step fused vs TF.js ops; Conv2DBackpropFilter SIMD vs JS im2col; full step (variableGrads + Optimizer.step) with all SIMD off, before (fused optimizer and SIMD im2col off) and after.',
    machine: m,
    backend: 'wasm',
    batch,
    inputSize: 32,
    runs,
    results,
  }),
);
console.log(`wrote ${values.out}`);
await releaseBackend();
