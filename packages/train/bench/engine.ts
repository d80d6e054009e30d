/**
 * pnpm --filter @repnets/train bench:engine [-- --runs N --backends wasm,webgpu --stock-batch N --out FILE]
 *
 * One full training step (forward, backward, SGD-momentum update) of a
 * RepVGG-A0-style and a MobileOne-S0-style net at 32x32, batch 32, per backend:
 * images/s and achieved GFLOP/s (3 x 2 x forward multiply-adds per image: the
 * forward pass, the input gradient and the weight gradient), against the stock
 * cpu backend in the same run and against the wasm forward-conv rate on the same
 * layer shapes. The stock cpu backend trains at about 0.1 GFLOP/s, so it runs
 * one step at a smaller batch (--stock-batch, default 4): per-image time is
 * linear in the batch for these nets, and the report compares images/s.
 */
import { parseArgs } from 'node:util';
import { createModel, groupedConv2d, type ZooName } from '@repnets/blocks';
import { machine, scriptArgs, summarize, writeJsonAtomic } from '@repnets/devkit';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, releaseBackend, selectBackend } from '../src/index.js';
import { forwardMacs } from './flops.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    runs: { type: 'string', default: '5' },
    'stock-batch': { type: 'string', default: '4' },
    backends: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '32' },
    out: { type: 'string', default: 'bench-results/engine.json' },
  },
});
const runs = Number(values.runs);
const stockBatch = Number(values['stock-batch']);
const batch = Number(values.batch);
const MODELS: ZooName[] = ['repvgg_a0', 'mobileone_s0'];

async function stepTimes(name: ZooName, backend: string, n: number, batch: number, warmup = true) {
  await tf.setBackend(backend);
  await tf.ready();
  const model = createModel(name, { numClasses: 10, inputSize: 32, variant: 'cifar' });
  model.compile({
    optimizer: tf.train.momentum(0.01, 0.9),
    loss: (t: tf.Tensor, p: tf.Tensor) => tf.losses.softmaxCrossEntropy(t, p),
  });
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2) as tf.Tensor1D, 10);
  if (warmup) await model.trainOnBatch(x, y); // kernel setup, weight packing, heap growth
  const times: number[] = [];
  for (let r = 0; r < n; r++) {
    const t0 = performance.now();
    await model.trainOnBatch(x, y);
    times.push(performance.now() - t0);
  }
  const { macs, convs } = forwardMacs(model);
  tf.dispose([x, y]);
  model.dispose();
  return { ms: summarize(times), macs, convs };
}

/** Forward conv GFLOP/s on wasm over the model's own conv shapes at this batch. */
async function wasmForwardRate(convs: ReturnType<typeof forwardMacs>['convs']): Promise<number> {
  await tf.setBackend('wasm');
  let flops = 0;
  let ms = 0;
  for (const c of convs) {
    const x = tf.randomNormal([batch, c.input[1], c.input[2], c.input[3]]) as tf.Tensor4D;
    const w = tf.randomNormal(c.kernel) as tf.Tensor4D;
    (groupedConv2d(x, w, c.stride, c.pad, c.groups) as tf.Tensor).dispose(); // warm-up
    const t0 = performance.now();
    const y = groupedConv2d(x, w, c.stride, c.pad, c.groups);
    await y.data();
    ms += performance.now() - t0;
    const [, ho, wo] = y.shape;
    flops += 2 * batch * ho * wo * c.kernel[0] * c.kernel[1] * c.kernel[2] * c.kernel[3];
    tf.dispose([x, w, y]);
  }
  return flops / (ms * 1e6);
}

registerWasmTrainingKernels();
const m = machine();
console.log(
  `@repnets/train engine: ${m.cpu}, ${m.cores} cores, node ${m.node}; batch ${batch}, 32x32, SGD momentum`,
);
const results = [];
for (const name of MODELS) {
  const stock = await stepTimes(name, 'cpu', 1, stockBatch, false);
  const stockImg = (stockBatch * 1000) / stock.ms.median;
  const stockGflops = (3 * 2 * stock.macs * stockBatch) / stock.ms.median / 1e6;
  const flopsPerStep = 3 * 2 * stock.macs * batch;
  console.log(
    `cpu (stock)  ${name.padEnd(13)} ${stock.ms.median.toFixed(0).padStart(7)} ms/step at batch ${stockBatch}  ${stockImg.toFixed(2).padStart(7)} img/s  ${stockGflops.toFixed(2)} GFLOP/s`,
  );
  results.push({
    model: name,
    backend: 'cpu',
    stock: true,
    batch: stockBatch,
    msPerStep: stock.ms.median,
    imgPerSec: stockImg,
    gflops: stockGflops,
    speedupVsStockCpu: 1,
  });
  const fwdRate = await wasmForwardRate(stock.convs);
  for (const backend of values.backends.split(',')) {
    if (backend === 'cpu') continue;
    if (backend === 'webgpu' || backend === 'wasm') {
      try {
        await selectBackend(backend);
      } catch (e) {
        console.log(`${backend.padEnd(12)} skipped: ${(e as Error).message}`);
        results.push({ model: name, backend, skipped: (e as Error).message });
        continue;
      }
    }
    const r = await stepTimes(name, backend, runs, batch);
    const gflops = flopsPerStep / r.ms.median / 1e6;
    const row = {
      model: name,
      backend,
      msPerStep: r.ms.median,
      msP10: r.ms.p10,
      msP90: r.ms.p90,
      imgPerSec: (batch * 1000) / r.ms.median,
      gflops,
      speedupVsStockCpu: (batch * 1000) / r.ms.median / stockImg,
      wasmForwardConvGflops: fwdRate,
      fractionOfForwardConvRate: gflops / fwdRate,
    };
    results.push(row);
    console.log(
      `${backend.padEnd(12)} ${name.padEnd(13)} ${row.msPerStep.toFixed(0).padStart(7)} ms/step  ${row.imgPerSec.toFixed(2).padStart(7)} img/s  ${gflops.toFixed(2)} GFLOP/s  ${row.speedupVsStockCpu.toFixed(1)}x stock cpu  ${(100 * row.fractionOfForwardConvRate).toFixed(0)}% of wasm forward conv (${fwdRate.toFixed(1)} GFLOP/s)`,
    );
  }
}
writeJsonAtomic(values.out, {
  benchmark: 'train-engine',
  description:
    'One training step (forward, backward, SGD momentum) at 32x32; GFLOP/s = 3 x 2 x forward multiply-adds / time.',
  machine: m,
  batch,
  stockBatch,
  runs,
  results,
});
console.log(`wrote ${values.out}`);
await releaseBackend();
