/**
 * exportOnnxInt8: the QDQ graph around a Conv and a Gemm, weight and
 * activation parameters against values computed here from the model, outputs
 * in onnxruntime-node against the float model, and the refusals.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel } from '../src/index.js';
import {
  decodeOnnx,
  exportOnnxInt8,
  type ModelProto,
  type OnnxInt8Options,
  saveOnnxInt8,
  type TensorProto,
} from '../src/onnx/index.js';
import { type InferenceSessionOptions, runOnnx } from './helpers/onnx-runtime.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Seeded uniform values in [lo, hi). */
function uniform(seed: number, n: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}

function batch(seed: number, shape: [number, number, number, number], lo = -1, hi = 1) {
  return tf.tensor4d(
    uniform(
      seed,
      shape.reduce((p, d) => p * d, 1),
      lo,
      hi,
    ),
    shape,
  );
}

/** Input [6, 6, 4] -> 3x3 conv + ReLU -> global average pool -> dense 3. */
function convNet(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 4] });
  const c = tf.layers
    .conv2d({
      filters: 5,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      name: 'conv',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      biasInitializer: tf.initializers.randomNormal({ seed: 4 }),
    })
    .apply(input);
  const p = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(c);
  const out = tf.layers
    .dense({
      units: 3,
      name: 'fc',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }),
      biasInitializer: tf.initializers.randomNormal({ seed: 6 }),
    })
    .apply(p) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'convnet' });
}

function init(m: ModelProto, name: string): TensorProto {
  const t = m.graph.initializer.find((i) => i.name === name);
  if (!t) throw new Error(`no initializer '${name}'`);
  return t;
}

const floats = (t: TensorProto) => {
  const raw = Uint8Array.from(t.raw_data ?? []);
  return new Float32Array(raw.buffer);
};
const int8s = (t: TensorProto) => Int8Array.from(t.raw_data ?? [], (b) => (b << 24) >> 24);

/** Per-output-channel max |w| / 127 of an HWIO kernel, computed here from the TF.js weight. */
function handWeightScales(kernel: tf.Tensor): Float32Array {
  const abs = tf.tidy(() =>
    kernel
      .abs()
      .reshape([-1, kernel.shape.at(-1)!])
      .max(0),
  );
  const m = abs.dataSync() as Float32Array;
  abs.dispose();
  return Float32Array.from(m, (v) => v / 127);
}

/** ONNX Runtime's uint8 asymmetric parameters for [lo, hi], computed here step by step. */
function handActivation(lo: number, hi: number) {
  const min = Math.min(lo, 0);
  const max = Math.max(hi, 0);
  const scale = Math.fround((max - min) / 255);
  return { scale, zeroPoint: Math.round(-min / scale) + 0 }; // +0: no -0
}

describe('exportOnnxInt8: QDQ structure and parameters', async () => {
  const model = convNet();
  const calib = [batch(1, [4, 6, 6, 4]), batch(2, [4, 6, 6, 4])];
  const result = await exportOnnxInt8(model, calib);
  const m = decodeOnnx(result.bytes);

  it('QuantizeLinear/DequantizeLinear on each Conv and Gemm input, dequantized int8 weights and int32 biases', () => {
    expect(m.graph.node.map((n) => n.op_type)).toEqual([
      'Transpose',
      'QuantizeLinear',
      'DequantizeLinear',
      'DequantizeLinear',
      'DequantizeLinear',
      'Conv',
      'Relu',
      'QuantizeLinear',
      'DequantizeLinear',
      'GlobalAveragePool',
      'Flatten',
      'QuantizeLinear',
      'DequantizeLinear',
      'DequantizeLinear',
      'DequantizeLinear',
      'Gemm',
    ]);
    const conv = m.graph.node.find((n) => n.op_type === 'Conv')!;
    const [x, w, b] = conv.input.map((i) => m.graph.node.find((n) => n.output.includes(i))!);
    expect(x!.op_type).toBe('DequantizeLinear');
    expect(m.graph.node.find((n) => n.output.includes(x!.input[0]!))!.op_type).toBe(
      'QuantizeLinear',
    );
    expect(init(m, w!.input[0]!).data_type).toBe(3); // INT8
    expect(w!.attribute?.map((a) => [a.name, a.i ?? 0])).toEqual([['axis', 0]]);
    expect(init(m, b!.input[0]!).data_type).toBe(6); // INT32
    expect(init(m, x!.input[2]!).data_type).toBe(2); // UINT8
    // The float weights are gone: only int8 ones are stored.
    expect(m.graph.initializer.some((t) => t.name === 'conv/weight')).toBe(false);
    expect(result.skipped).toEqual([]);
    expect(result.quantized.map((q) => [q.layer, q.op])).toEqual([
      ['conv', 'Conv'],
      ['fc', 'Gemm'],
    ]);
    expect(result.calibrationImages).toBe(8);
  });

  it('weight scales are max|w| / 127 per output channel, zero points 0, values round(w / scale)', () => {
    const [kernel, bias] = model.getLayer('conv').getWeights();
    const want = handWeightScales(kernel!);
    const wdq = m.graph.node.find((n) => n.input[0] === 'conv/weight_quantized')!;
    const scales = floats(init(m, wdq.input[1]!));
    expect([...scales]).toEqual([...want]);
    expect([...int8s(init(m, wdq.input[2]!))]).toEqual([0, 0, 0, 0, 0]);
    // OIHW element [o, i, h, w] is HWIO [h, w, i, o].
    const q = int8s(init(m, 'conv/weight_quantized'));
    const hwio = kernel!.dataSync();
    let checked = 0;
    for (let o = 0; o < 5; o++)
      for (let i = 0; i < 4; i++)
        for (let h = 0; h < 3; h++)
          for (let w = 0; w < 3; w++) {
            const v = hwio[((h * 3 + w) * 4 + i) * 5 + o]!;
            expect(Math.abs(q[((o * 4 + i) * 3 + h) * 3 + w]! - v / want[o]!)).toBeLessThanOrEqual(
              0.5 + 1e-6,
            );
            checked++;
          }
    expect(checked).toBe(q.length);
    expect(Math.max(...q.map(Math.abs))).toBe(127);
    // Bias: int32 at input scale x weight scale.
    const xs = result.quantized[0]!.input.scale;
    const bq = new Int32Array(Uint8Array.from(init(m, 'conv/bias_quantized').raw_data!).buffer);
    const bf = bias!.dataSync();
    for (let o = 0; o < 5; o++)
      expect(Math.abs(bq[o]! - bf[o]! / (xs * want[o]!))).toBeLessThanOrEqual(0.5 + 1e-3);
  });

  it('activation scales and zero points are the min-max ones of the calibration set', () => {
    // The conv reads the image itself; the Gemm reads the pooled conv output.
    const all = tf.concat(calib);
    const inMin = all.min().dataSync()[0]!;
    const inMax = all.max().dataSync()[0]!;
    const pooled = tf.model({ inputs: model.inputs, outputs: model.getLayer('pool').output });
    const p = pooled.predict(all) as tf.Tensor;
    const pMin = p.min().dataSync()[0]!;
    const pMax = p.max().dataSync()[0]!;
    const [conv, fc] = result.quantized;
    expect(conv!.input).toMatchObject(handActivation(inMin, inMax));
    expect(fc!.input).toMatchObject(handActivation(pMin, pMax));
    expect(fc!.input.zeroPoint).toBe(0); // after ReLU and a mean: nothing below 0
    // And in the file: the QuantizeLinear before the Conv holds the same numbers.
    const qx = m.graph.node.find((n) => n.op_type === 'QuantizeLinear')!;
    expect(floats(init(m, qx.input[1]!))[0]).toBe(conv!.input.scale);
    expect(init(m, qx.input[2]!).raw_data![0]).toBe(conv!.input.zeroPoint);
    expect(conv!.input.sqnrDb).toBeGreaterThan(30);
    expect(conv!.weightSqnrDb).toBeGreaterThan(30);
    for (const t of [all, p]) t.dispose();
  });

  it('onnxruntime fuses the QDQ Conv into QLinearConv', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'int8-'));
    dirs.push(dir);
    const path = join(dir, 'opt.onnx');
    const x = batch(3, [2, 6, 6, 4]);
    await runOnnx(result.bytes, x, { optimizedModelFilePath: path });
    const ops = decodeOnnx(new Uint8Array(readFileSync(path))).graph.node.map((n) => n.op_type);
    expect(ops).toContain('QLinearConv');
    expect(ops).not.toContain('Conv');
    x.dispose();
  });
});

describe('exportOnnxInt8: outputs against the float model', () => {
  /**
   * One linear 3x3 conv, quantized, run in onnxruntime; per output channel
   * |y - y'| <= sum_taps (|w| sx/2 + |x| sw/2 + sx sw/4) + sx sw/2 (bias
   * rounding) + sy/2 (the output is quantized too, so ORT runs QLinearConv),
   * against the float output clamped to the output's calibrated range.
   * Returns the worst error as a share of its bound.
   */
  async function singleConv(
    options: OnnxInt8Options,
    session: InferenceSessionOptions,
  ): Promise<number> {
    const input = tf.input({ shape: [5, 5, 3] });
    const y = tf.layers
      .conv2d({
        filters: 4,
        kernelSize: 3,
        padding: 'valid',
        name: 'c',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
        biasInitializer: tf.initializers.randomNormal({ seed: 2 }),
      })
      .apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    const { bytes, quantized } = await exportOnnxInt8(model, [batch(4, [8, 5, 5, 3])], options);
    const x = batch(5, [3, 5, 5, 3], -0.9, 0.9);
    const got = (await runOnnx(bytes, x, session)).data;
    const want = (model.predict(x) as tf.Tensor).dataSync();
    const sx = quantized[0]!.input.scale;
    const out = quantized[0]!.output!;
    const sy = out.scale;
    // A test input may drive an output past the calibrated range: compare with the clamped value.
    const [lo, hi] = [(0 - out.zeroPoint) * sy, (255 - out.zeroPoint) * sy];
    const sw = quantized[0]!.weightScales;
    const k = model.getLayer('c').getWeights()[0]!.dataSync();
    const taps = 27;
    const bound = [...sw].map((s, o) => {
      let absW = 0;
      for (let t = 0; t < taps; t++) absW += Math.abs(k[t * 4 + o]!);
      return absW * (sx / 2) + taps * (0.9 * (s / 2) + (sx * s) / 4) + (sx * s) / 2 + sy / 2 + 1e-5;
    });
    let worst = 0;
    for (const [i, v] of want.entries()) {
      const o = i % 4;
      const clamped = Math.min(hi, Math.max(lo, v));
      worst = Math.max(worst, Math.abs(got[i]! - clamped) / bound[o]!);
    }
    x.dispose();
    return worst;
  }

  it('a single linear conv, the QDQ graph as written: every output within the bound the quantization steps give', async () => {
    const worst = await singleConv({}, { graphOptimizationLevel: 'disabled' });
    console.log(`int8 single conv, unfused: worst error ${(100 * worst).toFixed(1)}% of its bound`);
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('a single linear conv, fused to QLinearConv with 7-bit weights (reduceRange): within the bound on every x86 CPU', async () => {
    const worst = await singleConv({ reduceRange: true }, {});
    const eight = await singleConv({}, {});
    console.log(
      `int8 single conv, QLinearConv: reduceRange ${(100 * worst).toFixed(1)}% of its bound; 8-bit weights ${(100 * eight).toFixed(1)}% (over 100% where the CPU lacks VNNI: VPMADDUBSW saturates)`,
    );
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('simplenet (deploy form, 8x8): logits close to fp32, for each calibration method', async () => {
    const model = createModel('simplenet', {
      form: 'deploy',
      inputSize: 8,
      numClasses: 3,
      seed: 1,
    });
    const calib = [batch(6, [16, 8, 8, 3], 0, 1)];
    const x = batch(7, [8, 8, 8, 3], 0, 1);
    const want = (model.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const scale = Math.max(...want.map(Math.abs));
    const lines: string[] = [];
    for (const method of ['minmax', 'percentile', 'mse'] as const) {
      const r = await exportOnnxInt8(model, calib, { method, reduceRange: true });
      expect(r.skipped).toEqual([]);
      const got = (await runOnnx(r.bytes, x)).data;
      let diff = 0;
      for (const [i, v] of want.entries()) diff = Math.max(diff, Math.abs(got[i]! - v));
      // Each layer adds about half an input step times its fan-in |w|: a few percent over 4 layers.
      expect(diff / scale, method).toBeLessThan(0.05);
      expect(diff, method).toBeGreaterThan(0);
      lines.push(`${method} ${(diff / scale).toExponential(2)}`);
    }
    console.log(`int8 simplenet: max |logit error| / max |logit|: ${lines.join(', ')}`);
    x.dispose();
  });

  it('saveOnnxInt8 writes the same bytes exportOnnxInt8 returns', async () => {
    const model = convNet();
    const calib = [batch(8, [8, 6, 6, 4])];
    const dir = mkdtempSync(join(tmpdir(), 'int8-'));
    dirs.push(dir);
    const path = join(dir, 'sub', 'm.int8.onnx');
    const saved = await saveOnnxInt8(model, calib, path);
    expect(Buffer.compare(readFileSync(path), Buffer.from(saved.bytes))).toBe(0);
    const again = (await exportOnnxInt8(model, calib)).bytes;
    expect(Buffer.compare(Buffer.from(again), Buffer.from(saved.bytes))).toBe(0);
  });
});

describe('exportOnnxInt8: calibration methods and input layout', () => {
  /** One 1x1 conv reading the image: the image's own range is the calibrated one. */
  function oneConv(): tf.LayersModel {
    const input = tf.input({ shape: [4, 4, 2] });
    const y = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'c' }).apply(input);
    return tf.model({ inputs: input, outputs: y as tf.SymbolicTensor });
  }
  // 16 images in [0, 1) and one outlier pixel of 100.
  const data = uniform(11, 16 * 4 * 4 * 2, 0, 1);
  data[5] = 100;
  const calib = [{ data, shape: [16, 4, 4, 2] as [number, number, number, number] }];

  it("minmax keeps the outlier; 'percentile' cuts it and gets a finer step", async () => {
    const model = oneConv();
    const range = async (method: 'minmax' | 'percentile') =>
      (await exportOnnxInt8(model, calib, { method, percentile: 99 })).quantized[0]!.input;
    const minmax = await range('minmax');
    expect(minmax).toMatchObject({ clipMin: 0, clipMax: 100, ...handActivation(0, 100) });
    const pct = await range('percentile');
    // 1% of 512 values is 5: the outlier is cut, the top stays under 1 (+ one histogram bin).
    expect(pct.clipMax).toBeGreaterThan(0.9);
    expect(pct.clipMax).toBeLessThan(1 + 100 / 2048);
    expect(pct.scale).toBeCloseTo(pct.clipMax / 255, 6);
    // A step 100x finer for the 511 ordinary values; the clipped outlier itself
    // is off by 99, which squared-error SQNR counts heavily.
    expect(pct.scale).toBeLessThan(minmax.scale / 50);
    expect(pct.sqnrDb).toBeLessThan(minmax.sqnrDb);
  });

  it("'mse' picks the clipping whose quantization error on the data is least", async () => {
    // Exponential values (a heavy right tail), 8192 of them.
    const u = uniform(14, 16 * 16 * 16 * 2, 1e-6, 1);
    const values = Float32Array.from(u, (v) => -Math.log(v));
    const input = tf.input({ shape: [16, 16, 2] });
    const y = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'c' }).apply(input);
    const model = tf.model({ inputs: input, outputs: y as tf.SymbolicTensor });
    const shape = [16, 16, 16, 2] as [number, number, number, number];
    const r = await exportOnnxInt8(model, [{ data: values, shape }], { method: 'mse' });
    const chosen = r.quantized[0]!.input;
    const max = Math.max(...values);
    // Brute force on the values themselves (the exporter uses a histogram).
    const err = (clip: number) => {
      const s = Math.fround(clip / 255);
      let e = 0;
      for (const v of values) e += (v - Math.min(255, Math.round(v / s)) * s) ** 2;
      return e;
    };
    let best = Number.POSITIVE_INFINITY;
    for (let k = 5; k <= 100; k++) best = Math.min(best, err((max * k) / 100));
    expect(chosen.clipMax).toBeLessThan(max);
    expect(err(chosen.clipMax)).toBeLessThanOrEqual(best * 1.02);
    expect(err(chosen.clipMax)).toBeLessThan(err(max));
  });

  it("inputLayout 'NCHW': the QuantizeLinear reads the graph input, the outputs match the NHWC export", async () => {
    const model = convNet();
    const calib8 = [batch(12, [8, 6, 6, 4])];
    const nhwc = await exportOnnxInt8(model, calib8);
    const nchw = await exportOnnxInt8(model, calib8, { inputLayout: 'NCHW' });
    const m = decodeOnnx(nchw.bytes);
    expect(m.graph.node[0]!.op_type).toBe('QuantizeLinear');
    expect(m.graph.node[0]!.input[0]).toBe('input');
    const x = batch(13, [2, 6, 6, 4]);
    const xt = x.transpose([0, 3, 1, 2]);
    const a = (await runOnnx(nhwc.bytes, x)).data;
    const b = (await runOnnx(nchw.bytes, xt)).data;
    expect([...b]).toEqual([...a]);
    for (const t of [x, xt]) t.dispose();
  });
});

describe('exportOnnxInt8: refusals, one line each', () => {
  const calib = [batch(9, [8, 6, 6, 4])];
  it('a train-form model: fold it first', async () => {
    const train = createModel('simplenet', { inputSize: 8, numClasses: 3 });
    await expect(exportOnnxInt8(train, [batch(1, [8, 8, 8, 3])])).rejects.toThrow(
      /^exportOnnxInt8: model '.*' is in train form \(layer '.*' is a \w+\); fold it first with reparameterize\(model\)$/,
    );
  });
  it('an empty or too small calibration set', async () => {
    await expect(exportOnnxInt8(convNet(), [])).rejects.toThrow(
      /^exportOnnxInt8: the calibration set has 0 image\(s\) in 0 batch\(es\); at least 8 are needed \(option minCalibrationImages\)$/,
    );
    await expect(exportOnnxInt8(convNet(), [batch(1, [3, 6, 6, 4])])).rejects.toThrow(
      /has 3 image\(s\) in 1 batch\(es\); at least 8 are needed/,
    );
    await expect(
      exportOnnxInt8(convNet(), [batch(1, [3, 6, 6, 4])], { minCalibrationImages: 3 }),
    ).resolves.toMatchObject({ calibrationImages: 3 });
  });
  it('a batch of the wrong shape, or not a batch', async () => {
    await expect(exportOnnxInt8(convNet(), [batch(1, [8, 5, 6, 4])])).rejects.toThrow(
      /^exportOnnxInt8: calibration batch 0 has shape \[8, 5, 6, 4\], the model takes \[n, 6, 6, 4\]$/,
    );
    await expect(
      exportOnnxInt8(convNet(), [{ data: new Float32Array(10), shape: [1, 6, 6, 4] }]),
    ).rejects.toThrow(/calibration batch 0 has 10 values for shape \[1, 6, 6, 4\]/);
    await expect(exportOnnxInt8(convNet(), calib, { method: 'kl' as 'mse' })).rejects.toThrow(
      /method must be 'minmax', 'percentile' or 'mse', got kl/,
    );
  });
  it('a layer that cannot be quantized is left float and named', async () => {
    // Dense on an image is a MatMul: it stays float, by name.
    const input = tf.input({ shape: [6, 6, 4] });
    const c = tf.layers.conv2d({ filters: 2, kernelSize: 1, name: 'c1' }).apply(input);
    const d = tf.layers.dense({ units: 3, name: 'pixelwise' }).apply(c) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: d });
    const r = await exportOnnxInt8(model, calib);
    expect(r.skipped).toEqual([
      { layer: 'pixelwise', why: 'MatMul (a Dense on an image) is not quantized; it stays float' },
    ]);
    expect(r.quantized.map((q) => q.layer)).toEqual(['c1']);
    const x = batch(2, [2, 6, 6, 4]);
    const got = (await runOnnx(r.bytes, x)).data;
    expect(got.length).toBe(2 * 6 * 6 * 3);
    x.dispose();
  });
});
