import {
  createModel,
  listModels,
  QARepVGGBlock,
  RepVGGBlock,
  reparameterize,
  type ZooName,
} from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { accountModel, knownLayerClasses, registerLayerCost } from '../src/index.js';
import { tinyRepVGG, useWasm } from './helpers/models.js';

beforeAll(useWasm);
afterEach(() => tf.disposeVariables());

const F = 4; // bytes per float32

describe('accountModel: hand-computed RepVGG block 3 -> 8 on 8x8, then pool and dense(2)', () => {
  // X = 8*8*3 = 192 floats in, Y = 8*8*8 = 512 floats out; 3x3 kernel 216, 1x1 kernel 24.
  it('training form: both branches, each conv and BN separately', () => {
    const model = tinyRepVGG([8, 8, 3], { filters: 8 });
    const a = accountModel(model);
    // MACs: 3x3 64*216 + 1x1 64*24 + dense 8*2.
    expect(a.macs).toBe(13824 + 1536 + 16);
    expect(a.flops).toBe(2 * a.macs);
    // Trainable: kernels 216 + 24, gamma/beta 2 * 2 * 8, dense 16 + 2. Frozen: 2 BNs' mean/var.
    expect(a.params).toEqual({ trainable: 290, nonTrainable: 32, total: 322 });
    expect(a.params.total).toBe(model.countParams());
    // conv3 192+216+512, bn 512+32+512, conv1 192+24+512, bn 1056, add 3*512, relu 2*512,
    // pool 512+8, dense 8+18+2.
    const block = 920 + 1056 + 728 + 1056 + 1536 + 1024;
    expect(a.perLayer[0]!.memoryAccessBytes).toBe(block * F);
    expect(a.memoryAccessBytes).toBe((block + 520 + 28) * F);
    expect(a.weightBytes + a.readBytes + a.writeBytes).toBe(a.memoryAccessBytes);
    expect(a.layers).toBe(5); // conv, BN, conv, BN, dense
    expect(a.perLayer[0]!.ops.map((o) => `${o.op}:${o.branch ?? ''}`)).toEqual([
      'conv2d:kxk',
      'batchNorm:kxk',
      'conv2d:scale',
      'batchNorm:scale',
      'add:scale',
      'relu:',
    ]);
    expect(a.inputShape).toEqual([8, 8, 3]);
    expect(a.perLayer.map((l) => l.outputShape)).toEqual([
      [1, 8, 8, 8],
      [1, 8],
      [1, 2],
    ]);
  });

  it('deploy form: one conv with fused bias and ReLU; fewer bytes, params and layers', async () => {
    const model = tinyRepVGG([8, 8, 3], { filters: 8 });
    const { model: deploy } = await reparameterize(model);
    const a = accountModel(deploy);
    expect(a.macs).toBe(13824 + 16);
    expect(a.params).toEqual({ trainable: 242, nonTrainable: 0, total: 242 });
    // conv 192 + 216 + 8 + 512, pool 520, dense 28.
    expect(a.memoryAccessBytes).toBe((928 + 520 + 28) * F);
    expect(a.layers).toBe(2);
    const train = accountModel(model);
    expect(a.memoryAccessBytes).toBeLessThan(train.memoryAccessBytes);
    expect(a.params.total).toBeLessThanOrEqual(train.params.total);
  });
});

describe('accountModel: QARepVGG block 4 -> 4 with identity on 4x4', () => {
  it('no BN on the 1x1 and the identity, one BN after the sum', () => {
    const input = tf.input({ shape: [4, 4, 4] });
    const y = new QARepVGGBlock({ filters: 4 }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    const a = accountModel(model);
    // MACs: 16 pixels x (3x3 kernel 144 + 1x1 kernel 16).
    expect(a.macs).toBe(16 * 144 + 16 * 16);
    // Trainable: kernels 144 + 16, gamma/beta of 2 BNs; frozen: their mean/var.
    expect(a.params).toEqual({ trainable: 176, nonTrainable: 16, total: 192 });
    expect(a.params.total).toBe(model.countParams());
    // X = Y = 64 floats: conv3 64+144+64, bn 64+16+64, conv1 64+16+64, add 3*64,
    // identity add 3*64, post bn 144, relu 2*64.
    expect(a.perLayer[0]!.memoryAccessBytes).toBe((272 + 144 + 144 + 192 + 192 + 144 + 128) * F);
    expect(a.perLayer[0]!.ops.map((o) => `${o.op}:${o.branch ?? ''}`)).toEqual([
      'conv2d:kxk',
      'batchNorm:kxk',
      'conv2d:scale',
      'add:scale',
      'add:identity',
      'batchNorm:post',
      'relu:',
    ]);
  });
});

describe('accountModel: grouped block 4 -> 4, groups 2, with identity, on 4x4', () => {
  // X = Y = 64 floats; 3x3 kernel [3,3,2,4] = 72, 1x1 [1,1,2,4] = 8. Grouped convs run as
  // split(x) + split(kernel) + conv + concat in both forms.
  it('training form counts the split/concat copies and the identity BN', () => {
    const model = tinyRepVGG([4, 4, 4], { filters: 4, groups: 2 }, 3);
    const a = accountModel(model);
    expect(a.macs).toBe(16 * 72 + 16 * 8 + 12);
    expect(a.params).toEqual({ trainable: 72 + 8 + 24 + 15, nonTrainable: 24, total: 143 });
    const dense = 128 + 144 + 200 + 128; // split x, split kernel, conv, concat
    const one = 128 + 16 + 136 + 128;
    const bn = 64 + 16 + 64;
    const block = dense + bn + one + bn + 192 + bn + 192 + 128;
    expect(a.memoryAccessBytes).toBe((block + 68 + 22) * F);
    expect(a.layers).toBe(6); // conv, BN, conv, BN, identity BN, dense
  });

  it('deploy form: GroupConv2D with a separate bias add and ReLU', async () => {
    const model = tinyRepVGG([4, 4, 4], { filters: 4, groups: 2 }, 3);
    const { model: deploy } = await reparameterize(model);
    const a = accountModel(deploy);
    expect(deploy.layers.map((l) => l.getClassName())).toContain('GroupConv2D');
    expect(a.macs).toBe(16 * 72 + 12);
    expect(a.params.total).toBe(72 + 4 + 15);
    expect(a.memoryAccessBytes).toBe((600 + 132 + 128 + 68 + 22) * F);
    expect(a.layers).toBe(2);
  });
});

describe('accountModel: squeeze-excitation', () => {
  it('adds its two 1x1 convs (C*h MACs each) and two layers, in both forms', async () => {
    const plain = tinyRepVGG([4, 4, 16], { filters: 16 });
    const se = tinyRepVGG([4, 4, 16], { filters: 16, se: 'pre' });
    const hidden = 1; // floor(16 / 16)
    const [a, b] = [accountModel(plain), accountModel(se)];
    expect(b.macs - a.macs).toBe(2 * 16 * hidden);
    expect(b.layers - a.layers).toBe(2);
    const [da, db] = await Promise.all([reparameterize(plain), reparameterize(se)]);
    const [ca, cb] = [accountModel(da.model), accountModel(db.model)];
    expect(cb.macs - ca.macs).toBe(2 * 16 * hidden);
    expect(cb.layers - ca.layers).toBe(2);
  });
});

describe('accountModel: published MACs of the deploy forms (224x224, 1000 classes)', () => {
  // MobileOne: Vasu et al. 2023, Table 8 (FLOPs there are multiply-accumulates);
  // ShuffleNetV2 1.0x: Ma et al. 2018, 146M.
  const published: Array<[ZooName, number]> = [
    ['mobileone_s0', 275e6],
    ['repshufflenetv2_x1_0', 146e6],
  ];
  it.each(published)('%s: %d MACs within 1%%', async (name, macs) => {
    const model = createModel(name, { numClasses: 1000, inputSize: 224 });
    const { model: deploy } = await reparameterize(model);
    expect(Math.abs(accountModel(deploy).macs / macs - 1)).toBeLessThan(0.01);
    model.dispose();
    deploy.dispose();
  });
});

/** Small widths keep every structural feature (groups, SE, depthwise, splits) and cost little. */
function smallWidths(name: ZooName): number[] {
  if (name === 'simplenet') return [0.25, 0.25];
  if (name.startsWith('repshufflenet')) return [0.5];
  return [0.25, 0.25, 0.25, 0.25];
}

describe('every zoo model, training and deploy form, 32x32 (no inference needed)', () => {
  it.each(listModels())('%s', async (name) => {
    const model = createModel(name, {
      numClasses: 10,
      inputSize: 32,
      channels: 3,
      stemStride: 1,
      widthMultipliers: smallWidths(name),
    });
    const { model: deploy } = await reparameterize(model);
    const train = accountModel(model);
    const dep = accountModel(deploy);
    expect(train.params.total).toBe(model.countParams());
    expect(dep.params.total).toBe(deploy.countParams());
    expect(dep.params.nonTrainable).toBe(0);
    expect(dep.params.total).toBeLessThanOrEqual(train.params.total);
    expect(dep.macs).toBeLessThanOrEqual(train.macs);
    expect(dep.memoryAccessBytes).toBeLessThan(train.memoryAccessBytes);
    expect(dep.layers).toBeLessThan(train.layers);
    expect(train.perLayer.at(-1)!.outputShape).toEqual([1, 10]);
    expect(dep.perLayer.at(-1)!.outputShape).toEqual([1, 10]);
    model.dispose();
    deploy.dispose();
  });
});

describe('accountModel: input shapes and bad input', () => {
  it('fills unknown input dimensions from inputShape, and only those', () => {
    const input = tf.input({ shape: [null, null, 3] });
    const y = new RepVGGBlock({ filters: 8 }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    expect(() => accountModel(model)).toThrow(/unknown dimensions; pass inputShape/);
    const a = accountModel(model, { inputShape: [8, 8, 3] });
    expect(a.macs).toBe(13824 + 1536);
    expect(accountModel(model, { inputShape: [16, 16, 3] }).macs).toBe(4 * a.macs);
    expect(() => accountModel(model, { inputShape: [8, 8, 1] })).toThrow(
      /disagrees with the model input \[null, null, null, 3\] at axis 3/,
    );
    expect(() => accountModel(model, { inputShape: [8, 8] })).toThrow(
      /must be 3 positive integers/,
    );
  });

  it('names an unknown layer class and how to teach it', () => {
    class Mystery extends tf.layers.Layer {
      static readonly className = 'Mystery';
      override computeOutputShape(s: tf.Shape | tf.Shape[]) {
        return s as tf.Shape;
      }
    }
    const input = tf.input({ shape: [4, 4, 2] });
    const model = tf.model({
      inputs: input,
      outputs: new Mystery({ name: 'odd' }).apply(input) as tf.SymbolicTensor,
    });
    expect(() => accountModel(model)).toThrow(
      /no cost rule for layer 'odd' of class Mystery; known: .*RepVGGBlock.*registerLayerCost/,
    );
    registerLayerCost('Mystery', () => []);
    expect(accountModel(model).macs).toBe(0);
    expect(knownLayerClasses()).toContain('Mystery');
  });

  it('rejects what is not a LayersModel', () => {
    expect(() => accountModel({} as tf.LayersModel)).toThrow(/expected a tf.LayersModel/);
  });
});
