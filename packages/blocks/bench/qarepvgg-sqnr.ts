/**
 * npx tsx bench/qarepvgg-sqnr.ts [--model a0 --seed 9 --batch 16 --out FILE]
 *
 * Issue 23: per-layer weight SQNR of folded RepVGG vs QARepVGG kernels under
 * int8 quantization (symmetric, per output channel, scale = max|w| / 127),
 * the effect Chu et al. (2022) describe, measured on our own models. No
 * training: both networks get the same conditioned random weights
 * (test/helpers/conditioned-weights.ts: He-like kernels, BN scales about the
 * gain that keeps unit RMS per block), QARepVGG copies RepVGG's 3x3 kernels,
 * their BNs and the 1x1 kernels layer by layer, so the two differ only in the
 * block. Two kinds of BN running statistics:
 *   conditioned: mean in [-0.5, 0.5], variance in [0.5, 1.5], as the tests draw them;
 *   data:        each BN's running mean and variance are the statistics of what
 *                reaches it on a batch of random-normal 32x32 images (one
 *                training-mode forward, momentum 0): what training leaves in
 *                them. A RepVGG identity BN then divides by the spread of its
 *                own input, post-ReLU, which is the paper's failure mode.
 * Folded with reparameterize(); 32 px inputs, stem stride 1, 10 classes.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import { createModel, reparameterize, type ZooName } from '../src/index.js';
import { conditionTrainForm } from '../test/helpers/conditioned-weights.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    model: { type: 'string', default: 'a0' },
    seed: { type: 'string', default: '9' },
    batch: { type: 'string', default: '16' },
    out: { type: 'string', default: 'bench-results/qarepvgg-sqnr.json' },
  },
});
const size = values.model;
const seed = Number(values.seed);
const batch = Number(values.batch);
const REP = `repvgg_${size}` as ZooName;
const QA = `qarepvgg_${size}` as ZooName;

await tf.setBackend('wasm');
await tf.ready();

const options = { numClasses: 10, inputSize: 32, stemStride: 1 as const, seed: 5 };
const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', seed);

/** The weights QARepVGG shares with RepVGG: the 3x3 kernel and its BN, the 1x1 kernel. */
const SHARED = /\/(dense_kernel|dense_bn_(gamma|beta|moving_mean|moving_variance)|conv1x1_kernel)$/;

function copyShared(from: tf.LayersModel, to: tf.LayersModel): void {
  const source = new Map(from.weights.map((w) => [w.originalName, w]));
  for (const w of to.weights) {
    if (!SHARED.test(w.originalName)) continue;
    const s = source.get(w.originalName);
    if (s === undefined) throw new Error(`${REP} has no weight '${w.originalName}'`);
    w.write(s.read());
  }
}

/** One training-mode forward with BN momentum 0: every running statistic becomes that batch's. */
function statisticsFromData(model: tf.LayersModel): void {
  tf.tidy(() => {
    model.apply(x, { training: true });
  });
}

/** 10 log10(|w|^2 / |w - q(w)|^2), q: int8 symmetric per output channel (last HWIO axis). */
function int8Sqnr(kernel: Float32Array, out: number): { sqnr: number; maxOverRms: number } {
  const max = new Float64Array(out);
  for (let j = 0; j < kernel.length; j++) {
    const o = j % out;
    max[o] = Math.max(max[o]!, Math.abs(kernel[j]!));
  }
  let signal = 0;
  let noise = 0;
  let peak = 0;
  for (let j = 0; j < kernel.length; j++) {
    const w = kernel[j]!;
    const s = max[j % out]! / 127;
    const q = s === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(w / s))) * s;
    signal += w * w;
    noise += (w - q) * (w - q);
    peak = Math.max(peak, Math.abs(w));
  }
  const rms = Math.sqrt(signal / kernel.length);
  return { sqnr: 10 * Math.log10(signal / Math.max(noise, 1e-300)), maxOverRms: peak / rms };
}

interface LayerSqnr {
  readonly layer: string;
  readonly shape: number[];
  readonly sqnr: number;
  readonly maxOverRms: number;
}

async function foldedSqnr(model: tf.LayersModel): Promise<LayerSqnr[]> {
  const { model: folded } = await reparameterize(model);
  const rows = folded.weights
    .filter((w) => w.shape.length === 4 && w.originalName.endsWith('kernel'))
    .map((w) => {
      const shape = w.shape as number[];
      const r = int8Sqnr(w.read().dataSync() as Float32Array, shape[3]!);
      return { layer: w.originalName.split('/')[0]!, shape, ...r };
    });
  folded.dispose();
  return rows;
}

const runs: Record<string, { repvgg: LayerSqnr[]; qarepvgg: LayerSqnr[] }> = {};
for (const stats of ['conditioned', 'data'] as const) {
  const bn = stats === 'data' ? { bn: { momentum: 0 } } : {};
  const rep = createModel(REP, { ...options, ...bn });
  conditionTrainForm(rep, seed, x);
  const qa = createModel(QA, { ...options, ...bn });
  conditionTrainForm(qa, seed, x);
  copyShared(rep, qa);
  if (stats === 'data') {
    statisticsFromData(rep);
    statisticsFromData(qa);
  }
  runs[stats] = { repvgg: await foldedSqnr(rep), qarepvgg: await foldedSqnr(qa) };
  rep.dispose();
  qa.dispose();
}

const mean = (v: number[]) => v.reduce((p, c) => p + c, 0) / v.length;
const f = (v: number) => v.toFixed(1).padStart(7);
console.log(
  `int8 weight SQNR (dB, per-output-channel symmetric) of folded ${REP} vs ${QA} kernels, 32 px, stem stride 1, seed ${seed}`,
);
console.log(
  `${'layer'.padEnd(16)}${'RepVGG'.padStart(9)}${'QARepVGG'.padStart(9)}  (BN stats conditioned)${'RepVGG'.padStart(9)}${'QARepVGG'.padStart(9)}  (BN stats from data)   max/rms rep, qa (data)`,
);
const cond = runs.conditioned!;
const data = runs.data!;
cond.repvgg.forEach((r, j) => {
  const q = cond.qarepvgg[j]!;
  const dr = data.repvgg[j]!;
  const dq = data.qarepvgg[j]!;
  console.log(
    `${r.layer.padEnd(16)}  ${f(r.sqnr)}  ${f(q.sqnr)}${' '.repeat(22)}  ${f(dr.sqnr)}  ${f(dq.sqnr)}${' '.repeat(22)}  ${dr.maxOverRms.toFixed(1)}, ${dq.maxOverRms.toFixed(1)}`,
  );
});
const summary = Object.fromEntries(
  Object.entries(runs).map(([stats, r]) => [
    stats,
    {
      repvgg: {
        mean: mean(r.repvgg.map((l) => l.sqnr)),
        min: Math.min(...r.repvgg.map((l) => l.sqnr)),
      },
      qarepvgg: {
        mean: mean(r.qarepvgg.map((l) => l.sqnr)),
        min: Math.min(...r.qarepvgg.map((l) => l.sqnr)),
      },
    },
  ]),
);
for (const [stats, s] of Object.entries(summary))
  console.log(
    `${stats.padEnd(12)} mean SQNR RepVGG ${s.repvgg.mean.toFixed(1)} dB (min ${s.repvgg.min.toFixed(1)}), QARepVGG ${s.qarepvgg.mean.toFixed(1)} dB (min ${s.qarepvgg.min.toFixed(1)})`,
  );

writeFileAtomicSync(
  values.out,
  reportJson({
    benchmark: 'blocks-qarepvgg-sqnr',
    description:
      'Per-layer int8 weight SQNR (symmetric, per output channel, scale max|w|/127) of the folded kernels of RepVGG and QARepVGG of one size, same conditioned random weights (QARepVGG copies the 3x3 kernels and BNs and the 1x1 kernels), BN running statistics either conditioned-random or taken from one batch of random-normal images. No training.',
    machine: machineInfo(),
    backend: tf.getBackend(),
    models: [REP, QA],
    input: { batch, size: 32, stemStride: 1, distribution: 'normal(0, 1)' },
    seed,
    summary,
    layers: runs,
  }),
);
console.log(`wrote ${values.out}`);
x.dispose();
