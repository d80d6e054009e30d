/**
 * One description of a network: for every zoo name, the architecture record,
 * the built train form, the deploy form built directly, `reparameterize` of
 * the train form and the ONNX export agree on every block's channels, kernel,
 * stride, groups and branches; and the directly built deploy form, given the
 * folded weights, computes the same logits.
 */
import { architecture, type BlockRecord } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createModel, isReparameterizable, listModels, reparameterize } from '../src/index.js';
import { decodeOnnx, exportOnnx } from '../src/onnx/index.js';
import { randomizeBatchNorm } from './helpers/random-bn.js';
import { smallOptions } from './helpers/small-options.js';

const CLASS: Record<BlockRecord['kind'], string> = {
  repvgg: 'RepVGGBlock',
  qarepvgg: 'QARepVGGBlock',
  mobileone: 'MobileOneBlock',
  convbn: 'ConvBN',
};

interface BlockLayer {
  getClassName(): string;
  getConfig(): Record<string, unknown>;
  readonly branchCount: number;
  readonly hasIdentity: boolean;
}

describe.each(listModels())('%s', (name) => {
  const opts = smallOptions(name);
  const record = architecture(name, opts);

  it('the train form has exactly the record blocks, each as the record says', () => {
    const model = createModel(name, opts);
    const reparameterizable = model.layers.filter((l) => isReparameterizable(l)).map((l) => l.name);
    // Branched graphs (ShuffleNet) list layers by depth, not in the record's order.
    expect(reparameterizable.sort()).toEqual(record.blocks.map((b) => b.name).sort());
    for (const b of record.blocks) {
      const layer = model.getLayer(b.name) as unknown as BlockLayer;
      const c = layer.getConfig();
      expect(layer.getClassName(), b.name).toBe(CLASS[b.kind]);
      expect(c.filters, b.name).toBe(b.outChannels);
      expect(c.kernelSize, b.name).toBe(b.kernelSize);
      expect(c.strides, b.name).toBe(b.stride);
      expect(c.groups === 'depthwise' ? b.inChannels : c.groups, b.name).toBe(b.groups);
      expect(c.se, b.name).toBe(b.se);
      expect(c.activation, b.name).toBe(b.activation);
      const roles = b.branches;
      expect(layer.branchCount, b.name).toBe(
        roles.kxk + (roles.scale ? 1 : 0) + (roles.identity ? 1 : 0),
      );
      expect(layer.hasIdentity, b.name).toBe(roles.identity);
      if (b.kind === 'mobileone') expect(c.branches, b.name).toBe(roles.kxk);
      if (b.kind === 'repvgg' || b.kind === 'qarepvgg') expect(c.conv1x1, b.name).toBe(roles.scale);
      const input = (model.getLayer(b.name).input as tf.SymbolicTensor).shape;
      expect(input[3], b.name).toBe(b.inChannels);
    }
    model.dispose();
  });

  it('reparameterize, the deploy form built directly and the ONNX export agree with the record', async () => {
    const train = createModel(name, { ...opts, seed: 3 });
    randomizeBatchNorm(train, 5);
    const { model: folded, folded: report } = await reparameterize(train);
    const count = (b: BlockRecord) =>
      b.branches.kxk + (b.branches.scale ? 1 : 0) + (b.branches.identity ? 1 : 0);
    const expected = new Map(record.blocks.map((b) => [b.name, count(b)]));
    expect(report).toHaveLength(record.blocks.length);
    for (const f of report) expect(f.branches, f.name).toBe(expected.get(f.name));
    const direct = createModel(name, { ...opts, form: 'deploy' });
    expect(direct.layers.map((l) => [l.name, l.getClassName()])).toEqual(
      folded.layers.map((l) => [l.name, l.getClassName()]),
    );
    expect(direct.weights.map((w) => w.shape)).toEqual(folded.weights.map((w) => w.shape));

    // The train form's ONNX export: one Conv per kxk and scale branch of each block
    // (of the record's kernel sizes, stride and groups), and a BN-only identity branch.
    const trainOnnx = decodeOnnx(await exportOnnx(train));
    const trainInits = new Map(
      trainOnnx.graph.initializer.map((t) => [t.name, t.dims.map(Number)]),
    );
    for (const b of record.blocks) {
      const convs = trainOnnx.graph.node.filter(
        (n) =>
          n.op_type === 'Conv' &&
          n.input[1]?.startsWith(`${b.name}/`) &&
          !n.input[1].startsWith(`${b.name}/se/`),
      );
      expect(convs.length, b.name).toBe(b.branches.kxk + (b.branches.scale ? 1 : 0));
      const kernels = convs.map((n) => trainInits.get(n.input[1]!)![2]).sort();
      const want = [
        ...Array.from({ length: b.branches.kxk }, () => b.kernelSize),
        ...(b.branches.scale ? [1] : []),
      ].sort();
      expect(kernels, b.name).toEqual(want);
      for (const n of convs) {
        expect(Number(n.attribute?.find((x) => x.name === 'group')?.i), b.name).toBe(b.groups);
        expect(n.attribute?.find((x) => x.name === 'strides')?.ints?.map(Number), b.name).toEqual([
          b.stride,
          b.stride,
        ]);
      }
      const identityBn = trainOnnx.graph.node.some(
        (n) =>
          n.op_type === 'BatchNormalization' &&
          n.input.some((i) => i.startsWith(`${b.name}/identity_bn`)),
      );
      // QARepVGG's identity is the input itself, no BN; one BN follows its branch sum.
      const qa = b.kind === 'qarepvgg';
      expect(identityBn, `${b.name} identity`).toBe(b.branches.identity && !qa);
      const paths = b.branches.kxk + (b.branches.scale ? 1 : 0) + (b.branches.identity ? 1 : 0);
      const sumNode = trainOnnx.graph.node.find((n) => n.output[0] === `${b.name}/sum`);
      // One branch needs no sum node.
      expect(sumNode?.input.length ?? 1, `${b.name} branches summed`).toBe(paths);
      const postBn = trainOnnx.graph.node.find(
        (n) =>
          n.op_type === 'BatchNormalization' &&
          n.input[1]?.startsWith(`${b.name}/post_bn`) &&
          n.input[0] === `${b.name}/sum`,
      );
      expect(postBn !== undefined, `${b.name} BN after the sum`).toBe(qa);
      if (qa) {
        const bnInputs = trainOnnx.graph.node
          .filter((n) => n.op_type === 'BatchNormalization' && n.input[1]?.startsWith(`${b.name}/`))
          .map((n) => n.input[1]!.split('/')[1]);
        expect(bnInputs.sort(), `${b.name} BNs`).toEqual(['dense_bn', 'post_bn']);
      }
    }

    const onnx = decodeOnnx(await exportOnnx(folded));
    const inits = new Map(onnx.graph.initializer.map((t) => [t.name, t.dims.map(Number)]));
    for (const b of record.blocks) {
      // The conv takes the block's name unless an SE or a separate activation follows it.
      const convName = [`${b.name}_conv`, b.name].find((n) =>
        direct.layers.some((l) => l.name === n),
      )!;
      const conv = direct.getLayer(convName).getConfig() as {
        strides: number | number[];
        kernelSize: number | number[];
      };
      const pair = (v: number | number[]) => (Array.isArray(v) ? v : [v, v]);
      expect(pair(conv.strides), b.name).toEqual([b.stride, b.stride]);
      expect(pair(conv.kernelSize), b.name).toEqual([b.kernelSize, b.kernelSize]);
      const weight = `${convName}/weight`;
      expect(inits.get(weight), weight).toEqual([
        b.outChannels,
        b.inChannels / b.groups,
        b.kernelSize,
        b.kernelSize,
      ]);
      const node = onnx.graph.node.find((n) => n.op_type === 'Conv' && n.input[1] === weight)!;
      const attr = (k: string) => node.attribute?.find((a) => a.name === k);
      expect(Number(attr('group')?.i), b.name).toBe(b.groups);
      expect(attr('strides')?.ints?.map(Number), b.name).toEqual([b.stride, b.stride]);
    }

    direct.setWeights(folded.getWeights());
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1);
    const want = (folded.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const got = (direct.predict(x) as tf.Tensor).dataSync() as Float32Array;
    const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const diff = want.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!)), 0);
    expect(diff).toBeLessThanOrEqual(1e-5 * scale);
    tf.dispose([x]);
    for (const m of [train, folded, direct]) m.dispose();
  });
});

it("the deprecated variant: 'cifar' is stemStride 1", () => {
  const a = architecture('repvgg_a0', { stemStride: 1 });
  const model = createModel('repvgg_a0', {
    variant: 'cifar',
    widthMultipliers: [0.25, 0.25, 0.25, 0.25],
  });
  expect((model.getLayer('stage0').getConfig() as { strides: number }).strides).toBe(
    a.blocks[0]!.stride,
  );
  expect(a.blocks[0]!.stride).toBe(1);
  model.dispose();
});
