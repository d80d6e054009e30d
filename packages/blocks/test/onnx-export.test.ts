/** exportOnnx options, graph shape, stock layers, errors and saveOnnx. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ChannelShuffle, ChannelSplit, ConvBN, SEBlock } from '../src/index.js';
import { decodeOnnx, exportOnnx, onnxSupportedLayers, saveOnnx } from '../src/onnx/index.js';
import { runOnnx } from './helpers/onnx-runtime.js';
import { randomizeBatchNorm } from './helpers/random-bn.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function relativeDiff(model: tf.LayersModel, got: Float32Array, x: tf.Tensor) {
  const ref = (await (model.predict(x) as tf.Tensor).data()) as Float32Array;
  expect(got.length).toBe(ref.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / scale;
}

function tiny(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 4] });
  const c = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' })
    .apply(input);
  const p = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(c);
  const out = tf.layers.dense({ units: 3, name: 'fc' }).apply(p) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'tiny' });
}

describe('exportOnnx: model header and options', () => {
  it('defaults: opset 13 (IR 7), NHWC input with a symbolic batch, names input/output', async () => {
    const m = decodeOnnx(await exportOnnx(tiny()));
    expect(m.ir_version).toBe(7);
    expect(m.opset_import).toEqual([{ version: 13 }]);
    expect(m.producer_name).toBe('@repnets/blocks');
    const [input] = m.graph.input;
    expect(input!.name).toBe('input');
    expect(input!.type.tensor_type.shape.dim).toEqual([
      { dim_param: 'batch' },
      { dim_value: 6 },
      { dim_value: 6 },
      { dim_value: 4 },
    ]);
    expect(m.graph.output[0]!.name).toBe('output');
    expect(m.graph.node[0]).toMatchObject({ op_type: 'Transpose', input: ['input'] });
    expect(m.graph.node.map((n) => n.op_type)).toEqual([
      'Transpose',
      'Conv',
      'Relu',
      'GlobalAveragePool',
      'Flatten',
      'Gemm',
    ]);
    // Weights are raw little-endian float32: conv OIHW [4, 4, 3, 3].
    const w = m.graph.initializer.find((t) => t.name === 'conv/weight')!;
    expect(w.dims).toEqual([4, 4, 3, 3]);
    expect(w.data_type).toBe(1);
    expect(w.raw_data!.byteLength).toBe(4 * 4 * 3 * 3 * 4);
  });

  it('opset 17 (IR 8), custom names, producer and a fixed batch', async () => {
    const model = tiny();
    const bytes = await exportOnnx(model, {
      opset: 17,
      inputName: 'pixels',
      outputName: 'logits',
      dynamicBatch: false,
      producer: 'me',
    });
    const m = decodeOnnx(bytes);
    expect(m.ir_version).toBe(8);
    expect(m.opset_import).toEqual([{ version: 17 }]);
    expect(m.producer_name).toBe('me');
    expect(m.graph.input[0]!.name).toBe('pixels');
    expect(m.graph.input[0]!.type.tensor_type.shape.dim[0]).toEqual({ dim_value: 1 });
    expect(m.graph.output[0]!.name).toBe('logits');
    const x = tf.randomNormal([1, 6, 6, 4], 0, 1, 'float32', 2);
    const { data, dims } = await runOnnx(bytes, x);
    expect(dims).toEqual([1, 3]);
    expect(await relativeDiff(model, data, x)).toBeLessThan(1e-5);
  });

  it("inputLayout 'NCHW': an [N, C, H, W] input straight into the Conv, NCHW rank-4 outputs", async () => {
    const model = tiny();
    const m = decodeOnnx(await exportOnnx(model, { inputLayout: 'NCHW' }));
    expect(m.graph.input[0]!.type.tensor_type.shape.dim).toEqual([
      { dim_param: 'batch' },
      { dim_value: 4 },
      { dim_value: 6 },
      { dim_value: 6 },
    ]);
    expect(m.graph.node.map((n) => n.op_type)).toEqual([
      'Conv',
      'Relu',
      'GlobalAveragePool',
      'Flatten',
      'Gemm',
    ]);
    expect(m.graph.node[0]!.input[0]).toBe('input');
    expect(m.doc_string).toContain('NCHW float32 input');

    // A rank-4 output keeps PyTorch's layout too.
    const input = tf.input({ shape: [5, 7, 2] });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'c' });
    const features = tf.model({ inputs: input, outputs: conv.apply(input) as tf.SymbolicTensor });
    const bytes = await exportOnnx(features, { inputLayout: 'NCHW' });
    expect(decodeOnnx(bytes).graph.output[0]!.type.tensor_type.shape.dim.slice(1)).toEqual([
      { dim_value: 3 },
      { dim_value: 5 },
      { dim_value: 7 },
    ]);
    const x = tf.randomNormal([2, 5, 7, 2], 0, 1, 'float32', 3);
    const { data, dims } = await runOnnx(bytes, tf.transpose(x, [0, 3, 1, 2]));
    expect(dims).toEqual([2, 3, 5, 7]);
    const want = tf.transpose(features.predict(x) as tf.Tensor, [0, 3, 1, 2]);
    const diff = tf.max(tf.abs(tf.sub(tf.tensor(data, want.shape), want))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-5);
  });

  it('rejects an inputLayout other than NHWC or NCHW', async () => {
    await expect(exportOnnx(tiny(), { inputLayout: 'CHW' as 'NCHW' })).rejects.toThrow(
      "exportOnnx: inputLayout must be 'NHWC' or 'NCHW', got CHW",
    );
  });

  it('rejects an opset outside 13..17', async () => {
    await expect(exportOnnx(tiny(), { opset: 12 as 13 })).rejects.toThrow(
      /opset .* 13 to 17, got 12/,
    );
  });
});

describe('exportOnnx: layers', () => {
  it('an unknown layer class fails naming the layer and its class', async () => {
    const input = tf.input({ shape: [4, 4, 2] });
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(input);
    const model = tf.model({ inputs: input, outputs: up as tf.SymbolicTensor });
    await expect(exportOnnx(model)).rejects.toThrow(
      /layer 'up' has class UpSampling2D, which has no ONNX converter/,
    );
    expect(onnxSupportedLayers()).toContain('RepVGGBlock');
  });

  it('stock layers (pooling, BN, merges, reshape, activations) and our ConvBN, SE, split, shuffle match TF.js', async () => {
    const input = tf.input({ shape: [9, 9, 8] });
    const L = tf.layers;
    const apply = (l: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
      l.apply(x) as tf.SymbolicTensor;
    let x = apply(
      L.zeroPadding2d({
        padding: [
          [1, 0],
          [0, 1],
        ],
        name: 'zp',
      }),
      input,
    );
    x = apply(L.conv2d({ filters: 8, kernelSize: 3, strides: 2, name: 'c_s2' }), x);
    x = apply(L.batchNormalization({ name: 'bn' }), x);
    x = apply(L.leakyReLU({ alpha: 0.1, name: 'leaky' }), x);
    const a = apply(new ChannelSplit({ part: 0, name: 'split0' }), x);
    const b = apply(new ChannelSplit({ part: 1, name: 'split1' }), x);
    const bb = apply(new ConvBN({ filters: 4, kernelSize: 3, activation: 'relu', name: 'cbn' }), b);
    x = apply(L.concatenate({ name: 'cat' }), [a, bb]);
    x = apply(new ChannelShuffle({ groups: 2, name: 'shuffle' }), x);
    x = apply(new SEBlock({ ratio: 0.25, name: 'se' }), x);
    const m = apply(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'mp' }), x);
    const v = apply(
      L.averagePooling2d({ poolSize: 2, strides: 2, padding: 'same', name: 'ap' }),
      x,
    );
    x = apply(L.add({ name: 'add' }), [m, v]);
    x = apply(L.multiply({ name: 'mul' }), [x, m]);
    x = apply(L.activation({ activation: 'relu6', name: 'relu6' }), x);
    x = apply(L.dense({ units: 6, activation: 'tanh', name: 'dense_nhwc' }), x);
    x = apply(L.flatten({ name: 'flat' }), x);
    x = apply(L.dropout({ rate: 0.5, name: 'drop' }), x);
    x = apply(L.reshape({ targetShape: [3, 2, 4], name: 'reshape' }), x);
    x = apply(L.conv2d({ filters: 5, kernelSize: 2, name: 'c_after_reshape' }), x);
    x = apply(L.globalMaxPooling2d({ name: 'gmp' }), x);
    x = apply(L.dense({ units: 4, activation: 'softmax', name: 'probs' }), x);
    const model = tf.model({ inputs: input, outputs: x, name: 'stock' });
    randomizeBatchNorm(model, 5);
    const xIn = tf.randomNormal([2, 9, 9, 8], 0, 1, 'float32', 4);
    const { data } = await runOnnx(await exportOnnx(model), xIn);
    expect(await relativeDiff(model, data, xIn)).toBeLessThan(1e-4);
  });

  it('a Sequential model with an image output comes back NHWC', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [5, 5, 3], filters: 2, kernelSize: 3, strides: 2 }),
        tf.layers.activation({ activation: 'sigmoid' }),
      ],
    });
    const x = tf.randomNormal([3, 5, 5, 3], 0, 1, 'float32', 6);
    const { data, dims } = await runOnnx(await exportOnnx(model), x);
    expect(dims).toEqual([3, 2, 2, 2]);
    expect(await relativeDiff(model, data, x)).toBeLessThan(1e-5);
  });
});

describe('saveOnnx', () => {
  it('writes the file atomically (no temp file left) and onnxruntime loads it from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'repnets-onnx-'));
    dirs.push(dir);
    const path = join(dir, 'nested', 'tiny.onnx');
    const model = tiny();
    const n = await saveOnnx(model, path);
    expect(readFileSync(path).length).toBe(n);
    expect(readdirSync(join(dir, 'nested'))).toEqual(['tiny.onnx']);
    const x = tf.randomNormal([2, 6, 6, 4], 0, 1, 'float32', 8);
    const { data } = await runOnnx(path, x);
    expect(await relativeDiff(model, data, x)).toBeLessThan(1e-5);
  });

  it('a failed write names the path and leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'repnets-onnx-'));
    dirs.push(dir);
    // A directory where the file should go: rename onto it fails.
    const path = join(dir, 'taken');
    await saveOnnx(tiny(), join(path, 'x.onnx'));
    await expect(saveOnnx(tiny(), path)).rejects.toThrow(/saveOnnx: cannot write '.*taken'/);
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(existsSync(join(path, 'x.onnx'))).toBe(true);
  });
});
