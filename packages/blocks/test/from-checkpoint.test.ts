/**
 * A PyTorch checkpoint in the official DingXiaoH/RepVGG key layout (train form:
 * rbr_dense, rbr_1x1, rbr_identity, linear), folded by @repnets/fuse and built
 * as a TF.js deploy model, against the train-form network computed naively.
 */
import { type ActivationNHWC, makeKernel, referenceConv2d, type StateTensor } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { modelFromStateDict } from '../src/index.js';
import { rng } from './helpers/random-bn.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

const EPS = 1e-5;
/** [name, in, out, stride, identity] */
const BLOCKS: [string, number, number, number, boolean][] = [
  ['stage0', 3, 8, 2, false],
  ['stage1.0', 8, 16, 2, false],
  ['stage1.1', 16, 16, 1, true],
];
const CLASSES = 4;

function checkpoint(seed: number): Map<string, StateTensor> {
  const r = rng(seed);
  const t = (shape: number[], f: () => number): StateTensor => ({
    shape,
    data: Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, f),
  });
  const sd = new Map<string, StateTensor>();
  const bn = (prefix: string, c: number) => {
    sd.set(
      `${prefix}.weight`,
      t([c], () => 0.5 + r()),
    );
    sd.set(
      `${prefix}.bias`,
      t([c], () => r() - 0.5),
    );
    sd.set(
      `${prefix}.running_mean`,
      t([c], () => r() - 0.5),
    );
    sd.set(
      `${prefix}.running_var`,
      t([c], () => 0.5 + r()),
    );
    sd.set(`${prefix}.num_batches_tracked`, { shape: [], data: new Float32Array([100]) });
  };
  for (const [name, i, o, , identity] of BLOCKS) {
    if (identity) bn(`${name}.rbr_identity`, o);
    sd.set(
      `${name}.rbr_dense.conv.weight`,
      t([o, i, 3, 3], () => (r() - 0.5) * 0.6),
    );
    bn(`${name}.rbr_dense.bn`, o);
    sd.set(
      `${name}.rbr_1x1.conv.weight`,
      t([o, i, 1, 1], () => (r() - 0.5) * 0.6),
    );
    bn(`${name}.rbr_1x1.bn`, o);
  }
  sd.set(
    'linear.weight',
    t([CLASSES, 16], () => r() - 0.5),
  );
  sd.set(
    'linear.bias',
    t([CLASSES], () => r() - 0.5),
  );
  return sd;
}

/** The train-form network, branch by branch, in float64-free plain loops (NHWC). */
function naive(sd: Map<string, StateTensor>, x: ActivationNHWC): number[][] {
  const bnApply = (y: ActivationNHWC, prefix: string): Float64Array => {
    const g = sd.get(`${prefix}.weight`)!.data;
    const b = sd.get(`${prefix}.bias`)!.data;
    const m = sd.get(`${prefix}.running_mean`)!.data;
    const v = sd.get(`${prefix}.running_var`)!.data;
    const c = y.shape[3];
    return Float64Array.from(y.data, (val, k) => {
      const ch = k % c;
      return ((val - m[ch]!) / Math.sqrt(v[ch]! + EPS)) * g[ch]! + b[ch]!;
    });
  };
  let cur = x;
  for (const [name, i, o, stride, identity] of BLOCKS) {
    const conv = (key: string, k: number) =>
      referenceConv2d(cur, makeKernel('OIHW', [o, i, k, k], sd.get(key)!.data as Float32Array), {
        stride,
        pad: (k - 1) / 2,
      });
    const dense = conv(`${name}.rbr_dense.conv.weight`, 3);
    const sum = bnApply(dense, `${name}.rbr_dense.bn`);
    const one = bnApply(conv(`${name}.rbr_1x1.conv.weight`, 1), `${name}.rbr_1x1.bn`);
    const id = identity ? bnApply(cur, `${name}.rbr_identity`) : undefined;
    const out = Float32Array.from(sum, (v, k) => Math.max(0, v + one[k]! + (id ? id[k]! : 0)));
    cur = { shape: dense.shape, data: out };
  }
  const [n, h, w, c] = cur.shape;
  const W = sd.get('linear.weight')!.data;
  const B = sd.get('linear.bias')!.data;
  return Array.from({ length: n }, (_, b) => {
    const pooled = Array.from({ length: c }, (_, ch) => {
      let s = 0;
      for (let p = 0; p < h * w; p++) s += cur.data[(b * h * w + p) * c + ch]!;
      return s / (h * w);
    });
    return Array.from(
      { length: CLASSES },
      (_, k) => B[k]! + pooled.reduce((s, v, ch) => s + v * W[k * c + ch]!, 0),
    );
  });
}

describe('modelFromStateDict: a PyTorch checkpoint as a TF.js deploy model', () => {
  it('matches the train-form network computed branch by branch', async () => {
    const sd = checkpoint(3);
    const { model, fused } = modelFromStateDict(sd, { inputSize: 16 });
    expect(fused.layout).toBe('official-repvgg');
    expect(fused.folded.map((b) => [b.name, b.stride, b.from])).toEqual([
      ['stage0', 2, 'repvgg'],
      ['stage1.0', 2, 'repvgg'],
      ['stage1.1', 1, 'repvgg'],
    ]);
    expect(fused.stateDict.has('stage1.1.rbr_reparam.weight')).toBe(true);
    const r = rng(9);
    const data = Float32Array.from({ length: 2 * 16 * 16 * 3 }, () => r() * 2 - 1);
    const want = naive(sd, { shape: [2, 16, 16, 3], data });
    const got = (
      model.predict(tf.tensor4d(data, [2, 16, 16, 3])) as tf.Tensor
    ).arraySync() as number[][];
    const scale = Math.max(...want.flat().map(Math.abs));
    const worst = Math.max(...want.flat().map((v, k) => Math.abs(v - got.flat()[k]!)));
    expect(worst / scale).toBeLessThan(1e-4);
    // Stock layers only: the model loads without @repnets/blocks.
    expect(
      model.layers.map((l) => l.getClassName()).every((c) => !/RepVGG|MobileOne|ConvBN/.test(c)),
    ).toBe(true);
    model.dispose();
  });

  it('names what it cannot place, and a classifier that does not fit', () => {
    const extra = checkpoint(4);
    extra.set('aux.weight', { shape: [2], data: new Float32Array(2) });
    expect(() => modelFromStateDict(extra, { strict: false })).toThrow(
      /does not know how to place: aux\.weight/,
    );
    const noHead = checkpoint(5);
    noHead.delete('linear.weight');
    noHead.delete('linear.bias');
    expect(() => modelFromStateDict(noHead)).toThrow(/no classifier weight/);
  });
});
