/**
 * The deploy form in float32 and int8 side by side: sizes are the bytes of
 * the files, accuracies are hand counts over each form's own predictions,
 * one ONNX Runtime row per thread count, the layer table from the exporter's
 * report, and onnxruntime-node's absence as a note rather than a failure.
 */
import { createModel, reparameterize } from '@repnets/blocks';
import { exportOnnx, exportOnnxInt8 } from '@repnets/blocks/onnx';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuDotProduct, cpuDotProductNote, cpuFlags } from '../src/cpu-dot-product.js';
import {
  compareInt8,
  type DatasetLike,
  type Int8Report,
  int8SummaryLines,
  reportMarkdown,
  reportTable,
  runBenchmark,
} from '../src/index.js';
import { ORT_MISSING, type OrtLoader, type OrtTensorLike } from '../src/onnx-runtime.js';
import { randomizeBatchNorm, useWasm } from './helpers/models.js';

const SHAPE = [8, 8, 3] as const;
const CLASSES = 4;

/** Input 8x8x3 -> 3x3 conv 16 + ReLU -> 3x3 conv 32 + ReLU -> pool -> dense 4: a deploy form with weights to shrink. */
function plainNet(): tf.LayersModel {
  const input = tf.input({ shape: [...SHAPE] });
  let y = input as tf.SymbolicTensor;
  for (const [k, filters] of [16, 32].entries()) {
    y = tf.layers
      .conv2d({
        filters,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        name: `conv${k}`,
        kernelInitializer: tf.initializers.glorotUniform({ seed: 10 + k }),
        biasInitializer: tf.initializers.randomNormal({ seed: 20 + k, stddev: 0.1 }),
      })
      .apply(y) as tf.SymbolicTensor;
  }
  const p = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(y);
  const out = tf.layers
    .dense({
      units: CLASSES,
      name: 'fc',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 30 }),
    })
    .apply(p) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'plain' });
}

const images = (n: number, seed: number) =>
  tf.randomUniform([n, ...SHAPE], 0, 1, 'float32', seed) as tf.Tensor4D;

/** A labelled dataset of `n` random images, label i % 4. */
function tinyDataset(n: number): { set: DatasetLike; pixels: Float32Array; labels: Int32Array } {
  const x = images(n, 5);
  const pixels = x.dataSync() as Float32Array;
  x.dispose();
  const per = SHAPE[0] * SHAPE[1] * SHAPE[2];
  const labels = Int32Array.from({ length: n }, (_, i) => i % CLASSES);
  const set: DatasetLike = {
    name: 'tiny',
    size: n,
    get: (i) => ({
      image: { data: pixels.slice(i * per, (i + 1) * per), height: 8, width: 8, channels: 3 },
      label: labels[i]!,
    }),
  };
  return { set, pixels, labels };
}

function top1(logits: ArrayLike<number>, n: number): number[] {
  const c = logits.length / n;
  return Array.from({ length: n }, (_, i) => {
    let best = 0;
    for (let k = 1; k < c; k++) if (logits[i * c + k]! > logits[i * c + best]!) best = k;
    return best;
  });
}

async function ortTop1(bytes: Uint8Array, pixels: Float32Array, n: number): Promise<number[]> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const out = await s.run({
      [s.inputNames[0]!]: new ort.Tensor('float32', pixels, [n, ...SHAPE]),
    });
    return top1(out[s.outputNames[0]!]!.data as Float32Array, n);
  } finally {
    await s.release();
  }
}

const share = (a: readonly number[], b: ArrayLike<number>) =>
  a.filter((v, i) => v === b[i]).length / a.length;

let model: tf.LayersModel;
let calibration: tf.Tensor4D;
let data: ReturnType<typeof tinyDataset>;
let report: Int8Report;

beforeAll(async () => {
  await useWasm();
  data = tinyDataset(24);
  model = plainNet();
  calibration = images(16, 9);
  report = await compareInt8(model, {
    calibration: [calibration],
    data: data.set,
    batchSize: 10,
    threads: [1, 2],
    warmup: 1,
  });
});
afterAll(() => {
  model.dispose();
  calibration.dispose();
});

describe('compareInt8', () => {
  it('sizes are the byte lengths of the files each form is', async () => {
    const fp32 = await exportOnnx(model);
    const int8 = await exportOnnxInt8(model, [calibration]);
    const params = model.countParams();
    expect(report.sizes).toEqual({
      onnxFp32: fp32.byteLength,
      onnxInt8: int8.bytes.byteLength,
      tfjsFloat32: 4 * params,
      tfjsFloat16: 2 * params,
      tfjsUint8: params,
    });
    // 5k+ weights: int8 drops most of the float32 file.
    expect(report.sizes.onnxInt8).toBeLessThan(0.5 * report.sizes.onnxFp32);
  });

  it('accuracy and agreement are hand counts over each form’s own predictions', async () => {
    const n = data.labels.length;
    const x = tf.tensor4d(data.pixels, [n, ...SHAPE]);
    const tfjsTop = top1((model.predict(x) as tf.Tensor).dataSync(), n);
    x.dispose();
    const fp32Top = await ortTop1(await exportOnnx(model), data.pixels, n);
    const int8Top = await ortTop1(
      (await exportOnnxInt8(model, [calibration])).bytes,
      data.pixels,
      n,
    );
    const a = report.accuracy!;
    expect(a.images).toBe(n);
    expect(a.tfjsFloat32).toBe(share(tfjsTop, data.labels));
    expect(a.onnxFp32).toBe(share(fp32Top, data.labels));
    expect(a.onnxInt8).toBe(share(int8Top, data.labels));
    expect(a.int8Agreement).toBe(share(int8Top, fp32Top));
    for (const k of ['tfjsFloat16', 'tfjsUint8'] as const) {
      expect(a[k]).toBeGreaterThanOrEqual(0);
      expect(a[k]).toBeLessThanOrEqual(1);
    }
  });

  it('times float32 and int8 in ONNX Runtime, one row per thread count', () => {
    const { rows, version } = report.onnxruntime!;
    expect(version).toMatch(/^\d+\.\d+/);
    expect(rows.map((r) => r.threads)).toEqual([1, 2]);
    for (const r of rows) {
      for (const t of [r.fp32, r.int8]) {
        expect(t.median).toBeGreaterThan(0);
        expect(t.p10).toBeLessThanOrEqual(t.median);
        expect(t.p90).toBeGreaterThanOrEqual(t.median);
      }
      expect(r.speedup).toBeCloseTo(r.fp32.median / r.int8.median, 12);
    }
    expect(report.batch).toBe(1);
    expect(report.calibrationImages).toBe(16);
    expect(report.notes.join('\n')).toMatch(/dequantized to float32 when the model loads/);
  });

  it('times the two files interleaved, each row from its own session', async () => {
    // A fake ONNX Runtime whose sessions each take their own time on a fake clock.
    let now = 0;
    const calls: string[] = [];
    const cost: Record<string, number> = { 'fp32@1': 4, 'int8@1': 1, 'fp32@2': 3, 'int8@2': 0.5 };
    const fake: OrtLoader = async () => ({
      version: '0.0.0-fake',
      ort: {
        InferenceSession: {
          create: async (bytes: Uint8Array, o?: Record<string, unknown>) => {
            const int8 = Buffer.from(bytes).includes('QuantizeLinear');
            const name = `${int8 ? 'int8' : 'fp32'}@${o?.intraOpNumThreads}`;
            return {
              inputNames: ['input'],
              outputNames: ['output'],
              run: async () => {
                calls.push(name);
                now += cost[name]!;
                return { output: { data: new Float32Array(CLASSES) } as OrtTensorLike };
              },
              release: async () => {},
            };
          },
        },
        Tensor: class {
          constructor(
            readonly type: string,
            readonly data: Float32Array,
            readonly dims: readonly number[],
          ) {}
        },
      },
    });
    const r = await compareInt8(model, {
      calibration: [calibration],
      threads: [1, 2],
      warmup: 2,
      runs: 10,
      loader: fake,
      clock: () => now,
    });
    const round = ['fp32@1', 'int8@1', 'fp32@2', 'int8@2'];
    expect(calls).toEqual(Array.from({ length: 12 }, () => round).flat());
    expect(r.onnxruntime!.version).toBe('0.0.0-fake');
    expect(
      r.onnxruntime!.rows.map((row) => [
        row.threads,
        row.fp32.median,
        row.int8.median,
        row.speedup,
      ]),
    ).toEqual([
      [1, 4, 1, 4],
      [2, 3, 0.5, 6],
    ]);
  });

  it('lists every int8 layer with the exporter’s SQNR figures', async () => {
    const r = await exportOnnxInt8(model, [calibration]);
    expect(report.layers.map((l) => l.layer)).toEqual(r.quantized.map((q) => q.layer));
    expect(report.layers.map((l) => l.op)).toEqual(['Conv', 'Conv', 'Gemm']);
    for (const [k, l] of report.layers.entries()) {
      const q = r.quantized[k]!;
      expect(l.weightSqnrDb).toBe(q.weightSqnrDb);
      expect(l.inputSqnrDb).toBe(q.input.sqnrDb);
      expect(l.outputSqnrDb).toBe(q.output?.sqnrDb);
    }
    // The report survives JSON as it is (no Infinity, no typed arrays).
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('without onnxruntime-node: sizes, TF.js accuracy and SQNR, and a note instead of a failure', async () => {
    const missing = await compareInt8(model, {
      calibration: [calibration],
      data: data.set,
      loader: async () => {
        throw new Error(ORT_MISSING);
      },
    });
    expect(missing.onnxruntime).toBeNull();
    expect(missing.sizes).toEqual(report.sizes);
    expect(missing.accuracy).toMatchObject({
      tfjsFloat32: report.accuracy!.tfjsFloat32,
      onnxFp32: null,
      onnxInt8: null,
      int8Agreement: null,
    });
    expect(missing.notes.join('\n')).toMatch(
      /int8 latency and ONNX accuracy skipped, onnxruntime-node is not installed/,
    );
    expect(int8SummaryLines(missing)[0]).toMatch(/ORT latency skipped/);
    // Any other loading failure is not a missing package: it is reported.
    await expect(
      compareInt8(model, {
        calibration: [calibration],
        loader: async () => {
          throw new Error('onnxruntime-node failed to load: bad binary');
        },
      }),
    ).rejects.toThrow('bad binary');
  });

  it('says what accuracy needs: no data, or images without labels (agreement only)', async () => {
    const none = await compareInt8(model, { calibration: [calibration], threads: [1] });
    expect(none.accuracy).toBeNull();
    expect(none.notes.join('\n')).toMatch(/accuracy needs a labelled data set/);
    const x = images(6, 11);
    const unlabelled = await compareInt8(model, {
      calibration: [calibration],
      data: x,
      threads: [1],
    });
    x.dispose();
    expect(unlabelled.accuracy).toMatchObject({ images: 6, tfjsFloat32: null, onnxInt8: null });
    expect(unlabelled.accuracy!.int8Agreement).toBeGreaterThanOrEqual(0);
    expect(unlabelled.notes.join('\n')).toMatch(/these images had no labels/);
  });

  it('refuses a missing calibration set and a train-form model, naming what is wrong', async () => {
    await expect(compareInt8(model, {} as never)).rejects.toThrow(
      'compareInt8: options.calibration is required',
    );
    const train = createModel('simplenet', {
      widthMultipliers: [0.25, 0.25],
      inputSize: 8,
      numClasses: 2,
    });
    await expect(compareInt8(train, { calibration: [calibration] })).rejects.toThrow(
      /train form .* fold it first/,
    );
    train.dispose();
  });
});

describe('int8 in runBenchmark and its report', () => {
  it('adds an int8 section that the table, the Markdown and the JSON show', async () => {
    const train = createModel('simplenet', {
      widthMultipliers: [0.25, 0.25],
      inputSize: 8,
      numClasses: 3,
    });
    randomizeBatchNorm(train);
    const deploy = (await reparameterize(train)).model;
    const calib = tf.randomUniform([8, 8, 8, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    try {
      const r = await runBenchmark(train, deploy, {
        warmup: 0,
        int8: { calibration: [calib], method: 'percentile', reduceRange: true },
        onnxruntime: { threads: [1] },
      });
      const q = r.int8!;
      expect(q.method).toBe('percentile');
      expect(q.reduceRange).toBe(true);
      expect(q.onnxruntime!.rows.map((row) => row.threads)).toEqual([1]);
      // runBenchmark's own 32 random images: agreement, no accuracy.
      expect(q.accuracy).toMatchObject({ images: 32, onnxInt8: null });
      expect(q.layers.length).toBeGreaterThan(3);
      const table = reportTable(r);
      expect(table).toMatch(
        /int8: weights per channel \(7-bit, reduce range\), activations percentile on 8 calibration images/,
      );
      expect(table).toMatch(/onnxruntime \S+\s+float32 \.onnx\s+1\s/);
      expect(table).toMatch(/int8 QDQ \.onnx\s+1\s/);
      expect(table).toMatch(/tfjs \(wasm\)\s+float32 weights/);
      expect(table).toMatch(/uint8 weights\s+= float32/);
      // The worst three layers by SQNR, lowest first, in the terminal.
      const worst = [...q.layers]
        .map((l) => ({
          l,
          db: Math.min(
            ...[l.weightSqnrDb, l.inputSqnrDb, l.outputSqnrDb].filter((v) => typeof v === 'number'),
          ),
        }))
        .sort((a, b) => a.db - b.db)
        .slice(0, 3);
      expect(table).toMatch(`lowest SQNR, 3 of ${q.layers.length} int8 layers`);
      const lines = table.split('\n');
      const at = lines.findIndex((l) => l.startsWith('lowest SQNR'));
      for (const [k, { l }] of worst.entries()) {
        expect(lines[at + 3 + k]).toMatch(new RegExp(`^${l.layer}\\s+${l.op}\\s+`));
      }
      const md = reportMarkdown(r);
      expect(md).toMatch('## float32 vs int8');
      expect(md).toMatch('### Quantization error per layer');
      for (const l of q.layers) expect(md).toMatch(`| ${l.layer} | ${l.op} |`);
      expect(JSON.parse(JSON.stringify(r)).int8).toEqual(q);
      expect(int8SummaryLines(q)[0]).toMatch(
        /^fp32 vs int8: int8 top-1 = fp32 top-1 on \d+ of 32 images \| \.onnx .* -> .* smaller\) \| ORT 1 thread /,
      );
    } finally {
      train.dispose();
      deploy.dispose();
      calib.dispose();
    }
  });
});

describe('the CPU note', () => {
  it('names VNNI where /proc/cpuinfo lists it, says its absence otherwise, and is silent without the file', () => {
    expect(cpuDotProductNote(() => 'flags\t\t: fpu sse avx2 avx512_vnni\n')).toBe(
      "CPU integer dot-product instructions: avx512_vnni (ONNX Runtime's int8 convs use them)",
    );
    expect(cpuDotProductNote(() => 'flags\t\t: fpu sse avx2\n')).toMatch(
      /^CPU without integer dot-product instructions .*; AVX2\): ONNX Runtime's int8 convs multiply u8 x s8 pairs that can saturate/,
    );
    expect(
      cpuDotProductNote(() => {
        throw new Error('ENOENT');
      }),
    ).toBeNull();
    expect(cpuDotProduct(() => 'flags\t\t: fpu avx2 avx_vnni amx_int8\n')).toMatchObject({
      found: ['avx_vnni', 'amx_int8'],
      avx2: true,
    });
    expect(cpuDotProduct(() => 'flags\t\t: fpu sse\n')).toMatchObject({ found: [], avx2: false });
    expect(cpuDotProduct(() => 'processor : 0\n')).toBeNull();
    expect(cpuFlags(() => 'processor : 0\nflags\t\t: fpu avx2\nflags : sse\n')).toEqual(
      new Set(['fpu', 'avx2']),
    );
    expect(cpuFlags(() => 'processor : 0\n')).toEqual(new Set());
    expect(
      cpuFlags(() => {
        throw new Error('ENOENT');
      }),
    ).toBeNull();
  });
});
