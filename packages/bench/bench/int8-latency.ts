/**
 * pnpm --filter @repnets/bench bench:int8-latency [-- --models repvgg_a0,mobileone_s0
 *   --runs 30 --warmup 5 --calib 32 --images 8 --threads 1,2 --out bench-results/int8-latency.json
 *   --save-onnx DIR]
 *
 * Issue 23: fp32 vs int8 in onnxruntime-node (CPU EP) for the ImageNet
 * networks at 224x224, batch 1. Each model is built in train form with
 * non-trivial BN statistics (random gamma and beta; running mean and variance
 * taken from a batch of images, so the fold is far from identity), folded,
 * exported as fp32 ONNX and as int8 QDQ (exportOnnxInt8, minmax calibration on
 * `--calib` pseudo-natural images) with 8-bit and with 7-bit weights
 * (reduceRange). Every session (model x precision x thread count) is timed in
 * one interleaved loop, so machine noise lands on every row alike. Agreement:
 * int8 top-1 vs fp32 top-1 and the largest logit difference on the timed
 * images. --save-onnx writes the .onnx files, for the browser measurement
 * (apps/web measure-int8) to time the very same bytes.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createModel, reparameterize, type ZooName } from '@repnets/blocks';
import { exportOnnx, exportOnnxInt8 } from '@repnets/blocks/onnx';
import { reportJson, rng, scriptArgs } from '@repnets/devkit';
import { machineInfo, summarize } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import { cpuFlags } from '../src/cpu-dot-product.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    models: { type: 'string', default: 'repvgg_a0,mobileone_s0' },
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    calib: { type: 'string', default: '32' },
    images: { type: 'string', default: '8' },
    threads: { type: 'string', default: '1,2' },
    out: { type: 'string', default: 'bench-results/int8-latency.json' },
    'save-onnx': { type: 'string' },
  },
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const calibImages = Number(values.calib);
const timedImages = Number(values.images);
const threadCounts = values.threads.split(',').map(Number);
if (
  !(runs >= 10) ||
  ![warmup, calibImages, timedImages].every((n) => Number.isInteger(n) && n >= 1) ||
  !threadCounts.every((n) => Number.isInteger(n) && n >= 1)
) {
  console.error(
    'bench:int8-latency: --runs must be >= 10; --warmup, --calib, --images and each of --threads integers >= 1',
  );
  process.exit(2);
}
const SIZE = 224;
const CLASSES = 1000;

/** The x86 features that decide how ONNX Runtime runs int8 (Linux's /proc/cpuinfo names). */
const FEATURES = [
  'ssse3',
  'sse4_1',
  'avx',
  'avx2',
  'fma',
  'f16c',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512_vnni',
  'avx_vnni',
  'avx512_bf16',
  'amx_int8',
] as const;

/** The FEATURES this CPU has, read once by the bench's own /proc/cpuinfo reader. */
function cpuFeatures(): { flags: Record<string, boolean>; source: string } {
  const have = cpuFlags();
  return have === null
    ? { flags: {}, source: 'unavailable (no /proc/cpuinfo)' }
    : { flags: Object.fromEntries(FEATURES.map((f) => [f, have.has(f)])), source: '/proc/cpuinfo' };
}
const cpu = cpuFeatures();
const vnni = cpu.flags.avx512_vnni === true || cpu.flags.avx_vnni === true;
const cpuNote = vnni
  ? 'This CPU has VNNI (integer dot products): ONNX Runtime runs u8 x s8 convs with VPDPBUSD, about 4x the multiply-adds of fp32 FMA per instruction; int8 should be faster.'
  : 'This CPU has no VNNI (no avx512_vnni, no avx_vnni): ONNX Runtime runs u8 x s8 convs on AVX2 with VPMADDUBSW + VPMADDWD (two instructions per 4 products, with int16 saturation, hence reduceRange), about 2x fp32 FMA at best; plus the quantize/requantize steps, int8 may be no faster here.';

await tf.setBackend('wasm');
await tf.ready();

/**
 * Pseudo-natural 224x224 RGB images, ImageNet-normalized: smooth colour blobs
 * (random 7x7 fields upsampled) plus a little fine texture, so activations
 * have the spatial correlation and the range of photographs, not of white noise.
 */
function images(n: number, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const coarse = tf.randomUniform([n, 7, 7, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
    const smooth = tf.image.resizeBilinear(coarse, [SIZE, SIZE], true);
    const fine = tf.randomUniform([n, SIZE, SIZE, 3], -0.08, 0.08, 'float32', seed + 1);
    const x = smooth.add(fine).clipByValue(0, 1);
    return x.sub([0.485, 0.456, 0.406]).div([0.229, 0.224, 0.225]) as tf.Tensor4D;
  });
}

/**
 * Train form with non-trivial BN: gamma in [0.25, 0.75] and beta in [-0.1, 0.1]
 * at random, running statistics those of the activations that reach each BN
 * on `x` (one training-mode forward with momentum 0).
 */
function conditioned(name: ZooName, x: tf.Tensor4D, seed: number): tf.LayersModel {
  const model = createModel(name, {
    inputSize: SIZE,
    numClasses: CLASSES,
    seed,
    bn: { momentum: 0 },
  });
  const r = rng(seed);
  for (const w of model.weights) {
    const kind = /(gamma|beta)$/.exec(w.originalName)?.[1];
    if (!kind) continue;
    const n = w.shape.reduce((p: number, d) => p * (d ?? 1), 1);
    const v = Float32Array.from({ length: n }, () =>
      kind === 'gamma' ? 0.25 + 0.5 * r() : 0.2 * (r() - 0.5),
    );
    w.write(tf.tensor(v, w.shape as number[]));
  }
  tf.tidy(() => {
    model.apply(x, { training: true });
  });
  const mean = model.weights.find((w) => /moving_mean$/.test(w.originalName));
  if (!mean || tf.tidy(() => tf.abs(mean.read()).max().dataSync()[0]!) === 0) {
    throw new Error(`int8-latency: ${name}'s BN running means stayed 0; the fold would be trivial`);
  }
  return model;
}

const AGREEMENT_NOTE =
  'Untrained weights: the fp32 logits of 1000 classes nearly tie and hardly depend on the image, so top-1 agreement here says little; int8 accuracy on trained networks is measured by the PTQ bench.';

const PRECISIONS = ['fp32', 'int8', 'int8-rr'] as const;
type Precision = (typeof PRECISIONS)[number];
const PRECISION_NOTE: Record<Precision, string> = {
  fp32: 'exportOnnx, float32',
  int8: 'exportOnnxInt8, 8-bit weights (reduceRange false)',
  'int8-rr': 'exportOnnxInt8, 7-bit weights (reduceRange true)',
};

interface Session {
  readonly model: string;
  readonly precision: Precision;
  readonly threads: number;
  readonly session: ort.InferenceSession;
  readonly times: number[];
}

const argmax = (v: Float32Array, row: number) => {
  let best = 0;
  for (let c = 1; c < CLASSES; c++) if (v[row * CLASSES + c]! > v[row * CLASSES + best]!) best = c;
  return best;
};

/**
 * Ops ONNX Runtime actually runs, from the optimized model it writes: each
 * NodeProto's op_type is field 4 (tag 0x22), a length byte, then the name.
 */
function optimizedOps(file: string): Record<string, number> {
  const text = Buffer.from(readFileSync(file)).toString('latin1');
  const count = (op: string) => text.split(`\x22${String.fromCharCode(op.length)}${op}`).length - 1;
  return Object.fromEntries(
    ['QLinearConv', 'QGemm', 'QuantizeLinear', 'DequantizeLinear', 'Conv', 'FusedConv', 'Gemm'].map(
      (op) => [op, count(op)],
    ),
  );
}

const models = values.models.split(',') as ZooName[];
const calib = images(calibImages, 11);
const timed = images(timedImages, 23);
const timedData = (await timed.data()) as Float32Array;
const perImage = SIZE * SIZE * 3;
const feeds = Array.from(
  { length: timedImages },
  (_, i) =>
    new ort.Tensor('float32', timedData.slice(i * perImage, (i + 1) * perImage), [
      1,
      SIZE,
      SIZE,
      3,
    ]),
);

interface ModelInfo {
  bytes: Record<Precision, number>;
  quantizedLayers: number;
  floatLayers: { layer: string; why: string }[];
  exportSeconds: Record<Precision, number>;
  ops: Partial<Record<Precision, Record<string, number>>>;
  agreement: Partial<
    Record<
      Precision,
      {
        top1Agree: number;
        of: number;
        maxAbsLogitDiff: number;
        maxRelLogitDiff: number;
        /** 10 log10(sum fp32^2 / sum (int8 - fp32)^2) over the timed images' logits. */
        logitSnrDb: number;
        /** The same against the part of the fp32 logits that changes from image to image. */
        imageDependentSnrDb: number;
      }
    >
  >;
  tfjsVsOrtFp32MaxAbs: number;
  /** Per-layer quantization SQNR over the int8 layers (the export's own report), dB. */
  sqnrDb: Partial<
    Record<
      Precision,
      { weightMin: number; weightMedian: number; activationMin: number; activationMedian: number }
    >
  >;
}
const info: Record<string, ModelInfo> = {};
const sessions: Session[] = [];
const scratch = join(tmpdir(), `int8-latency-${process.pid}`);
mkdirSync(scratch, { recursive: true });

try {
  for (const [k, name] of models.entries()) {
    const t0 = performance.now();
    const train = conditioned(name, calib, 5 + k);
    const { model: deploy } = await reparameterize(train);
    train.dispose();
    console.log(`${name}: built and folded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const files: Partial<Record<Precision, Uint8Array>> = {};
    const exportSeconds = {} as Record<Precision, number>;
    let t = performance.now();
    files.fp32 = await exportOnnx(deploy, { dynamicBatch: false });
    exportSeconds.fp32 = (performance.now() - t) / 1000;
    let report: Awaited<ReturnType<typeof exportOnnxInt8>> | undefined;
    const sqnr: ModelInfo['sqnrDb'] = {};
    for (const p of ['int8', 'int8-rr'] as const) {
      t = performance.now();
      report = await exportOnnxInt8(deploy, [calib], {
        dynamicBatch: false,
        reduceRange: p === 'int8-rr',
      });
      exportSeconds[p] = (performance.now() - t) / 1000;
      files[p] = report.bytes;
      const w = report.quantized.map((q) => q.weightSqnrDb);
      const a = report.quantized.map((q) => q.input.sqnrDb);
      sqnr[p] = {
        weightMin: Math.min(...w),
        weightMedian: summarize(w).median,
        activationMin: Math.min(...a),
        activationMedian: summarize(a).median,
      };
    }
    const tfjsLogits = tf.tidy(() =>
      (deploy.predict(timed) as tf.Tensor).dataSync(),
    ) as Float32Array;
    deploy.dispose();
    if (values['save-onnx']) {
      mkdirSync(values['save-onnx'], { recursive: true });
      for (const p of PRECISIONS)
        writeFileSync(join(values['save-onnx'], `${name}.${p}.onnx`), files[p]!);
    }

    const logits: Partial<Record<Precision, Float32Array>> = {};
    const ops: ModelInfo['ops'] = {};
    for (const p of PRECISIONS) {
      for (const threads of threadCounts) {
        const optimized = join(scratch, `${name}.${p}.opt.onnx`);
        const session = await ort.InferenceSession.create(files[p]!, {
          executionProviders: ['cpu'],
          graphOptimizationLevel: 'all',
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          // The optimized copy is written for counting ops only; its hardware-specific warning is noise here.
          logSeverityLevel: 3,
          ...(threads === threadCounts[0] ? { optimizedModelFilePath: optimized } : {}),
        });
        if (threads === threadCounts[0]) ops[p] = optimizedOps(optimized);
        sessions.push({ model: name, precision: p, threads, session, times: [] });
        if (logits[p]) continue;
        const all = new Float32Array(timedImages * CLASSES);
        for (const [i, feed] of feeds.entries()) {
          const out = await session.run({ [session.inputNames[0]!]: feed });
          all.set(out[session.outputNames[0]!]!.data as Float32Array, i * CLASSES);
        }
        logits[p] = all;
      }
    }
    const fp32 = logits.fp32!;
    const maxAbs = (a: Float32Array, b: Float32Array) =>
      a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    const peak = fp32.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    // Per-class mean over the images: what an untrained network outputs whatever it sees.
    const classMean = new Float64Array(CLASSES);
    for (const [j, v] of fp32.entries()) classMean[j % CLASSES]! += v / timedImages;
    const energy = (f: (v: number, j: number) => number) =>
      fp32.reduce((sum, v, j) => sum + f(v, j) ** 2, 0);
    const signal = energy((v) => v);
    const varying = energy((v, j) => v - classMean[j % CLASSES]!);
    const agreement: ModelInfo['agreement'] = {};
    for (const p of ['int8', 'int8-rr'] as const) {
      const q = logits[p]!;
      let agree = 0;
      for (let i = 0; i < timedImages; i++) if (argmax(q, i) === argmax(fp32, i)) agree++;
      const d = maxAbs(q, fp32);
      const noise = energy((v, j) => q[j]! - v);
      agreement[p] = {
        top1Agree: agree,
        of: timedImages,
        maxAbsLogitDiff: d,
        maxRelLogitDiff: d / peak,
        logitSnrDb: 10 * Math.log10(signal / noise),
        imageDependentSnrDb: 10 * Math.log10(varying / noise),
      };
    }
    info[name] = {
      bytes: Object.fromEntries(PRECISIONS.map((p) => [p, files[p]!.byteLength])) as Record<
        Precision,
        number
      >,
      quantizedLayers: report!.quantized.length,
      floatLayers: [...report!.skipped],
      exportSeconds,
      ops,
      agreement,
      tfjsVsOrtFp32MaxAbs: maxAbs(tfjsLogits, fp32),
      sqnrDb: sqnr,
    };
  }

  // One loop over every session: warm-up rounds, then timed rounds, the image rotating by round.
  const t0 = performance.now();
  for (let round = 0; round < warmup + runs; round++) {
    const feed = feeds[round % feeds.length]!;
    for (const s of sessions) {
      const start = performance.now();
      const out = await s.session.run({ [s.session.inputNames[0]!]: feed });
      const ms = performance.now() - start;
      for (const o of Object.values(out)) o.dispose();
      if (round >= warmup) s.times.push(ms);
    }
  }
  const loopSeconds = (performance.now() - t0) / 1000;

  const rows = sessions.map((s) => {
    const stats = summarize(s.times);
    const base = sessions.find(
      (b) => b.model === s.model && b.threads === s.threads && b.precision === 'fp32',
    )!;
    const baseMedian = summarize(base.times).median;
    return {
      model: s.model,
      precision: s.precision,
      threads: s.threads,
      median: stats.median,
      p10: stats.p10,
      p90: stats.p90,
      mean: stats.mean,
      speedupVsFp32: baseMedian / stats.median,
    };
  });

  const fmt = (ms: number) => ms.toFixed(2).padStart(7);
  console.log(
    `\nonnxruntime-node ${ort.env.versions.node ?? '?'}, CPU EP, batch 1, ${SIZE}x${SIZE}x3, ${runs} runs after ${warmup} warm-up, interleaved; ms`,
  );
  console.log(
    `CPU: ${machineInfo().cpu}; ${FEATURES.filter((f) => cpu.flags[f]).join(' ') || cpu.source}`,
  );
  console.log(cpuNote);
  console.log(
    `\n${'model'.padEnd(14)}${'precision'.padEnd(10)}${'thr'.padStart(4)}${'median'.padStart(9)}${'p10'.padStart(9)}${'p90'.padStart(9)}${'vs fp32'.padStart(9)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.model.padEnd(14)}${r.precision.padEnd(10)}${String(r.threads).padStart(4)}  ${fmt(r.median)}  ${fmt(r.p10)}  ${fmt(r.p90)}  ${r.speedupVsFp32.toFixed(2).padStart(6)}x`,
    );
  }
  console.log('');
  for (const [name, m] of Object.entries(info)) {
    const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
    console.log(
      `${name}: files fp32 ${kb(m.bytes.fp32)}, int8 ${kb(m.bytes.int8)} (${(m.bytes.fp32 / m.bytes.int8).toFixed(2)}x smaller); ${m.quantizedLayers} layers int8, ${m.floatLayers.length} float`,
    );
    for (const p of ['int8', 'int8-rr'] as const) {
      const a = m.agreement[p]!;
      const o = m.ops[p]!;
      const q = m.sqnrDb[p]!;
      console.log(
        `  ${p}: top-1 agrees with fp32 on ${a.top1Agree}/${a.of}, max |logit diff| ${a.maxAbsLogitDiff.toExponential(2)} (${(100 * a.maxRelLogitDiff).toFixed(1)}% of max |logit|), logit SNR ${a.logitSnrDb.toFixed(1)} dB (${a.imageDependentSnrDb.toFixed(1)} dB against the image-dependent part); layer SQNR weights ${q.weightMin.toFixed(1)}..(median ${q.weightMedian.toFixed(1)}) dB, activations ${q.activationMin.toFixed(1)}..(median ${q.activationMedian.toFixed(1)}) dB; ORT runs ${o.QLinearConv} QLinearConv, ${(o.Conv ?? 0) + (o.FusedConv ?? 0)} float Conv, ${o.QGemm} QGemm, ${o.Gemm} float Gemm`,
      );
    }
  }
  console.log(`\n${AGREEMENT_NOTE}\ntimed loop: ${loopSeconds.toFixed(1)} s`);

  writeFileAtomicSync(
    values.out,
    reportJson({
      benchmark: 'int8-latency',
      runtime: `onnxruntime-node ${ort.env.versions.node ?? '?'}`,
      executionProvider: 'cpu',
      graphOptimizationLevel: 'all',
      machine: machineInfo(),
      cpuFlags: cpu.flags,
      cpuFlagsSource: cpu.source,
      vnni,
      note: cpuNote,
      batch: 1,
      input: [SIZE, SIZE, 3],
      classes: CLASSES,
      runs,
      warmup,
      timedImages,
      calibrationImages: calibImages,
      calibration:
        'minmax, pseudo-natural images (smooth colour fields + texture), ImageNet-normalized',
      weights:
        'untrained (seeded); BN gamma/beta random, running statistics from the calibration images',
      precisions: PRECISION_NOTE,
      agreementNote: AGREEMENT_NOTE,
      interleaving: 'every session run once per round, rounds rotating over the timed images',
      loopSeconds,
      rows,
      models: info,
    }),
  );
  console.log(`wrote ${values.out}`);
} finally {
  for (const s of sessions) await s.session.release();
  rmSync(scratch, { recursive: true, force: true });
  tf.dispose([calib, timed]);
}
