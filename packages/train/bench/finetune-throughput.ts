/**
 * Fine-tuning throughput: MobileOne-S0 and RepVGG-A0 (published stride-2
 * stem), wasm backend, with each layer trained (full), the stem and every
 * stage but the last frozen (freeze { stages: 3 }), or only the head
 * (freeze 'backbone'), and a forward pass of the same batch in inference
 * mode; img/s and peak RSS at 1 and 2 workers, with PyTorch CPU
 * (bench/pytorch_finetune.py) at the same thread count and freezing, run
 * interleaved with ours. Every case runs in a process of its own, so each
 * peak RSS is that case's.
 *
 *   npx tsx bench/finetune-throughput.ts
 *
 * Size (defaults as the issue asks: 224x224, batch 32): REPNETS_BENCH_IMG,
 * REPNETS_BENCH_BATCH, REPNETS_BENCH_RUNS (timed steps, default 3),
 * REPNETS_BENCH_MODELS (comma list), REPNETS_BENCH_WORKERS (comma list,
 * default 1,2); the head-over-forward ratio has its own size,
 * REPNETS_BENCH_RATIO_IMG and REPNETS_BENCH_RATIO_BATCH (default: the
 * table's). Writes bench-results/finetune-throughput.json.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createModel } from '@repnets/blocks';
import { reportJson } from '@repnets/devkit';
import { machineInfo as machine, summarize } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import {
  arrayDataset,
  type FreezeOption,
  releaseBackend,
  selectBackend,
  train,
} from '../src/index.js';
import { frozenLayers, runInInferenceMode } from '../src/loop/freeze.js';
import { trainParams } from '../src/loop/params.js';
import { Optimizer } from '../src/optim/optimizers.js';
import { localRunner } from '../src/runner/local.js';
import { findTorchPython } from './pytorch.js';

type Mode = 'forward' | 'full' | 'last' | 'head' | 'ratio';
interface Case {
  readonly model: 'mobileone_s0' | 'repvgg_a0';
  readonly mode: Mode;
  readonly workers: number;
  readonly img: number;
  readonly batch: number;
  readonly runs: number;
}
interface Result {
  readonly imgPerSec: number;
  readonly msPerStep: number;
  readonly msP10: number;
  readonly msP90: number;
  readonly peakRssMiB: number;
}

const FREEZE: Record<Exclude<Mode, 'forward' | 'ratio'>, FreezeOption> = {
  full: 'none',
  last: { stages: 3 },
  head: 'backbone',
};
const WARMUP = 1;
const env = (name: string, fallback: string) => process.env[name] ?? fallback;

/**
 * A head-only step against a forward pass of the same batch, alternated in
 * one process so both see the same machine load: the forward is
 * model.predict, the step is the one train() runs in its thread (the loop's
 * step runner, the backbone frozen as `freeze: 'backbone'` freezes it).
 */
async function headOverForward(c: Case): Promise<Record<string, number>> {
  await selectBackend('wasm');
  const model = createModel(c.model, { numClasses: 10, inputSize: c.img, seed: 1 });
  const options = {
    epochs: 1,
    batchSize: c.batch,
    optimizer: { type: 'sgd', lr: 0.01, momentum: 0.9 },
    freeze: 'backbone',
  } as const;
  const frozen = frozenLayers(model, options.freeze);
  runInInferenceMode(model, frozen);
  const params = trainParams(model, options, frozen);
  const optimizer = new Optimizer(options.optimizer, params.params);
  const runner = localRunner(model, optimizer, params, options, 10);
  const x = tf.randomNormal([c.batch, c.img, c.img, 3], 0, 1, 'float32', 1);
  const batch = {
    images: (await x.data()) as Float32Array,
    labels: Int32Array.from({ length: c.batch }, (_, i) => i % 10),
    shape: x.shape as [number, number, number, number],
    indices: new Int32Array(c.batch),
  };
  const forward: number[] = [];
  const step: number[] = [];
  for (let i = 0; i < WARMUP + c.runs; i++) {
    let t0 = performance.now();
    const y = model.predict(x) as tf.Tensor;
    await y.data();
    y.dispose();
    if (i >= WARMUP) forward.push(performance.now() - t0);
    t0 = performance.now();
    await runner.step(batch, 0.01, 0, i);
    if (i >= WARMUP) step.push(performance.now() - t0);
  }
  const [f, s] = [summarize(forward).median, summarize(step).median];
  return {
    forwardMs: f,
    headStepMs: s,
    ratio: s / f,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

/** One case, in this process: prints its result as one JSON line. */
async function runCase(c: Case): Promise<Result> {
  await selectBackend('wasm');
  const model = createModel(c.model, { numClasses: 10, inputSize: c.img, seed: 1 });
  const times: number[] = [];
  if (c.mode === 'forward') {
    const x = tf.randomNormal([c.batch, c.img, c.img, 3], 0, 1, 'float32', 1);
    for (let i = 0; i < WARMUP + c.runs; i++) {
      const t0 = performance.now();
      const y = model.predict(x) as tf.Tensor;
      await y.data();
      y.dispose();
      if (i >= WARMUP) times.push(performance.now() - t0);
    }
    x.dispose();
  } else {
    // One step more than timed: step times are the gaps between step ends.
    const n = c.batch * (WARMUP + c.runs + 1);
    const pixels = c.img * c.img * 3;
    const data = arrayDataset({
      name: 'noise',
      pixels: Float32Array.from({ length: n * pixels }, (_, i) => ((i * 2654435761) % 1000) / 1000),
      labels: Array.from({ length: n }, (_, i) => i % 10),
      shape: [c.img, c.img, 3],
      classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    });
    const ends: number[] = [];
    await train(
      model,
      { train: data },
      {
        epochs: 1,
        batchSize: c.batch,
        optimizer: { type: 'sgd', lr: 0.01, momentum: 0.9 },
        schedule: { type: 'constant' },
        workers: c.workers,
        freeze: FREEZE[c.mode as keyof typeof FREEZE],
        progress: 'none',
        callbacks: { onStep: () => void ends.push(performance.now()) },
      },
    );
    for (let i = WARMUP + 1; i < ends.length; i++) times.push(ends[i]! - ends[i - 1]!);
  }
  model.dispose();
  await releaseBackend();
  const s = summarize(times);
  return {
    imgPerSec: (c.batch * 1000) / s.median,
    msPerStep: s.median,
    msP10: s.p10,
    msP90: s.p90,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
}

function child(file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return new Promise<Record<string, unknown> | { error: string }>((resolve) => {
    execFile(
      file,
      args,
      { env: { ...process.env, ...extraEnv }, maxBuffer: 1 << 20, timeout: 3_600_000 },
      (err, stdout, stderr) => {
        const line = stdout
          .trim()
          .split('\n')
          .reverse()
          .find((l) => l.startsWith('{'));
        if (err || !line) {
          return resolve({
            error: `${err?.message ?? 'no JSON'}: ${stderr.trim().split('\n').pop()}`,
          });
        }
        resolve(JSON.parse(line) as Record<string, unknown>);
      },
    );
  });
}

const CASE_FLAG = '--case';
const caseAt = process.argv.indexOf(CASE_FLAG);
if (caseAt >= 0) {
  const c = JSON.parse(process.argv[caseAt + 1] ?? '') as Case;
  console.log(JSON.stringify(c.mode === 'ratio' ? await headOverForward(c) : await runCase(c)));
  process.exit(0);
}

const img = Number(env('REPNETS_BENCH_IMG', '224'));
const batch = Number(env('REPNETS_BENCH_BATCH', '32'));
const runs = Number(env('REPNETS_BENCH_RUNS', '3'));
const models = env('REPNETS_BENCH_MODELS', 'mobileone_s0,repvgg_a0').split(',') as Case['model'][];
const ratioImg = Number(env('REPNETS_BENCH_RATIO_IMG', String(img)));
const ratioBatch = Number(env('REPNETS_BENCH_RATIO_BATCH', String(batch)));
const workerCounts = env('REPNETS_BENCH_WORKERS', '1,2').split(',').map(Number);
const self = fileURLToPath(import.meta.url);
const py = await findTorchPython();
const torchNote = 'ok' in py ? `PyTorch skipped: ${py.reason}` : `PyTorch ${py.torch} (${py.path})`;
console.log(
  `wasm backend, ${img}x${img}, batch ${batch}, ${runs} timed steps after ${WARMUP}; ${torchNote}`,
);
const rows: Record<string, unknown>[] = [];
console.log(
  '| model | workers | mode | ours img/s | ours peak RSS MiB | torch img/s | torch peak RSS MiB |',
);
console.log(
  '| ----- | ------- | ---- | ---------- | ----------------- | ----------- | ------------------ |',
);
for (const model of models) {
  for (const workers of workerCounts) {
    for (const mode of ['forward', 'full', 'last', 'head'] as const) {
      const c: Case = { model, mode, workers, img, batch, runs };
      // The forward pass runs in one thread here (train's workers split training steps only).
      if (mode === 'forward' && workers !== 1) continue;
      const ours = await child(process.execPath, [
        ...process.execArgv,
        self,
        CASE_FLAG,
        JSON.stringify(c),
      ]);
      const torch =
        'ok' in py
          ? { skipped: py.reason }
          : await child(
              py.path,
              [
                fileURLToPath(new URL('./pytorch_finetune.py', import.meta.url)),
                ...['--model', model, '--mode', mode, '--threads', String(workers)],
                ...['--batch', String(batch), '--img-size', String(img), '--runs', String(runs)],
                ...['--warmup', String(WARMUP)],
              ],
              { OMP_NUM_THREADS: String(workers), MKL_NUM_THREADS: String(workers) },
            );
      const row = { model, workers, mode, ours, torch };
      rows.push(row);
      const f = (r: Record<string, unknown>, k: string) =>
        typeof r[k] === 'number'
          ? (r[k] as number).toFixed(1)
          : String(r.error ?? r.skipped ?? '-');
      console.log(
        `| ${model} | ${workers} | ${mode} | ${f(ours, 'imgPerSec')} | ${f(ours, 'peakRssMiB')} | ${f(torch, 'imgPerSec')} | ${f(torch, 'peakRssMiB')} |`,
      );
    }
  }
}
// The bar: a head-only step costs at most 1.2x a forward pass of the same
// batch. Measured alternating both in one process (ours and PyTorch's), 1 thread.
const ratios: Record<string, unknown>[] = [];
for (const model of models) {
  const c: Case = {
    model,
    mode: 'ratio',
    workers: 1,
    img: ratioImg,
    batch: ratioBatch,
    runs: Math.max(runs, 5),
  };
  const ours = await child(process.execPath, [
    ...process.execArgv,
    self,
    CASE_FLAG,
    JSON.stringify(c),
  ]);
  const torch =
    'ok' in py
      ? { skipped: py.reason }
      : await child(
          py.path,
          [
            fileURLToPath(new URL('./pytorch_finetune.py', import.meta.url)),
            ...['--model', model, '--mode', 'ratio', '--threads', '1'],
            ...['--batch', String(c.batch), '--img-size', String(c.img), '--runs', String(c.runs)],
            ...['--warmup', String(WARMUP)],
          ],
          { OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
        );
  ratios.push({ model, ours, torch });
  const show = (r: Record<string, unknown>) =>
    typeof r.ratio === 'number'
      ? `${r.ratio.toFixed(2)}x (step ${(r.headStepMs as number).toFixed(0)} ms, forward ${(r.forwardMs as number).toFixed(0)} ms)`
      : String(r.error ?? r.skipped);
  console.log(
    `${model}, ${c.img}x${c.img} batch ${c.batch}: head-only step / forward pass, 1 thread: ours ${show(ours)}; PyTorch ${show(torch)} (bar: <= 1.2x)`,
  );
}
const out = 'bench-results/finetune-throughput.json';
writeFileAtomicSync(
  out,
  reportJson({
    benchmark: 'finetune-throughput',
    machine: machine(),
    backend: 'wasm',
    imgSize: img,
    batch,
    runs,
    warmup: WARMUP,
    torch: torchNote,
    rows,
    headOverForward: { imgSize: ratioImg, batch: ratioBatch, results: ratios },
  }),
);
console.log(`wrote ${out}`);
