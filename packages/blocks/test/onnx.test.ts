/**
 * Exported models run in onnxruntime-node and agree with TF.js (wasm) on the
 * same inputs: train form and deploy form, with randomized BN statistics.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createModel,
  MobileOneBlock,
  RepVGGBlock,
  reparameterize,
  type ZooName,
} from '../src/index.js';
import { decodeOnnx, exportOnnx } from '../src/onnx/index.js';
import { breathe } from './helpers/models.js';
import { runOnnx } from './helpers/onnx-runtime.js';
import { randomizeBatchNorm } from './helpers/random-bn.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});
afterEach(() => tf.disposeVariables());

/** max |onnx - tfjs| / max |tfjs| over the logits. */
async function compare(model: tf.LayersModel, x: tf.Tensor): Promise<number> {
  const bytes = await exportOnnx(model);
  await breathe();
  const want = model.predict(x) as tf.Tensor;
  const ref = (await want.data()) as Float32Array;
  want.dispose();
  await breathe();
  const { data: got } = await runOnnx(bytes, x);
  expect(got.length).toBe(ref.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(got[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  expect(scale).toBeGreaterThan(0);
  return diff / scale;
}

function oneBlockRepVGG(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 8] });
  const y = new RepVGGBlock({ filters: 8, groups: 2, se: 'pre', name: 'block' }).apply(input);
  const z = new RepVGGBlock({ filters: 16, strides: 2, groups: 2, se: 'post', name: 'down' }).apply(
    y,
  );
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(z);
  const out = tf.layers.dense({ units: 5, name: 'fc' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'repvgg_g2_se' });
}

function smallMobileOne(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 6] });
  let x = input as tf.SymbolicTensor;
  const unit = (filters: number, stride: number, name: string) => {
    x = new MobileOneBlock({
      filters: x.shape[3] as number,
      strides: stride,
      groups: 'depthwise',
      branches: 2,
      name: `${name}_dw`,
    }).apply(x) as tf.SymbolicTensor;
    x = new MobileOneBlock({ filters, kernelSize: 1, branches: 2, name: `${name}_pw` }).apply(
      x,
    ) as tf.SymbolicTensor;
  };
  unit(6, 1, 'u0');
  unit(12, 2, 'u1');
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x);
  const out = tf.layers.dense({ units: 4, name: 'fc' }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'mobileone_small' });
}

const zoo = (name: ZooName) => () =>
  createModel(name, { numClasses: 10, inputSize: 32, stemStride: 1 });

const CASES: Array<[string, () => tf.LayersModel]> = [
  ['one-block RepVGG, groups 2, SE pre and post', oneBlockRepVGG],
  ['small MobileOne, depthwise, k = 2', smallMobileOne],
  ['repvgg_a0 (cifar, 32 px)', zoo('repvgg_a0')],
  ['mobileone_s0 (cifar, 32 px)', zoo('mobileone_s0')],
  ['repshufflenetv2_x0_5 (cifar, 32 px)', zoo('repshufflenetv2_x0_5')],
];

describe('onnxruntime-node runs the export like TF.js (batch 2, randomized BN)', () => {
  it.each(CASES)('%s: train form and deploy form', async (_, build) => {
    const model = build();
    randomizeBatchNorm(model, 7);
    const [, h, w, c] = model.inputs[0]!.shape as number[];
    const x = tf.randomNormal([2, h!, w!, c!], 0, 1, 'float32', 11);
    expect(await compare(model, x)).toBeLessThanOrEqual(1e-4);
    await breathe();
    const { model: deploy } = await reparameterize(model);
    await breathe();
    expect(await compare(deploy, x)).toBeLessThanOrEqual(1e-4);
    x.dispose();
    model.dispose();
    deploy.dispose();
  });

  it('a grouped conv is one Conv with group 2, in both forms; nothing is split or concatenated', async () => {
    const model = oneBlockRepVGG();
    const { model: deploy } = await reparameterize(model);
    for (const m of [model, deploy]) {
      const nodes = decodeOnnx(await exportOnnx(m)).graph.node;
      const groups = nodes
        .filter((n) => n.op_type === 'Conv')
        .map((n) => n.attribute!.find((a) => a.name === 'group')!.i);
      expect(groups).toContain(2);
      expect(nodes.some((n) => n.op_type === 'Split' || n.op_type === 'Concat')).toBe(false);
    }
    const deployConvs = decodeOnnx(await exportOnnx(deploy)).graph.node.filter(
      (n) => n.op_type === 'Conv',
    );
    // Per block: the folded grouped conv and the SE's two 1x1 convs.
    expect(deployConvs).toHaveLength(6);
  });

  it('depthwise convs keep group == channels; stride-2 zero padding folds into Conv pads', async () => {
    const model = smallMobileOne();
    const { model: deploy } = await reparameterize(model);
    expect(deploy.layers.some((l) => l.getClassName() === 'ZeroPadding2D')).toBe(true);
    const nodes = decodeOnnx(await exportOnnx(deploy)).graph.node;
    const attr = (n: (typeof nodes)[number], name: string) =>
      n.attribute!.find((a) => a.name === name)!;
    const convs = nodes.filter((n) => n.op_type === 'Conv');
    expect(convs.map((n) => attr(n, 'group').i)).toEqual([6, 1, 6, 1]);
    expect(convs.map((n) => attr(n, 'pads').ints)).toEqual([
      [1, 1, 1, 1],
      [0, 0, 0, 0],
      [1, 1, 1, 1],
      [0, 0, 0, 0],
    ]);
    expect(nodes.some((n) => n.op_type === 'Pad')).toBe(false);
    expect(nodes[0]!.op_type).toBe('Transpose');
  });
});
