/**
 * ONNX Runtime as a second runtime: both forms exported and timed in
 * onnxruntime-node next to TF.js, logits checked against TF.js, and the clear
 * error when onnxruntime-node is absent (simulated through the loader seam).
 */
import { createRequire } from 'node:module';
import { createModel, reparameterize } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartSpec } from '../src/chart.js';
import {
  type BenchReport,
  compareFormsOnnx,
  onnxRuntimeAvailable,
  reportMarkdown,
  reportTable,
  runBenchmark,
} from '../src/index.js';
import { ORT_MISSING, ortLoader } from '../src/onnx-runtime.js';
import { randomizeBatchNorm, useWasm } from './helpers/models.js';

const ortVersion = (
  createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }
).version;

let trainModel: tf.LayersModel;
let deployModel: tf.LayersModel;
let report: BenchReport;

beforeAll(async () => {
  await useWasm();
  trainModel = createModel('simplenet', {
    widthMultipliers: [0.25, 0.25],
    inputSize: 16,
    numClasses: 3,
  });
  randomizeBatchNorm(trainModel);
  deployModel = (await reparameterize(trainModel)).model;
  report = await runBenchmark(trainModel, deployModel, {
    warmup: 1,
    runtimes: ['tfjs', 'onnxruntime'],
    onnxruntime: { threads: [1, 2] },
  });
});
afterAll(() => {
  trainModel.dispose();
  deployModel.dispose();
});

describe('runtimes in runBenchmark', () => {
  it('has a tfjs group mirroring the report and one ORT group per thread count', () => {
    expect(onnxRuntimeAvailable()).toBe(true);
    const groups = report.runtimes!;
    expect(groups.map((g) => [g.runtime, g.threads])).toEqual([
      ['tfjs', 1],
      ['onnxruntime', 1],
      ['onnxruntime', 2],
    ]);
    const [t, one, two] = groups as [(typeof groups)[0], (typeof groups)[0], (typeof groups)[0]];
    expect(t).toMatchObject({
      version: tf.version.tfjs,
      backend: 'wasm',
      speedup: report.speedup,
      train: {
        median: report.train.medianInferenceMs,
        p10: report.train.p10Ms,
        p90: report.train.p90Ms,
        mean: report.train.meanInferenceMs,
      },
      deploy: { median: report.deploy.medianInferenceMs },
    });
    for (const g of [one, two]) {
      expect(g).toMatchObject({ version: ortVersion, backend: 'cpu' });
      expect(g.threadsNote).toMatch(`intraOpNumThreads: ${g.threads}`);
      for (const f of [g.train, g.deploy]) {
        expect(f.median).toBeGreaterThan(0);
        expect(f.p10).toBeLessThanOrEqual(f.median);
        expect(f.p90).toBeGreaterThanOrEqual(f.median);
        expect(Number.isFinite(f.mean)).toBe(true);
      }
      expect(g.speedup).toBeCloseTo(g.train.median / g.deploy.median, 12);
      // ORT's logits of both forms agree with TF.js's on the timed batch.
      expect(g.maxRelLogitDiff).toBeLessThan(1e-4);
      expect(g.maxAbsLogitDiff).toBeGreaterThanOrEqual(0);
    }
    expect(JSON.parse(JSON.stringify(report)).runtimes).toHaveLength(3);
  });

  it('table, Markdown and chart show one group per runtime with version and threads', () => {
    const table = reportTable(report);
    expect(table).toMatch(/runtime\s+version\s+backend \/ EP\s+threads/);
    expect(table).toMatch(
      new RegExp(`onnxruntime\\s+${ortVersion.replace(/\./g, '\\.')}\\s+cpu\\s+2`),
    );
    expect(table).toMatch(/tfjs\s+4\.22\.0\s+wasm\s+1/);
    expect(table).toMatch(/intraOpNumThreads: 1/);
    const md = reportMarkdown(report);
    expect(md).toMatch('## Runtimes');
    expect(md).toMatch(`| onnxruntime | ${ortVersion} | cpu | 1 | train form |`);
    const spec = chartSpec(report) as { hconcat: { title: string }[] };
    expect(spec.hconcat.at(-1)!.title).toMatch(/by runtime/);
    expect(JSON.stringify(spec)).toMatch(/"runtime":"ORT, 2 thr"/);
  });

  it('leaves runtimes out unless asked, and lists only the runtimes asked for', async () => {
    const plain = await runBenchmark(trainModel, deployModel, { warmup: 0 });
    expect(plain.runtimes).toBeUndefined();
    expect(reportTable(plain)).not.toMatch(/runtime/);
    const groups = await compareFormsOnnx(trainModel, deployModel, { warmup: 0, threads: [1] });
    expect(groups.map((g) => g.runtime)).toEqual(['onnxruntime']);
  });
});

describe('without onnxruntime-node', () => {
  const notFound = (id: string) =>
    Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
  const absent = ortLoader({
    require: (id) => {
      throw notFound(id);
    },
    import: (id) => Promise.reject(notFound(id)),
  });

  it('says how to install it', async () => {
    expect(ORT_MISSING).toMatch(
      'install it with ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node',
    );
    await expect(absent()).rejects.toThrow(ORT_MISSING);
    await expect(
      runBenchmark(trainModel, deployModel, {
        warmup: 0,
        runtimes: ['onnxruntime'],
        onnxruntime: { loader: absent },
      }),
    ).rejects.toThrow(/ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node/);
  });

  it('other load failures keep their cause', async () => {
    const broken = ortLoader({
      require: () => ({ version: '9.9.9' }),
      import: () => Promise.reject(new Error('bad ELF header')),
    });
    await expect(broken()).rejects.toThrow(/onnxruntime-node failed to load: bad ELF header/);
  });
});
