/**
 * pnpm --filter @repnets/blocks bench [-- --runs N --warmup N --backends cpu,wasm --out FILE]
 * Train form (eval mode) vs deploy form latency of RepVGG-A0 and MobileOne-S0.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import { header, type LatencyCase, type LatencyRow, measureLatency } from './latency.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    runs: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    backends: { type: 'string', default: 'wasm,cpu' },
    models: { type: 'string', default: 'repvgg_a0,mobileone_s0' },
    out: { type: 'string', default: 'bench-results/latency.json' },
  },
});

const runs = Number(values.runs);
const warmup = Number(values.warmup);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) {
  console.error(
    `blocks bench: --runs must be >= 1 and --warmup >= 0, got ${values.runs} and ${values.warmup}`,
  );
  process.exit(2);
}
const cases: LatencyCase[] = values.models.split(',').flatMap((model) => [
  { model: model as LatencyCase['model'], size: 224, batch: 1 },
  { model: model as LatencyCase['model'], size: 32, batch: 32 },
]);

console.log(`${header()}; median of ${runs} interleaved runs after ${warmup} warm-up`);
console.log(
  'backend  model          input        train ms (p10-p90)     deploy ms (p10-p90)   speedup  layers  top deploy kernels',
);
const rows: LatencyRow[] = [];
const skipped: Record<string, string> = {};
for (const backend of values.backends.split(',')) {
  let ok = false;
  try {
    ok = await tf.setBackend(backend);
  } catch (e) {
    skipped[backend] = (e as Error).message;
  }
  if (!ok) {
    skipped[backend] ??= 'setBackend returned false';
    console.log(`${backend.padEnd(8)} skipped: ${skipped[backend]}`);
    continue;
  }
  await tf.ready();
  for (const c of cases) {
    const r = await measureLatency(c, runs, warmup);
    rows.push(r);
    const top = Object.entries(r.deployKernels)
      .slice(0, 3)
      .map(([k, ms]) => `${k} ${ms.toFixed(1)}`)
      .join(', ');
    console.log(
      [
        backend.padEnd(7),
        r.model.padEnd(13),
        `${r.batch}x${r.size}x${r.size}`.padEnd(11),
        `${r.trainMs.toFixed(1)} (${r.trainP10Ms.toFixed(1)}-${r.trainP90Ms.toFixed(1)})`.padStart(
          21,
        ),
        `${r.deployMs.toFixed(1)} (${r.deployP10Ms.toFixed(1)}-${r.deployP90Ms.toFixed(1)})`.padStart(
          21,
        ),
        `${r.speedup.toFixed(2)}x`.padStart(7),
        `${r.trainLayers}->${r.deployLayers}`.padStart(7),
        ` ${top}`,
      ].join('  '),
    );
  }
}
writeFileAtomicSync(
  values.out,
  reportJson({
    benchmark: 'blocks-latency',
    description:
      'Inference latency, train form (eval mode) vs deploy form, same process, interleaved runs. Kernel maps: one tf.profile run each.',
    machine: machine(),
    runs,
    warmup,
    skipped,
    results: rows,
  }),
);
console.log(`wrote ${values.out}`);
