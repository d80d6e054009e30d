/**
 * cd packages/train && npx tsx bench/wasm-threads/probe.ts [--runs N --blocks B --warmup W --out FILE]
 *
 * Can tfjs-backend-wasm 4.22's threaded SIMD build run in Node with more than
 * one thread, and does it beat the single-threaded SIMD build TF.js uses there?
 *
 * One process: the main thread runs the threaded build (threaded-backend.ts) as
 * the 'wasm' backend at 1 and 2 XNNPACK threads (the pool is swapped in place);
 * a worker thread runs the package's stock 'wasm' backend (SIMD, 1 thread).
 * Timings interleave in blocks (config order ABBA across blocks), and each
 * config's CPU use and the CPU taken by other processes meanwhile are recorded
 * (/proc/stat), because other work shares these 2 cores. Then: outputs of the
 * three configs compared, one training step (tf.variableGrads over a small conv
 * net with RepNets' wasm training kernels) compared against the stock build,
 * with our SIMD heap kernels both off (what happens on a shared heap today) and
 * on (through the probe's shared-memory import shim). Exits without
 * process.exit: every pthread worker and the worker thread are terminated.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { ZooName } from '@repnets/blocks';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine, summarize } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import { assembleModule } from '@repnets/fuse/wasm-asm';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/engine/wasm/register.js';
import {
  setWasmTrainingSimd,
  wasmTrainingSimdActive,
} from '../../src/engine/wasm/simd-heap-kernels.js';
import {
  compareArrays,
  makeTrainData,
  OPS,
  opFlops,
  type PreparedOp,
  prepareOp,
  prepareStep,
  type TrainResult,
  trainStep,
} from './common.js';
import { installSharedMemoryImports } from './shared-import.js';
import type { Request } from './st-worker.js';
import { installThreadedWasm, stockThreadCounts } from './threaded-backend.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    runs: { type: 'string', default: '16' },
    blocks: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '2' },
    'quiet-wait': { type: 'string', default: '0' },
    'step-model': { type: 'string', default: 'repvgg_a0' },
    'step-runs': { type: 'string', default: '6' },
    'step-batch': { type: 'string', default: '32' },
    out: { type: 'string', default: 'bench-results/wasm-threads.json' },
  },
});
const blocks = Number(values.blocks);
const reps = Math.ceil(Number(values.runs) / blocks);
const warmup = Number(values.warmup);
// Each switch back to 2 threads takes one of the 8 pre-started pthread
// workers: one at start, one after warm-up, one every other block (ABBA
// order), two for the output and training checks.
if (blocks > 8) throw new Error('--blocks at most 8');

// ---------------------------------------------------------------- CPU meter

/** Busy jiffies of the whole machine (all CPUs), or null off Linux. */
function machineBusySeconds(): number | null {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1);
    const v = f.map(Number);
    const idle = v[3]! + (v[4] ?? 0);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) / 100; // USER_HZ = 100 on Linux
  } catch {
    return null;
  }
}

interface CpuTally {
  wall: number;
  ours: number;
  machine: number | null;
}
const tally = (): CpuTally => ({ wall: 0, ours: 0, machine: 0 });
async function metered<T>(t: CpuTally, f: () => Promise<T> | T): Promise<T> {
  const m0 = machineBusySeconds();
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const r = await f();
  t.wall += (performance.now() - w0) / 1000;
  const c = process.cpuUsage(c0);
  t.ours += (c.user + c.system) / 1e6;
  const m1 = machineBusySeconds();
  t.machine = m0 === null || m1 === null || t.machine === null ? null : t.machine + (m1 - m0);
  return r;
}
const cores = (t: CpuTally) => ({
  ours: t.ours / t.wall,
  others: t.machine === null ? null : Math.max(0, (t.machine - t.ours) / t.wall),
});

/** Cores' worth of CPU that other processes used over the next `seconds`. */
async function othersLoad(seconds: number): Promise<number | null> {
  const t = tally();
  await metered(t, () => new Promise((r) => setTimeout(r, seconds * 1000)));
  return cores(t).others;
}

/** Waits up to `limit` seconds for other processes to use less than a quarter core. */
async function waitQuiet(limit: number) {
  const start = performance.now();
  let load = await othersLoad(1);
  while (load !== null && load > 0.25 && (performance.now() - start) / 1000 < limit) {
    load = await othersLoad(2);
  }
  return { waitedS: (performance.now() - start) / 1000, othersCores: load };
}

// ------------------------------------------------------- single-threaded side

const worker = new Worker(new URL('./st-worker.mjs', import.meta.url));
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let nextId = 1;
const ready = new Promise<void>((resolve, reject) => {
  worker.on('message', (m: { ready?: true; id?: number; result?: unknown; error?: string }) => {
    if (m.ready) return resolve();
    const p = pending.get(m.id!);
    pending.delete(m.id!);
    if (m.error !== undefined) p?.reject(new Error(`worker: ${m.error}`));
    else p?.resolve(m.result);
  });
  worker.on('error', reject);
});
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;
type Body = WithoutId<Request>;
function ask<T>(body: Body): Promise<T> {
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker.postMessage({ ...body, id });
  });
}

// ----------------------------------------------------------------- the probe

const loadBefore = loadavg();
const stockFlag = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
const stockCounts = await stockThreadCounts();
await ready;
const stInfo = await ask<Record<string, unknown>>({ cmd: 'info' });

registerWasmTrainingKernels();
const t0 = performance.now();
const mt = await installThreadedWasm(2);
const initMs = performance.now() - t0;
const memory = mt.module.wasmMemory;
const mtInfo = {
  backend: tf.getBackend(),
  threads: mt.threads(),
  sharedHeap: memory.buffer instanceof SharedArrayBuffer,
  pthreadWorkers: mt.module.PThread.unusedWorkers.length + mt.module.PThread.runningWorkers.length,
  initMs,
};

// Our heap modules against the shared heap: as wasm-asm declares the import.
const nop = { name: 'nop', params: [], results: [], locals: [], body: [] };
type WasmCtor = {
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => object;
};
const W = (globalThis as unknown as { WebAssembly: WasmCtor }).WebAssembly;
let heapImportError = 'none';
try {
  new W.Instance(new W.Module(assembleModule([nop], 'import')), { env: { memory } });
} catch (e) {
  heapImportError = String(e);
}
const restoreModule = installSharedMemoryImports();
let heapImportWithShim = 'ok';
try {
  new W.Instance(new W.Module(assembleModule([nop], 'import')), { env: { memory } });
} catch (e) {
  heapImportWithShim = String(e);
}
restoreModule();

// ------------------------------------------------------------- benchmarks

type Config = 'st' | 'mt1' | 'mt2';
const CONFIGS: Config[] = ['st', 'mt1', 'mt2'];
const LABEL: Record<Config, string> = {
  st: 'stock SIMD build, 1 thread (worker thread)',
  mt1: 'threaded SIMD build, 1 thread',
  mt2: 'threaded SIMD build, 2 threads',
};
const mainOps: PreparedOp[] = OPS.map((s) => prepareOp(tf, s));
const times: Record<Config, number[][]> = { st: [], mt1: [], mt2: [] };
const cpu: Record<Config, CpuTally[]> = { st: [], mt1: [], mt2: [] };
for (const c of CONFIGS) {
  times[c] = OPS.map(() => []);
  cpu[c] = OPS.map(() => tally());
}
let poolSwaps = 0;
function useThreads(c: Config) {
  const n = c === 'mt2' ? 2 : 1;
  if (mt.threads() === n) return;
  mt.setThreads(n);
  poolSwaps++;
}
async function runConfig(c: Config, n: number, record: boolean) {
  if (c !== 'st') useThreads(c);
  for (let i = 0; i < OPS.length; i++) {
    const sample = async () =>
      c === 'st'
        ? ask<number[]>({ cmd: 'time', op: i, reps: n })
        : Array.from({ length: n }, () => mainOps[i]!.time());
    if (!record) {
      await sample();
      continue;
    }
    const ts = await metered(cpu[c][i]!, sample);
    times[c][i]!.push(...ts);
  }
}

for (const c of CONFIGS) await runConfig(c, warmup, false);
const quiet = await waitQuiet(Number(values['quiet-wait']));
for (let b = 0; b < blocks; b++) {
  const order = b % 2 === 0 ? CONFIGS : [...CONFIGS].reverse();
  for (const c of order) await runConfig(c, reps, true);
}

// ---------------------------------------------------- outputs and training

const refs: Float32Array[] = [];
for (let i = 0; i < OPS.length; i++) refs.push(await ask<Float32Array>({ cmd: 'output', op: i }));
useThreads('mt2');
const vs2 = mainOps.map((p, i) => compareArrays(p.output(), refs[i]!));
useThreads('mt1');
const vs1 = mainOps.map((p, i) => compareArrays(p.output(), refs[i]!));
const outputs = OPS.map((s, i) => ({ op: s.id, mt1VsSt: vs1[i]!, mt2VsSt: vs2[i]! }));
for (const p of mainOps) p.dispose();

const data = makeTrainData();
const stTrain = await ask<TrainResult>({ cmd: 'train', data });
function compareTrain(r: TrainResult) {
  const grads = Object.fromEntries(
    Object.keys(stTrain.grads).map((k) => [k, compareArrays(r.grads[k]!, stTrain.grads[k]!)]),
  );
  const worstRel = Math.max(...Object.values(grads).map((g) => g.maxRel));
  const bitwise = Object.values(grads).every((g) => g.differing === 0) && r.loss === stTrain.loss;
  return { loss: r.loss, lossDiff: r.loss - stTrain.loss, worstGradRel: worstRel, bitwise, grads };
}
const training: Record<string, unknown> = { stLoss: stTrain.loss };
// Today's behaviour on a shared heap: the heap modules fail to link and the
// kernels run their JS loops; setWasmTrainingSimd(false) selects those loops
// without caching a failed module for this memory.
setWasmTrainingSimd(false);
training.mt1JsLoops = {
  simd: wasmTrainingSimdActive(tf.backend()),
  ...compareTrain(trainStep(tf, data)),
};
useThreads('mt2');
training.mt2JsLoops = {
  simd: wasmTrainingSimdActive(tf.backend()),
  ...compareTrain(trainStep(tf, data)),
};
// With the shim, the heap modules declare a shared import and link.
setWasmTrainingSimd(true);
const restore2 = installSharedMemoryImports();
const simdWithShim = wasmTrainingSimdActive(tf.backend());
training.mt2SimdShim = { simd: simdWithShim, ...compareTrain(trainStep(tf, data)) };
training.stSimd = stInfo.trainingSimd;

// A full training step of a zoo model: stock build vs threaded build at 2
// threads (SIMD heap kernels on, through the shim), interleaved.
const stepModel = values['step-model'] as ZooName | 'none';
const stepBatch = Number(values['step-batch']);
let step: Record<string, unknown> | null = null;
if (stepModel !== 'none') {
  const runs = Number(values['step-runs']);
  const mtStep = prepareStep(tf, stepModel, stepBatch);
  const stepTimes: Record<'st' | 'mt2', number[]> = { st: [], mt2: [] };
  const stepCpu = { st: tally(), mt2: tally() };
  await ask<number[]>({ cmd: 'step', model: stepModel, batch: stepBatch, reps: 1 });
  await mtStep.time();
  for (let r = 0; r < runs; r++) {
    for (const c of r % 2 === 0 ? (['st', 'mt2'] as const) : (['mt2', 'st'] as const)) {
      const ms = await metered(stepCpu[c], () =>
        c === 'st'
          ? ask<number[]>({ cmd: 'step', model: stepModel, batch: stepBatch, reps: 1 })
          : mtStep.time().then((t) => [t]),
      );
      stepTimes[c].push(...ms);
    }
  }
  mtStep.dispose();
  const st = summarize(stepTimes.st);
  const mt2 = summarize(stepTimes.mt2);
  step = {
    model: stepModel,
    batch: stepBatch,
    runs,
    st: { ms: st, imgPerS: (1000 * stepBatch) / st.median, cores: cores(stepCpu.st) },
    mt2: { ms: mt2, imgPerS: (1000 * stepBatch) / mt2.median, cores: cores(stepCpu.mt2) },
    speedup: st.median / mt2.median,
  };
}
restore2();

// ----------------------------------------------------------------- report

const results = OPS.map((s, i) => {
  const base = summarize(times.st[i]!).median;
  return {
    op: s.id,
    gflop: opFlops(s) / 1e9,
    configs: Object.fromEntries(
      CONFIGS.map((c) => {
        const sum = summarize(times[c][i]!);
        return [
          c,
          {
            label: LABEL[c],
            n: times[c][i]!.length,
            ms: sum,
            gflops: opFlops(s) / (sum.median * 1e6),
            speedupVsSt: base / sum.median,
            cores: cores(cpu[c][i]!),
          },
        ];
      }),
    ),
  };
});

const m = machine();
console.log(
  `\nwasm threads probe: ${m.cpu}, ${m.cores} CPUs, node ${m.node}, ${m.platform}; ` +
    `load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
);
console.log(
  `stock: WASM_HAS_MULTITHREAD_SUPPORT=${stockFlag} in Node; threaded build with ` +
    `os.cpus()=${stockCounts.osCpus}: threads for request -1/2/8 = ` +
    `${Object.values(stockCounts.requested).join('/')}`,
);
console.log(
  `threaded build: ${mtInfo.threads} threads, shared heap ${mtInfo.sharedHeap}, ` +
    `${mtInfo.pthreadWorkers} pthread workers, init ${initMs.toFixed(0)} ms; ` +
    `stock worker: ${stInfo.backend}, ${stInfo.threads} thread, SIMD ${stInfo.simd}`,
);
console.log(
  `one process, interleaved: ${blocks} blocks x ${reps} runs per config and op ` +
    `(after ${warmup} warm-up), ABBA order; pool swaps ${poolSwaps}; other processes used ` +
    `${quiet.othersCores?.toFixed(2) ?? 'n/a'} cores just before (waited ${quiet.waitedS.toFixed(0)} s)\n`,
);
const pad = (s: string, n: number) => s.padEnd(n);
const num = (v: number, d = 1) => v.toFixed(d).padStart(7);
console.log(
  `${pad('op', 34)}${pad('config', 46)}    n  median     p10     p90  GFLOP/s  vs st  ` +
    `our cores  others`,
);
for (const r of results) {
  for (const c of CONFIGS) {
    const v = r.configs[c]!;
    const others = v.cores.others === null ? '    n/a' : num(v.cores.others, 2);
    console.log(
      `${pad(r.op, 34)}${pad(v.label, 46)}${String(v.n).padStart(5)} ${num(v.ms.median)} ` +
        `${num(v.ms.p10)} ${num(v.ms.p90)}  ${num(v.gflops)} ${num(v.speedupVsSt, 2)}  ` +
        `${num(v.cores.ours, 2)}    ${others}`,
    );
  }
}
console.log('\noutputs vs stock build (max |diff| relative to max |ref|):');
for (const o of outputs) {
  console.log(
    `  ${pad(o.op, 34)} 1 thread: ${o.mt1VsSt.maxRel.toExponential(2)} ` +
      `(${o.mt1VsSt.differing} differ)   2 threads: ${o.mt2VsSt.maxRel.toExponential(2)} ` +
      `(${o.mt2VsSt.differing} differ)`,
  );
}
console.log(`\nheap module importing the shared heap as wasm-asm declares it: ${heapImportError}`);
console.log(`with the shared-import shim: ${heapImportWithShim}`);
console.log(
  `training step vs stock build (loss ${stTrain.loss}, SIMD heap kernels ${stInfo.trainingSimd}):`,
);
for (const k of ['mt1JsLoops', 'mt2JsLoops', 'mt2SimdShim'] as const) {
  const t = training[k] as ReturnType<typeof compareTrain> & { simd: boolean };
  console.log(
    `  ${pad(k, 12)} SIMD heap kernels ${t.simd}, loss diff ${t.lossDiff.toExponential(2)}, ` +
      `worst grad rel diff ${t.worstGradRel.toExponential(2)}, bitwise ${t.bitwise}`,
  );
}

if (step) {
  const st = step.st as { ms: { median: number }; imgPerS: number };
  const mt2 = step.mt2 as { ms: { median: number }; imgPerS: number };
  console.log(
    `\ntraining step ${stepModel} cifar 32x32, batch ${stepBatch}, median of ${step.runs}: ` +
      `stock ${st.ms.median.toFixed(0)} ms (${st.imgPerS.toFixed(1)} img/s), threaded 2 threads ` +
      `${mt2.ms.median.toFixed(0)} ms (${mt2.imgPerS.toFixed(1)} img/s): x${(step.speedup as number).toFixed(2)}`,
  );
}

writeFileAtomicSync(
  values.out!,
  reportJson({
    machine: m,
    loadAverageBefore: loadBefore,
    loadAverageAfter: loadavg(),
    protocol: {
      process: 'one process: threaded build on the main thread, stock build in a worker thread',
      blocks,
      repsPerBlock: reps,
      warmup,
      order: 'ABBA across blocks',
      timing: 'around the op call; wasm kernels run synchronously; output disposed after',
      poolSwaps,
      quietBeforeStart: quiet,
    },
    stock: { multithreadFlag: stockFlag, threadCounts: stockCounts, worker: stInfo },
    threaded: mtInfo,
    heapModuleImport: { asDeclared: heapImportError, withShim: heapImportWithShim },
    results,
    samples: Object.fromEntries(CONFIGS.map((c) => [c, times[c]])),
    outputs,
    training,
    step,
  }),
);
console.log(`\nwrote ${values.out}`);

// ---------------------------------------------------------------- shutdown

await ask({ cmd: 'exit' });
await worker.terminate();
mt.dispose();
// Nothing should keep the loop alive now; say so if something does.
setTimeout(() => {
  console.error('probe: still running 10 s after shutdown:', process.getActiveResourcesInfo());
  process.exit(1);
}, 10_000).unref();
