/**
 * pnpm --filter @repnets/train bench:engine [-- --workers 1,2 --runs N --rounds N
 *   --models repvgg_a0,mobileone_s0 --backends wasm,webgpu --batch N --img-size N
 *   --stock-batch N --no-stock --no-pytorch --out FILE]
 *
 * Training throughput of the cifar RepVGG-A0 and MobileOne-S0 (stride-1 stem,
 * 10 classes, 32x32 by default, batch 32, SGD momentum 0.9) through train()
 * itself: the loader, the step (forward, backward, update) and, with workers,
 * the replicas' gradient exchange. Per (model, backend, workers), in one run:
 * - img/s, and its scaling and efficiency against 1 worker of the same run;
 * - GFLOP/s (3 x 2 x forward multiply-adds per image: forward, input gradient,
 *   weight gradient) and its fraction of the wasm forward-conv rate per core,
 *   measured on the same conv shapes in this process (one thread);
 * - the speed-up over the stock TF.js cpu backend (one step at --stock-batch:
 *   it trains at ~0.05 img/s, and per-image time is linear in the batch);
 * - PyTorch CPU on the same architecture, batch and optimizer at as many
 *   threads as workers (bench/pytorch_step.py), when a Python with torch is
 *   found ($REPNETS_PYTHON, /usr/bin/python3, python3), skipped with the reason
 *   otherwise.
 * Worker counts are interleaved over --rounds rounds, and the steps of all
 * rounds pooled, so slow phases of a shared machine hit every count alike.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { createModel, type ZooName } from '@repnets/blocks';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine, summarize } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import '@tensorflow/tfjs-backend-wasm';
import { arrayDataset, type Dataset, releaseBackend, selectBackend, train } from '../src/index.js';
import { forwardMacs, wasmForwardRate } from './flops.js';
import { pytorchStep } from './pytorch.js';

const cores = availableParallelism();
const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    workers: { type: 'string', default: cores > 1 ? `1,${cores}` : '1' },
    runs: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '2' },
    models: { type: 'string', default: 'repvgg_a0,mobileone_s0' },
    backends: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '32' },
    'img-size': { type: 'string', default: '32' },
    'stock-batch': { type: 'string', default: '4' },
    'no-stock': { type: 'boolean', default: false },
    'no-pytorch': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results/engine.json' },
  },
});
const positive = (flag: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`bench:engine: --${flag} must be a positive integer, got '${v}'`);
  return n;
};
const workerCounts = values.workers.split(',').map((w) => positive('workers', w));
const runs = positive('runs', values.runs);
const rounds = positive('rounds', values.rounds);
const batch = positive('batch', values.batch);
const size = positive('img-size', values['img-size']);
const stockBatch = positive('stock-batch', values['stock-batch']);
const models = values.models.split(',') as ZooName[];
const WARMUP = 2;
const OPTIMIZER = { type: 'sgd', lr: 0.01, momentum: 0.9 } as const;

const build = (name: ZooName) =>
  createModel(name, { numClasses: 10, inputSize: size, stemStride: 1, seed: 1 });

/** Random images, `n` of them, 10 classes: throughput does not depend on the content. */
function noise(n: number): Dataset {
  let s = 12345;
  const next = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
  return arrayDataset({
    name: 'noise',
    pixels: Float32Array.from({ length: n * size * size * 3 }, next),
    labels: Array.from({ length: n }, (_, i) => i % 10),
    shape: [size, size, 3],
    classNames: Array.from({ length: 10 }, (_, i) => `c${i}`),
  });
}

/** Milliseconds of each training step after `warmup` steps, timed between train()'s step reports. */
async function stepTimes(name: ZooName, b: number, workers: number, steps: number, warmup: number) {
  const model = build(name);
  const times: number[] = [];
  let last = 0;
  await train(
    model,
    { train: noise(b * (steps + warmup)) },
    {
      epochs: 1,
      batchSize: b,
      optimizer: OPTIMIZER,
      workers,
      progress: 'none',
      callbacks: {
        onEpochStart: () => {
          last = performance.now();
        },
        onStep: (r) => {
          const now = performance.now();
          if (r.batch > warmup) times.push(now - last);
          last = now;
        },
      },
    },
  );
  const { macs, convs } = forwardMacs(model);
  model.dispose();
  return { times, macs, convs };
}

const m = machine();
console.log(
  `@repnets/train engine: ${m.cpu}, ${m.cores} cores, node ${m.node}; batch ${batch}, ${size}x${size}, SGD momentum; workers ${workerCounts.join(',')}, ${rounds} rounds x ${runs} steps`,
);
const results: Record<string, unknown>[] = [];
const fmt = (v: number | undefined, d = 2) => (v === undefined ? '-' : v.toFixed(d));
let pytorchNote: string | undefined;

for (const name of models) {
  let stockImg: number | undefined;
  if (!values['no-stock']) {
    await selectBackend('cpu');
    const stock = await stepTimes(name, stockBatch, 1, 1, 0);
    const ms = stock.times[0]!;
    stockImg = (stockBatch * 1000) / ms;
    console.log(
      `cpu (stock)  ${name.padEnd(13)} ${ms.toFixed(0).padStart(7)} ms/step at batch ${stockBatch}  ${stockImg.toFixed(3)} img/s`,
    );
    results.push({
      model: name,
      backend: 'cpu',
      stock: true,
      workers: 1,
      batch: stockBatch,
      msPerStep: ms,
      imgPerSec: stockImg,
      speedupVsStockCpu: 1,
    });
  }
  await selectBackend('wasm');
  const probe = build(name);
  const { macs, convs } = forwardMacs(probe);
  probe.dispose();
  const fwdRate = await wasmForwardRate(convs, batch);
  const flopsPerImage = 3 * 2 * macs;

  for (const backend of values.backends.split(',')) {
    try {
      await selectBackend(backend as 'wasm' | 'webgpu' | 'cpu');
    } catch (e) {
      console.log(`${backend.padEnd(12)} skipped: ${(e as Error).message}`);
      results.push({ model: name, backend, skipped: (e as Error).message });
      continue;
    }
    const counts = backend === 'webgpu' ? [1] : workerCounts;
    const samples = new Map<number, number[]>(counts.map((w) => [w, []]));
    for (let r = 0; r < rounds; r++) {
      for (const w of counts)
        samples.get(w)!.push(...(await stepTimes(name, batch, w, runs, WARMUP)).times);
    }
    let oneWorker: number | undefined;
    for (const w of counts) {
      const s = summarize(samples.get(w)!);
      const imgPerSec = (batch * 1000) / s.median;
      if (w === 1) oneWorker = imgPerSec;
      const gflops = (flopsPerImage * imgPerSec) / 1e9;
      let pytorchImgPerSec: number | undefined;
      if (!values['no-pytorch'] && backend !== 'webgpu') {
        const pt = await pytorchStep({ model: name, threads: w, batch, runs: 10, imgSize: size });
        if (pt.ok) pytorchImgPerSec = pt.imgPerSec;
        else pytorchNote = pt.reason;
      }
      const scaling = oneWorker === undefined ? undefined : imgPerSec / oneWorker;
      const row = {
        model: name,
        backend,
        workers: w,
        batch,
        imgSize: size,
        msPerStep: s.median,
        msP10: s.p10,
        msP90: s.p90,
        imgPerSec,
        scaling,
        efficiency: scaling === undefined ? undefined : scaling / w,
        gflops,
        speedupVsStockCpu: stockImg === undefined ? undefined : imgPerSec / stockImg,
        wasmForwardConvGflops: fwdRate,
        // Per core: the forward-conv rate is one thread's.
        fractionOfForwardConvRate: backend === 'webgpu' ? undefined : gflops / (w * fwdRate),
        pytorchImgPerSec,
        ratioVsPytorch: pytorchImgPerSec === undefined ? undefined : imgPerSec / pytorchImgPerSec,
      };
      results.push(row);
      console.log(
        `${backend.padEnd(6)} ${name.padEnd(13)} ${String(w).padStart(2)} workers ${s.median.toFixed(0).padStart(6)} ms/step (p10 ${s.p10.toFixed(0)}, p90 ${s.p90.toFixed(0)})  ${imgPerSec.toFixed(1).padStart(6)} img/s  x${fmt(scaling)} (eff. ${fmt(row.efficiency)})  ${gflops.toFixed(1)} GFLOP/s = ${fmt(row.fractionOfForwardConvRate === undefined ? undefined : 100 * row.fractionOfForwardConvRate, 0)}% of ${w} x ${fwdRate.toFixed(1)} fwd-conv  ${fmt(row.speedupVsStockCpu, 0)}x stock cpu  pytorch ${fmt(pytorchImgPerSec, 1)} img/s (ratio ${fmt(row.ratioVsPytorch)})`,
      );
    }
  }
}
if (pytorchNote) console.log(`pytorch baseline skipped: ${pytorchNote}`);
writeFileAtomicSync(
  values.out,
  reportJson({
    benchmark: 'train-engine',
    description:
      'Training throughput through train() at 32x32 (cifar variants), SGD momentum; GFLOP/s = 3 x 2 x forward multiply-adds / time; fractionOfForwardConvRate is per core (GFLOP/s / (workers x one-thread wasm forward-conv GFLOP/s)); scaling = img/s / 1-worker img/s of the same run; PyTorch at threads = workers.',
    machine: m,
    batch,
    imgSize: size,
    stockBatch,
    runs,
    rounds,
    pytorch: pytorchNote ? { skipped: pytorchNote } : 'measured',
    results,
  }),
);
console.log(`wrote ${values.out}`);
await releaseBackend();
