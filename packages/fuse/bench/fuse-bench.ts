/**
 * Folding speed against the memory-bandwidth floor: fold every block of a
 * full-size train-form parameter set, and in the same process copy the same
 * input bytes once with Float32Array.prototype.set. Both write into buffers
 * allocated up front, so the ratio compares like with like; the allocating
 * fold (what a one-off `reparameterize` call pays) is reported beside it.
 */
import { performance } from 'node:perf_hooks';
import { reportJson } from '@repnets/devkit';
import { type FoldEngine, setFoldEngine } from '../src/index.js';
import { writeFileAtomicSync } from '../src/io/node.js';
import { machineInfo as machine, summarize } from '../src/measure.js';
import { mobileoneS4, type ParamSet, repvggB3 } from './param-sets.js';

export interface FuseBenchOptions {
  readonly runs?: number;
  readonly warmup?: number;
  /** Shrinks every channel count (smoke runs); 1 is the real network. */
  readonly divisor?: number;
  readonly out?: string;
  /** Engines to measure; the first is the default ('simd' where available). */
  readonly engines?: readonly FoldEngine[];
  readonly log?: (line: string) => void;
}

export interface FuseBenchRow {
  readonly model: string;
  readonly layout: string;
  readonly engine: FoldEngine;
  readonly params: number;
  readonly deployParams: number;
  readonly blocks: number;
  readonly foldMs: number;
  readonly foldP10Ms: number;
  readonly foldP90Ms: number;
  readonly copyMs: number;
  readonly copyP10Ms: number;
  readonly copyP90Ms: number;
  readonly ratio: number;
  readonly foldAllocMs: number;
  readonly foldGBps: number;
  readonly copyGBps: number;
}

function timeFold(set: ParamSet, allocate: boolean): number {
  const t0 = performance.now();
  for (const b of set.blocks) b.fold(allocate ? undefined : b.into);
  return performance.now() - t0;
}

/** Every input of every block with a destination of its size. */
type CopyPairs = readonly (readonly [Float32Array, Float32Array])[];

function timeCopy(pairs: CopyPairs): number {
  const t0 = performance.now();
  for (const [a, d] of pairs) d.set(a);
  return performance.now() - t0;
}

function measure(set: ParamSet, engine: FoldEngine, runs: number, warmup: number): FuseBenchRow {
  setFoldEngine(engine);
  const dst: CopyPairs = set.blocks.flatMap((b) =>
    b.inputs.map((a) => [a, new Float32Array(a.length)] as const),
  );
  // Touch every destination page once so neither side pays first-touch faults.
  timeCopy(dst);
  timeFold(set, false);
  for (let w = 0; w < warmup; w++) {
    timeFold(set, false);
    timeCopy(dst);
  }
  const fold: number[] = [];
  const copy: number[] = [];
  const alloc: number[] = [];
  // Interleaved, so drift on a shared machine hits both sides alike.
  for (let r = 0; r < runs; r++) {
    copy.push(timeCopy(dst));
    fold.push(timeFold(set, false));
    alloc.push(timeFold(set, true));
  }
  const f = summarize(fold);
  const c = summarize(copy);
  const a = summarize(alloc);
  const bytesFold = (set.trainParams + set.deployParams) * 4;
  const bytesCopy = set.trainParams * 4 * 2;
  return {
    model: set.model,
    layout: set.layout,
    engine,
    params: set.trainParams,
    deployParams: set.deployParams,
    blocks: set.blocks.length,
    foldMs: f.median,
    foldP10Ms: f.p10,
    foldP90Ms: f.p90,
    copyMs: c.median,
    copyP10Ms: c.p10,
    copyP90Ms: c.p90,
    ratio: f.median / c.median,
    foldAllocMs: a.median,
    foldGBps: bytesFold / (f.median * 1e6),
    copyGBps: bytesCopy / (c.median * 1e6),
  };
}

const fmt = (v: number, d = 1) => v.toFixed(d);

export function runFuseBench(opts: FuseBenchOptions = {}) {
  const runs = opts.runs ?? 10;
  const warmup = opts.warmup ?? 2;
  const divisor = opts.divisor ?? 1;
  const log = opts.log ?? console.log;
  const builders = [
    () => repvggB3('OIHW', divisor),
    () => repvggB3('TFJS', divisor),
    () => mobileoneS4('OIHW', divisor),
    () => mobileoneS4('TFJS', divisor),
  ];
  const rows: FuseBenchRow[] = [];
  const m = machine();
  log(
    `@repnets/fuse fold benchmark: ${m.cpu}, ${m.cores} cores, node ${m.node}; median of ${runs} runs after ${warmup} warm-up`,
  );
  log(
    'model         layout  engine  train params  blocks  fold ms (p10-p90)      copy ms (p10-p90)    ratio  fold alloc ms  fold GB/s  copy GB/s',
  );
  for (const build of builders) {
    let set: ParamSet | undefined = build();
    for (const engine of opts.engines ?? (['simd', 'js'] as const)) {
      const row = measure(set, engine, runs, warmup);
      rows.push(row);
      log(
        [
          row.model.padEnd(13),
          row.layout.padEnd(6),
          row.engine.padEnd(6),
          `${(row.params / 1e6).toFixed(2)}M`.padStart(12),
          String(row.blocks).padStart(6),
          `${fmt(row.foldMs)} (${fmt(row.foldP10Ms)}-${fmt(row.foldP90Ms)})`.padStart(22),
          `${fmt(row.copyMs)} (${fmt(row.copyP10Ms)}-${fmt(row.copyP90Ms)})`.padStart(20),
          fmt(row.ratio, 2).padStart(6),
          fmt(row.foldAllocMs).padStart(13),
          fmt(row.foldGBps, 2).padStart(9),
          fmt(row.copyGBps, 2).padStart(9),
        ].join('  '),
      );
    }
    set = undefined; // let the next set reuse the memory
  }
  setFoldEngine('auto');
  const report = {
    benchmark: 'fuse',
    description:
      'Fold every RepVGG-B3 / MobileOne-S4 block of a train-form parameter set into preallocated buffers vs copying the same input bytes once (Float32Array.prototype.set), same process, interleaved runs.',
    machine: m,
    runs,
    warmup,
    divisor,
    results: rows,
  };
  if (opts.out) {
    writeFileAtomicSync(opts.out, reportJson(report));
    log(`wrote ${opts.out}`);
  }
  return report;
}
