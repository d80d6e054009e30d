/**
 * pnpm --filter @repnets/blocks bench:onnx [-- --runs N --warmup N --models a,b --out FILE]
 *
 * Deploy-form latency of the exported ONNX model in onnxruntime-node (CPU EP,
 * default threads and one thread) against the same model in TF.js wasm, in one
 * process, interleaved: warm-up, then median and p10/p90. Batch 1, 224x224x3,
 * 1000 classes (the published ImageNet networks). Also checks the logits agree.
 */
import { parseArgs } from 'node:util';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine, summarize } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import { createModel, reparameterize, type ZooName } from '../src/index.js';
import { exportOnnx } from '../src/onnx/index.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    models: { type: 'string', default: 'repvgg_a0,mobileone_s0' },
    out: { type: 'string', default: 'bench-results/onnx.json' },
  },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);
if (!Number.isInteger(runs) || runs < 10 || !Number.isInteger(warmup) || warmup < 0) {
  console.error(
    `bench:onnx: --runs must be >= 10 and --warmup >= 0, got ${values.runs} and ${values.warmup}`,
  );
  process.exit(2);
}

const SIZE = 224;
const BATCH = 1;

interface Runner {
  readonly name: string;
  readonly threads: string;
  run(): Promise<Float32Array>;
  release(): Promise<void>;
}

async function ortRunner(
  bytes: Uint8Array,
  x: Float32Array,
  name: string,
  threads?: number,
): Promise<Runner> {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
  });
  const [input] = session.inputNames;
  const [out] = session.outputNames;
  if (input === undefined || out === undefined)
    throw new Error(`${name}: the ONNX model has no input or no output`);
  const feeds = { [input]: new ort.Tensor('float32', x, [BATCH, SIZE, SIZE, 3]) };
  return {
    name,
    threads: threads ? String(threads) : 'default',
    run: async () => (await session.run(feeds))[out]!.data as Float32Array,
    release: () => session.release(),
  };
}

function tfRunner(model: tf.LayersModel, x: tf.Tensor): Runner {
  return {
    name: `tfjs-${tf.getBackend()}`,
    threads: '1',
    run: async () => {
      const y = model.predict(x) as tf.Tensor;
      const d = (await y.data()) as Float32Array;
      y.dispose();
      return d;
    },
    release: async () => {},
  };
}

function relDiff(a: Float32Array, ref: Float32Array): number {
  if (a.length !== ref.length)
    throw new Error(`${a.length} outputs, the reference has ${ref.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / scale;
}

await tf.setBackend('wasm');
await tf.ready();
const m = machine();
console.log(
  `@repnets/blocks ONNX latency: ${m.cpu}, ${m.cores} cores, node ${m.node}, onnxruntime-node ${ort.env.versions.node}, tfjs ${tf.version.tfjs}`,
);
console.log(
  `deploy form, batch ${BATCH}, ${SIZE}x${SIZE}x3, 1000 classes; median of ${runs} interleaved runs after ${warmup} warm-up`,
);
console.log(
  'model          runtime              threads   median ms  (p10-p90)        vs tfjs-wasm  max rel diff',
);

const results = [];
for (const model of values.models.split(',') as ZooName[]) {
  const train = createModel(model, { numClasses: 1000, inputSize: SIZE });
  const { model: deploy } = await reparameterize(train);
  train.dispose();
  const t0 = performance.now();
  const bytes = await exportOnnx(deploy);
  const exportMs = performance.now() - t0;
  const x = tf.randomNormal([BATCH, SIZE, SIZE, 3], 0, 1, 'float32', 1);
  const xData = (await x.data()) as Float32Array;
  const runners = [
    tfRunner(deploy, x),
    await ortRunner(bytes, xData, 'onnxruntime-node'),
    await ortRunner(bytes, xData, 'onnxruntime-node', 1),
  ];
  const ref = await runners[0]!.run();
  const diffs = await Promise.all(runners.map(async (r) => relDiff(await r.run(), ref)));
  for (let w = 0; w < warmup; w++) for (const r of runners) await r.run();
  const times = runners.map(() => [] as number[]);
  for (let k = 0; k < runs; k++) {
    for (const [j, r] of runners.entries()) {
      const s = performance.now();
      await r.run();
      times[j]!.push(performance.now() - s);
    }
  }
  const base = summarize(times[0]!).median;
  const rows = runners.map((r, j) => {
    const s = summarize(times[j]!);
    return {
      runtime: r.name,
      threads: r.threads,
      medianMs: s.median,
      p10Ms: s.p10,
      p90Ms: s.p90,
      speedupVsTfjsWasm: base / s.median,
      maxRelDiff: diffs[j]!,
    };
  });
  for (const r of rows) {
    console.log(
      [
        model.padEnd(13),
        r.runtime.padEnd(19),
        r.threads.padEnd(8),
        r.medianMs.toFixed(1).padStart(10),
        ` (${r.p10Ms.toFixed(1)}-${r.p90Ms.toFixed(1)})`.padEnd(16),
        `${r.speedupVsTfjsWasm.toFixed(2)}x`.padStart(12),
        r.maxRelDiff.toExponential(1).padStart(13),
      ].join('  '),
    );
  }
  results.push({
    model,
    form: 'deploy',
    batch: BATCH,
    size: SIZE,
    numClasses: 1000,
    onnxBytes: bytes.length,
    exportMs,
    params: deploy.countParams(),
    rows,
  });
  for (const r of runners) await r.release();
  x.dispose();
  deploy.dispose();
}

writeFileAtomicSync(
  values.out,
  reportJson({
    benchmark: 'blocks-onnx',
    description:
      'Deploy-form inference latency: exported ONNX in onnxruntime-node (CPU EP; default threads and 1 thread) vs TF.js wasm (XNNPACK, 1 thread), same process, interleaved runs. Speed-up = tfjs-wasm median / runtime median.',
    machine: m,
    versions: { onnxruntimeNode: ort.env.versions.node, tfjs: tf.version.tfjs },
    runs,
    warmup,
    results,
  }),
);
console.log(`wrote ${values.out}`);
