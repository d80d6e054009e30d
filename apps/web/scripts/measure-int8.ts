/**
 * Issue 23, the browser half of "fp32 vs int8 in ONNX Runtime": the .onnx
 * files of @repnets/bench's int8-latency bench (the very same bytes it times
 * in onnxruntime-node) timed in onnxruntime-web's wasm execution provider in
 * headless Chromium, at each wasm thread count, all sessions interleaved.
 *
 *   pnpm --filter @repnets/bench bench:int8-latency -- --save-onnx ../../apps/web/test-output/int8-models
 *   pnpm --filter web measure-int8 [--onnx test-output/int8-models] [--models repvgg_a0,mobileone_s0]
 *     [--runs 20] [--warmup 3] [--threads 1,2]
 *
 * A bare page (no bundler): onnxruntime-web's wasm-only build and its SIMD
 * threaded binary copied next to the models, served cross-origin isolated
 * (threads need SharedArrayBuffer). onnxruntime-web's thread count is global to
 * a page, so each thread count gets its own tab; every round runs each
 * session of each tab once, on the round's image (timed in the page, from
 * run() to the logits read back). Agreement: int8 vs fp32 top-1 and largest
 * logit difference on those images. Then the demo's own pair, on data that
 * means something: the fp32 deploy form and its int8 copy (build/onnx-models.ts,
 * the files the page ships) classify every MNIST test digit of the split the
 * pair was trained on, in the same page. Prints a table and writes
 * bench-results/int8-latency-web.json.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { reportJson, rng, scriptArgs } from '@repnets/devkit';
import { machineInfo, summarize } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import { mnistDataset } from '@repnets/train';
import type { Page } from 'playwright-core';
import { exportPair } from '../build/onnx-models.js';
import { APP_DIR } from '../test/support/build-site.js';
import { chromiumMissing, launchChromium } from '../test/support/chromium.js';
import { serveStatic } from '../test/support/static-server.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    onnx: { type: 'string', default: join(APP_DIR, 'test-output', 'int8-models') },
    models: { type: 'string', default: 'repvgg_a0,mobileone_s0' },
    runs: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    images: { type: 'string', default: '4' },
    threads: { type: 'string', default: '1,2' },
    out: { type: 'string', default: join(APP_DIR, 'bench-results', 'int8-latency-web.json') },
  },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const imageCount = Number(values.images);
const threadCounts = values.threads.split(',').map(Number);
if (
  !(runs >= 10) ||
  ![warmup, imageCount].every((n) => Number.isInteger(n) && n >= 1) ||
  !threadCounts.every((n) => Number.isInteger(n) && n >= 1)
) {
  console.error(
    'measure-int8: --runs must be >= 10; --warmup, --images and each of --threads integers >= 1',
  );
  process.exit(2);
}
const missing = chromiumMissing();
if (missing) {
  console.error(`measure-int8: ${missing}`);
  process.exit(2);
}
const PRECISIONS = ['fp32', 'int8', 'int8-rr'] as const;
const models = values.models.split(',');
const onnxDir = resolve(values.onnx);
const keys = models.flatMap((m) => PRECISIONS.map((p) => `${m}.${p}`));
for (const k of keys) {
  if (!existsSync(join(onnxDir, `${k}.onnx`))) {
    console.error(
      `measure-int8: ${join(onnxDir, `${k}.onnx`)} is missing; write the models first with\n` +
        '  pnpm --filter @repnets/bench bench:int8-latency -- --save-onnx ../../apps/web/test-output/int8-models',
    );
    process.exit(2);
  }
}

const SIZE = 224;
const CLASSES = 1000;
const AGREEMENT_NOTE =
  'Untrained weights: the fp32 logits of 1000 classes nearly tie and hardly depend on the image, so top-1 agreement here says little; the trained MNIST pair of the demo, below, is the check that means something.';

/** The page: onnxruntime-web's wasm EP, sessions by key, one timed run at a time on request. */
const PAGE_SCRIPT = `
import * as ort from './ort.wasm.min.mjs';
const threads = Number(new URLSearchParams(location.search).get('threads'));
ort.env.wasm.numThreads = threads;
const sessions = {};
let images = [];
window.setup = async (keys, size, count) => {
  for (const k of keys) {
    const bytes = new Uint8Array(await (await fetch('models/' + k + '.onnx')).arrayBuffer());
    sessions[k] = await ort.InferenceSession.create(bytes, {
      executionProviders: ['wasm'],
      graphOptimizationLevel: 'all',
    });
  }
  const all = new Float32Array(await (await fetch('images.bin')).arrayBuffer());
  const per = size * size * 3;
  images = Array.from({ length: count }, (_, i) =>
    new ort.Tensor('float32', all.slice(i * per, (i + 1) * per), [1, size, size, 3]));
  return {
    web: ort.env.versions.web,
    numThreads: ort.env.wasm.numThreads,
    isolated: crossOriginIsolated,
    cores: navigator.hardwareConcurrency,
  };
};
async function run(key, i) {
  const s = sessions[key];
  const t0 = performance.now();
  const out = await s.run({ [s.inputNames[0]]: images[i] });
  const data = await out[s.outputNames[0]].getData();
  const ms = performance.now() - t0;
  for (const t of Object.values(out)) t.dispose();
  return { ms, data };
}
window.runOnce = async (key, i) => (await run(key, i)).ms;
// The demo pair on MNIST test digits: top class and largest logit difference per digit.
window.classifyDigits = async () => {
  const open = async (f) => ort.InferenceSession.create(
    new Uint8Array(await (await fetch('models/' + f)).arrayBuffer()),
    { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const fp32 = await open('demo.fp32.onnx');
  const int8 = await open('demo.int8.onnx');
  const all = new Float32Array(await (await fetch('digits.bin')).arrayBuffer());
  const top = (v) => v.indexOf(Math.max(...v));
  const result = { fp32: [], int8: [], maxAbsLogitDiff: 0 };
  for (let i = 0; i < all.length / 784; i++) {
    const x = new ort.Tensor('float32', all.slice(i * 784, (i + 1) * 784), [1, 28, 28, 1]);
    const logits = [];
    for (const s of [fp32, int8]) {
      const out = await s.run({ [s.inputNames[0]]: x });
      logits.push(Array.from(await out[s.outputNames[0]].getData()));
    }
    result.fp32.push(top(logits[0]));
    result.int8.push(top(logits[1]));
    for (let c = 0; c < 10; c++)
      result.maxAbsLogitDiff = Math.max(result.maxAbsLogitDiff, Math.abs(logits[0][c] - logits[1][c]));
  }
  return result;
};
window.logits = async (key) => {
  const rows = [];
  for (let i = 0; i < images.length; i++) rows.push(Array.from((await run(key, i)).data));
  return rows;
};
`;

/** Smooth colour fields plus texture, ImageNet-normalized: the bench's kind of image, from our own generator. */
function pseudoNatural(count: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(count * SIZE * SIZE * 3);
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  const G = 7;
  for (let n = 0; n < count; n++) {
    const grid = Float32Array.from({ length: G * G * 3 }, () => r());
    for (let y = 0; y < SIZE; y++) {
      const gy = (y / (SIZE - 1)) * (G - 1);
      const y0 = Math.min(G - 2, Math.floor(gy));
      const fy = gy - y0;
      for (let x = 0; x < SIZE; x++) {
        const gx = (x / (SIZE - 1)) * (G - 1);
        const x0 = Math.min(G - 2, Math.floor(gx));
        const fx = gx - x0;
        for (let c = 0; c < 3; c++) {
          const at = (yy: number, xx: number) => grid[(yy * G + xx) * 3 + c]!;
          const v =
            at(y0, x0) * (1 - fy) * (1 - fx) +
            at(y0, x0 + 1) * (1 - fy) * fx +
            at(y0 + 1, x0) * fy * (1 - fx) +
            at(y0 + 1, x0 + 1) * fy * fx +
            0.16 * (r() - 0.5);
          const clipped = Math.min(1, Math.max(0, v));
          out[((n * SIZE + y) * SIZE + x) * 3 + c] = (clipped - mean[c]!) / std[c]!;
        }
      }
    }
  }
  return out;
}

const argmax = (row: readonly number[]) => row.indexOf(Math.max(...row));

const site = join(APP_DIR, 'test-output', 'int8-page');
rmSync(site, { recursive: true, force: true });
mkdirSync(join(site, 'models'), { recursive: true });
const ortDist = dirname(
  createRequire(join(APP_DIR, 'package.json')).resolve(
    'onnxruntime-web/ort-wasm-simd-threaded.wasm',
  ),
);
for (const f of ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'])
  copyFileSync(join(ortDist, f), join(site, f));
const bytes: Record<string, number> = {};
for (const k of keys) {
  copyFileSync(join(onnxDir, `${k}.onnx`), join(site, 'models', `${k}.onnx`));
  bytes[k] = statSync(join(onnxDir, `${k}.onnx`)).size;
}
writeFileSync(join(site, 'images.bin'), pseudoNatural(imageCount, 31));

// The demo pair as the page ships it, and the test digits of the split it was trained on.
const demoDir = join(APP_DIR, 'public', 'models');
const demo = await exportPair(demoDir);
for (const [from, to] of [
  ['models/deploy/model.onnx', 'demo.fp32.onnx'],
  ['models/deploy/model.int8.onnx', 'demo.int8.onnx'],
] as const) {
  writeFileSync(join(site, 'models', to), demo.get(from)!);
  bytes[to.replace(/\.onnx$/, '')] = demo.get(from)!.byteLength;
}
const { seed } = JSON.parse(readFileSync(join(demoDir, 'meta.json'), 'utf8')) as { seed: number };
const { test } = await mnistDataset({ seed });
const digits = new Float32Array(test.size * 784);
const labels: number[] = [];
for (let i = 0; i < test.size; i++) {
  const e = await test.get(i);
  digits.set(e.image.data, i * 784);
  labels.push(e.label);
}
writeFileSync(join(site, 'digits.bin'), digits);
writeFileSync(join(site, 'page.js'), PAGE_SCRIPT);
writeFileSync(
  join(site, 'index.html'),
  '<!doctype html><meta charset="utf-8"><title>int8 latency</title><script type="module" src="page.js"></script>\n',
);

const server = await serveStatic(site);
const browser = await launchChromium();
const started = performance.now();
try {
  const tabs: { threads: number; page: Page; env: Record<string, unknown> }[] = [];
  for (const threads of threadCounts) {
    const page = await browser.newPage();
    page.setDefaultTimeout(300_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}?threads=${threads}`);
    await page.waitForFunction(() => 'setup' in window);
    const env = await page.evaluate(
      ([k, size, count]) =>
        (
          window as unknown as {
            setup(k: string[], s: number, c: number): Promise<Record<string, unknown>>;
          }
        ).setup(k, size, count),
      [keys, SIZE, imageCount] as const,
    );
    if (errors.length) throw new Error(`measure-int8: page errors: ${errors.join('; ')}`);
    if (env.numThreads !== threads) {
      throw new Error(
        `measure-int8: asked onnxruntime-web for ${threads} threads, it runs ${String(env.numThreads)} (crossOriginIsolated ${String(env.isolated)})`,
      );
    }
    tabs.push({ threads, page, env });
  }
  type Win = {
    runOnce(k: string, i: number): Promise<number>;
    logits(k: string): Promise<number[][]>;
  };

  // Agreement, from the first tab (thread count does not change the arithmetic).
  const first = tabs[0]!.page;
  const logits: Record<string, number[][]> = {};
  for (const k of keys)
    logits[k] = await first.evaluate((key) => (window as unknown as Win).logits(key), k);
  const agreement: Record<string, unknown> = {};
  for (const m of models) {
    const fp32 = logits[`${m}.fp32`]!;
    const peak = Math.max(...fp32.flat().map(Math.abs));
    // Per-class mean over the images: what an untrained network outputs whatever it sees.
    const classMean = fp32[0]!.map((_, c) => fp32.reduce((a, row) => a + row[c]!, 0) / fp32.length);
    let signal = 0;
    let varying = 0;
    for (const row of fp32) {
      for (const [c, v] of row.entries()) {
        signal += v * v;
        varying += (v - classMean[c]!) ** 2;
      }
    }
    for (const p of ['int8', 'int8-rr'] as const) {
      const q = logits[`${m}.${p}`]!;
      let agree = 0;
      let diff = 0;
      let noise = 0;
      for (const [i, row] of q.entries()) {
        if (argmax(row) === argmax(fp32[i]!)) agree++;
        for (const [c, v] of row.entries()) {
          const d = v - fp32[i]![c]!;
          diff = Math.max(diff, Math.abs(d));
          noise += d * d;
        }
      }
      agreement[`${m}.${p}`] = {
        top1Agree: agree,
        of: q.length,
        maxAbsLogitDiff: diff,
        maxRelLogitDiff: diff / peak,
        logitSnrDb: 10 * Math.log10(signal / noise),
        imageDependentSnrDb: 10 * Math.log10(varying / noise),
      };
    }
  }

  const d = await first.evaluate(() =>
    (
      window as unknown as {
        classifyDigits(): Promise<{ fp32: number[]; int8: number[]; maxAbsLogitDiff: number }>;
      }
    ).classifyDigits(),
  );
  const correct = (p: number[]) => p.filter((c, i) => c === labels[i]).length;
  const mnist = {
    model:
      'the demo pair: deploy form fp32 and its int8 copy (7-bit weights, 64 calibration digits)',
    digits: labels.length,
    fp32Top1: correct(d.fp32) / labels.length,
    int8Top1: correct(d.int8) / labels.length,
    agree: d.fp32.filter((c, i) => c === d.int8[i]).length,
    maxAbsLogitDiff: d.maxAbsLogitDiff,
  };

  const times = new Map<string, number[]>();
  const loopStart = performance.now();
  for (let round = 0; round < warmup + runs; round++) {
    for (const tab of tabs) {
      for (const k of keys) {
        const ms = await tab.page.evaluate(
          ([key, i]) => (window as unknown as Win).runOnce(key, i),
          [k, round % imageCount] as const,
        );
        if (round < warmup) continue;
        const id = `${k}@${tab.threads}`;
        times.set(id, [...(times.get(id) ?? []), ms]);
      }
    }
  }
  const loopSeconds = (performance.now() - loopStart) / 1000;

  const rows = tabs.flatMap((tab) =>
    keys.map((k) => {
      const [model, precision] = k.split('.') as [string, string];
      const s = summarize(times.get(`${k}@${tab.threads}`)!);
      const base = summarize(times.get(`${model}.fp32@${tab.threads}`)!).median;
      return {
        model,
        precision,
        threads: tab.threads,
        median: s.median,
        p10: s.p10,
        p90: s.p90,
        mean: s.mean,
        speedupVsFp32: base / s.median,
      };
    }),
  );
  const env = tabs[0]!.env;
  const fmt = (ms: number) => ms.toFixed(1).padStart(7);
  console.log(
    `onnxruntime-web ${String(env.web)}, wasm EP (SIMD, threaded build), Chromium ${browser.version()}, ` +
      `crossOriginIsolated ${String(env.isolated)}, ${String(env.cores)} logical cores (${machineInfo().cpu}); ` +
      `batch 1, ${SIZE}x${SIZE}x3, ${runs} runs after ${warmup} warm-up, interleaved; ms`,
  );
  console.log(
    `\n${'model'.padEnd(14)}${'precision'.padEnd(10)}${'thr'.padStart(4)}${'median'.padStart(9)}${'p10'.padStart(9)}${'p90'.padStart(9)}${'vs fp32'.padStart(9)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(14)}${r.precision.padEnd(10)}${String(r.threads).padStart(4)}  ${fmt(r.median)}  ${fmt(r.p10)}  ${fmt(r.p90)}  ${r.speedupVsFp32.toFixed(2).padStart(6)}x`,
    );
  }
  console.log('');
  for (const [k, a] of Object.entries(agreement)) {
    const { top1Agree, of, maxAbsLogitDiff, maxRelLogitDiff, logitSnrDb, imageDependentSnrDb } =
      a as Record<string, number>;
    console.log(
      `${k}: top-1 agrees with fp32 on ${top1Agree}/${of}, max |logit diff| ${maxAbsLogitDiff!.toExponential(2)} (${(100 * maxRelLogitDiff!).toFixed(1)}% of max |logit|), logit SNR ${logitSnrDb!.toFixed(1)} dB (${imageDependentSnrDb!.toFixed(1)} dB against the image-dependent part)`,
    );
  }
  console.log(AGREEMENT_NOTE);
  const pct = (a: number) => `${(100 * a).toFixed(2)}%`;
  console.log(
    `\nThe demo's MNIST pair in onnxruntime-web (wasm), ${mnist.digits} test digits: fp32 top-1 ${pct(mnist.fp32Top1)}, int8 ${pct(mnist.int8Top1)}; ` +
      `int8 agrees with fp32 on ${mnist.agree}/${mnist.digits}, max |logit diff| ${mnist.maxAbsLogitDiff.toExponential(2)}`,
  );
  console.log(
    `\ntimed loop ${loopSeconds.toFixed(1)} s, whole run ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  writeFileAtomicSync(
    values.out,
    reportJson({
      benchmark: 'int8-latency-web',
      runtime: `onnxruntime-web ${String(env.web)}`,
      executionProvider: 'wasm (ort-wasm-simd-threaded)',
      graphOptimizationLevel: 'all',
      browser: `Chromium ${browser.version()} (headless)`,
      crossOriginIsolated: env.isolated,
      logicalCores: env.cores,
      machine: machineInfo(),
      batch: 1,
      input: [SIZE, SIZE, 3],
      classes: CLASSES,
      runs,
      warmup,
      images: imageCount,
      models: 'the .onnx files @repnets/bench int8-latency wrote (--save-onnx)',
      fileBytes: bytes,
      interleaving:
        'one tab per thread count; each round runs every session of every tab once, on the round image',
      loopSeconds,
      rows,
      agreement,
      agreementNote: AGREEMENT_NOTE,
      mnist,
    }),
  );
  console.log(`wrote ${values.out}`);
} finally {
  await browser.close();
  await server.close();
}
