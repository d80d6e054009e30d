/**
 * npx tsx bench/import-export.ts [--model repvgg_b3 --out FILE]
 *
 * Pretrained weights in and out at full size (issue 22): a synthetic
 * train-form timm checkpoint of RepVGG-B3 (123M parameters, every branch, BN
 * statistics and counters) is written to a temporary safetensors file; then a
 * fresh process reads it (readFileSync + readSafetensors), imports it into the
 * train form (importStateDict: parse, build the zoo model, set every weight),
 * and writes it back (toStateDict + writeSafetensors + writeFileSync),
 * checking the bytes are the file's. Seconds per phase and the process's peak
 * RSS after each (VmHWM, a high-water mark), against
 * the file size; the baseline is the plain file read in the same process.
 * The measuring runs in a child process, so the generation's memory is not in
 * its peak.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { reportJson, scriptArgs } from '@repnets/devkit';
import {
  isArchitectureName,
  readSafetensors,
  type StateTensor,
  stateDictKeys,
  writeSafetensors,
} from '@repnets/fuse';
import { machineInfo as machine } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import { importStateDict, toStateDict } from '../src/index.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    model: { type: 'string', default: 'repvgg_b3' },
    out: { type: 'string', default: 'bench-results/import-export.json' },
    measure: { type: 'string' },
  },
});
const name = values.model;
if (!isArchitectureName(name)) {
  console.error(`import-export: --model '${name}' is no architecture name`);
  process.exit(2);
}

/** A seeded uniform stream (xorshift32), enough for weights nobody runs. */
function stream(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Every key of the timm train form with plausible values: fan-in kernels, BN statistics, counters. */
function syntheticCheckpoint(): Map<string, StateTensor> {
  const table = stateDictKeys('timm-repvgg', name);
  const r = stream(7);
  const sd = new Map<string, StateTensor>();
  for (const b of table.blocks) {
    for (const k of b.keys) {
      const n = k.shape.reduce((p, d) => p * d, 1);
      if (k.role.field === 'counter') {
        sd.set(k.key, { shape: k.shape, data: new Float64Array([1234]), dtype: 'I64' });
        continue;
      }
      const fanIn = k.shape.slice(1).reduce((p, d) => p * d, 1);
      const value = {
        kernel: () => (2 * r() - 1) * Math.sqrt(3 / fanIn),
        bias: () => 0.1 * (2 * r() - 1),
        gamma: () => 0.5 + r(),
        beta: () => 0.2 * (2 * r() - 1),
        mean: () => 0.2 * (2 * r() - 1),
        variance: () => 0.5 + r(),
      }[k.role.field];
      sd.set(k.key, { shape: k.shape, data: Float32Array.from({ length: n }, value) });
    }
  }
  const features = table.record.blocks.at(-1)!.outChannels;
  sd.set(`${table.classifier}.weight`, {
    shape: [1000, features],
    data: Float32Array.from({ length: 1000 * features }, () => (2 * r() - 1) / features),
  });
  sd.set(`${table.classifier}.bias`, { shape: [1000], data: new Float32Array(1000) });
  return sd;
}

const mib = (bytes: number) => bytes / 2 ** 20;
/**
 * The process's peak RSS, MiB: Linux's VmHWM (the high-water mark of this
 * program's memory since it started). getrusage's maxRSS would not do in the
 * child: Linux carries the parent's high-water mark over fork and exec.
 */
function peakMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

interface Phase {
  readonly phase: string;
  readonly seconds: number;
  /** Peak RSS of the process once this phase is done, MiB. */
  readonly peakRssMiB: number;
}

/** The child: reads, imports, exports and writes the file, timing each phase. */
async function measure(file: string): Promise<void> {
  await tf.ready();
  const phases: Phase[] = [];
  const start = { rssMiB: peakMiB() };
  const timed = <T>(phase: string, f: () => T): T => {
    const t0 = performance.now();
    const v = f();
    phases.push({ phase, seconds: (performance.now() - t0) / 1000, peakRssMiB: peakMiB() });
    return v;
  };
  const bytes = timed('readFileSync', () => readFileSync(file));
  const tensors = timed('readSafetensors', () => readSafetensors(bytes).tensors);
  const imported = timed('importStateDict (train form)', () => importStateDict(tensors));
  const params = imported.model.countParams();
  const sd = timed('toStateDict', () =>
    toStateDict(imported.model, { layout: 'timm', counters: imported.counters }),
  );
  const written = timed('writeSafetensors', () => writeSafetensors(sd));
  const out = `${file}.out`;
  timed('writeFileSync', () => writeFileSync(out, written));
  const identical = Buffer.compare(written, bytes) === 0;
  rmSync(out);
  process.stdout.write(
    `${JSON.stringify({ fileBytes: bytes.length, params, identical, startPeakRssMiB: start.rssMiB, phases })}\n`,
  );
}

if (values.measure !== undefined) {
  await measure(values.measure);
} else {
  await tf.ready();
  const dir = mkdtempSync(join(tmpdir(), 'repnets-import-export-'));
  const file = join(dir, `${name}.safetensors`);
  try {
    const t0 = performance.now();
    writeFileSync(file, writeSafetensors(syntheticCheckpoint()));
    const made = (performance.now() - t0) / 1000;
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--model', name, '--measure', file],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    if (child.status !== 0) {
      console.error(`import-export: the measuring process failed:\n${child.stderr}`);
      process.exit(1);
    }
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    const r = JSON.parse(line) as {
      fileBytes: number;
      params: number;
      identical: boolean;
      startPeakRssMiB: number;
      phases: Phase[];
    };
    const m = machine();
    const read = r.phases[0]!.seconds;
    console.log(
      `@repnets/blocks import-export: ${name} (${(r.params / 1e6).toFixed(1)}M weights in train form, BN statistics included), timm layout, file ${mib(r.fileBytes).toFixed(0)} MiB; ${m.cpu}, ${m.cores} cores, node ${m.node}, TF.js ${tf.getBackend()} backend; one run in a fresh process (peak RSS at start ${r.startPeakRssMiB.toFixed(0)} MiB); generated in ${made.toFixed(1)} s`,
    );
    console.log(
      `${'phase'.padEnd(30)}${'seconds'.padStart(9)}${'x read'.padStart(9)}${'peak RSS MiB'.padStart(14)}${'x file'.padStart(8)}${'above start x file'.padStart(20)}`,
    );
    for (const p of r.phases) {
      console.log(
        `${p.phase.padEnd(30)}${p.seconds.toFixed(2).padStart(9)}${(p.seconds / read).toFixed(1).padStart(9)}${p.peakRssMiB.toFixed(0).padStart(14)}${(p.peakRssMiB / mib(r.fileBytes)).toFixed(2).padStart(8)}${((p.peakRssMiB - r.startPeakRssMiB) / mib(r.fileBytes)).toFixed(2).padStart(20)}`,
      );
    }
    const sum = (from: number, to: number) =>
      r.phases.slice(from, to).reduce((s, p) => s + p.seconds, 0);
    const importSeconds = sum(0, 3);
    const exportSeconds = sum(3, 6);
    console.log(
      `import (read + parse + build + set): ${importSeconds.toFixed(2)} s; export (toStateDict + serialize + write): ${exportSeconds.toFixed(2)} s; written file identical to the input: ${r.identical}`,
    );
    writeFileAtomicSync(
      values.out,
      reportJson({
        benchmark: 'blocks-import-export',
        description:
          'Synthetic train-form timm checkpoint of the model: readFileSync, readSafetensors, importStateDict (train form), toStateDict, writeSafetensors, writeFileSync in a fresh process; seconds per phase, peak RSS (VmHWM high-water mark) after each, against the file size and the plain read.',
        machine: m,
        backend: tf.getBackend(),
        model: name,
        params: r.params,
        fileBytes: r.fileBytes,
        startPeakRssMiB: r.startPeakRssMiB,
        phases: r.phases,
        importSeconds,
        exportSeconds,
        identical: r.identical,
      }),
    );
    if (!r.identical) {
      console.error('import-export: the written file differs from the input');
      process.exit(1);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
