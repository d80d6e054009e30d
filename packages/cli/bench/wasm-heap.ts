/**
 * Measures what WASM_HEAP_OVERHEAD (src/backend-limits.ts) stands for: how
 * far the wasm heap really grows in one training step (and the evaluation
 * after it) over `estimateMemory`'s count, near the heap's limit. Each case
 * runs in a child process, since a step past the limit aborts the wasm module.
 *
 *   npx tsx bench/wasm-heap.ts [model:size:batch ...]
 *
 * Prints a table and writes bench-results/wasm-heap.json. The heap's size is
 * its high-water mark (a wasm memory never shrinks), rounded up by emscripten's
 * growth policy (at most 96 MiB past a request), so the ratio is an upper
 * bound of what the step needed.
 */
import { execFileSync } from 'node:child_process';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { reportJson } from '@repnets/devkit';
import { machineInfo as machine } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import { WASM_HEAP_MAX_BYTES, WASM_HEAP_OVERHEAD } from '../src/backend-limits.js';

interface Row {
  readonly model: string;
  readonly size: number;
  readonly batch: number;
  readonly estimateBytes: number;
  readonly heapBytes?: number;
  readonly ratio?: number;
  readonly seconds?: number;
  readonly failed?: string;
}

const CHILD = `
import * as tf from '@tensorflow/tfjs';
import { createModel } from '@repnets/blocks';
import { estimateMemory } from '@repnets/fuse';
import { namedDataset, recipeFor, selectBackend, train } from '@repnets/train';
import { trainNetworkAt } from ${JSON.stringify(join(import.meta.dirname, '..', 'src', 'memory-check.ts'))};
const [model, size, batch] = [process.env.MODEL, Number(process.env.SIZE), Number(process.env.BATCH)];
const estimate = estimateMemory(trainNetworkAt(model, 'mnist', size), { batch, purpose: 'train' }).bytes;
console.log(JSON.stringify({ estimate }));
await selectBackend('wasm');
const data = await namedDataset({ dataset: 'mnist', imgSize: size, seed: 0, trainSize: batch, testSize: batch });
const recipe = recipeFor(model, data, { dataset: 'mnist', batchSize: batch, epochs: 1 });
const net = createModel(recipe.model, recipe.modelOptions);
const t0 = performance.now();
const r = await train(net, { train: data.train, test: data.test }, { ...recipe.train, workers: 1, progress: 'none' });
const loss = r.history.at(-1)?.trainLoss;
if (!Number.isFinite(loss)) throw new Error('non-finite loss ' + loss);
console.log(JSON.stringify({ heap: tf.backend().wasm.HEAPU8.buffer.byteLength, seconds: (performance.now() - t0) / 1000 }));
`;

function measure(model: string, size: number, batch: number): Row {
  let out = '';
  let failed: string | undefined;
  try {
    out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, MODEL: model, SIZE: String(size), BATCH: String(batch) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 600_000,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    out = err.stdout ?? '';
    // The error's own line (the wasm module prints its minified source above it).
    failed =
      (err.stderr ?? '')
        .split('\n')
        .reverse()
        .find((l) => /^[A-Za-z]*Error\b/.test(l))
        ?.slice(0, 120) ?? 'failed';
  }
  const lines = out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { estimate?: number; heap?: number; seconds?: number });
  const estimateBytes = lines.find((l) => l.estimate !== undefined)?.estimate ?? Number.NaN;
  const done = lines.find((l) => l.heap !== undefined);
  if (failed || !done) return { model, size, batch, estimateBytes, failed: failed ?? 'no result' };
  return {
    model,
    size,
    batch,
    estimateBytes,
    heapBytes: done.heap!,
    ratio: done.heap! / estimateBytes,
    seconds: done.seconds!,
  };
}

// Near the limit: each grows the heap to 3.5-4.3 GB (2026-12-07 measurements in backend-limits.ts).
const DEFAULT_CASES = [
  'repvgg_compact:880:8',
  'repvgg_a0:480:8',
  'repvgg_b1g4:224:8',
  'mobileone_s0:256:8',
];
const cases = (process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_CASES).map((c) => {
  const [model, size, batch] = c.split(':');
  if (!model || !Number(size) || !Number(batch))
    throw new Error(`expected model:size:batch, got '${c}'`);
  return [model, Number(size), Number(batch)] as const;
});

const rows: Row[] = [];
console.log('model             size batch  est. GB  heap GB   ratio       s');
for (const [model, size, batch] of cases) {
  const row = measure(model, size, batch);
  rows.push(row);
  const gb = (b: number | undefined) => (b === undefined ? '-' : (b / 1e9).toFixed(3));
  console.log(
    [
      model.padEnd(16),
      String(size).padStart(5),
      String(batch).padStart(5),
      gb(row.estimateBytes).padStart(9),
      gb(row.heapBytes).padStart(9),
      (row.ratio?.toFixed(3) ?? '-').padStart(7),
      (row.seconds?.toFixed(1) ?? '-').padStart(7),
      row.failed ?? '',
    ].join(' '),
  );
}
const worst = Math.max(...rows.flatMap((r) => (r.ratio === undefined ? [] : [r.ratio])));
console.log(
  `wasm, 1 worker, MNIST at the size given; heap limit ${WASM_HEAP_MAX_BYTES} bytes; ` +
    `largest heap/estimate ${worst.toFixed(3)} against WASM_HEAP_OVERHEAD ${WASM_HEAP_OVERHEAD}`,
);
writeFileAtomicSync(
  join('bench-results', 'wasm-heap.json'),
  reportJson({
    machine: { ...machine(), memory: totalmem() },
    heapLimit: WASM_HEAP_MAX_BYTES,
    overhead: WASM_HEAP_OVERHEAD,
    rows,
  }),
);
