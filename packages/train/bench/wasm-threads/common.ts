/**
 * What both sides of the wasm-threads probe run: the timed ops and the small
 * training step. Each thread passes its own TF.js instance (the single-threaded
 * build lives in a worker thread with its own module graph).
 */
import { createModel, type ZooName } from '@repnets/blocks';
import { batchNormTraining } from '@repnets/blocks/kernels';
import type * as tfNs from '@tensorflow/tfjs';
import { rngFromState } from '../../src/random.js';

type TF = typeof tfNs;

export interface OpSpec {
  readonly id: string;
  readonly kind: 'conv2d' | 'matMul';
  /** conv2d: x NHWC and w HWIO ('same', stride 1); matMul: a [M,K] and b [K,N]. */
  readonly a: readonly number[];
  readonly b: readonly number[];
}

export const OPS: readonly OpSpec[] = [
  {
    id: 'conv2d [32,32,32,48]x[3,3,48,48]',
    kind: 'conv2d',
    a: [32, 32, 32, 48],
    b: [3, 3, 48, 48],
  },
  {
    id: 'conv2d [32,16,16,96]x[3,3,96,96]',
    kind: 'conv2d',
    a: [32, 16, 16, 96],
    b: [3, 3, 96, 96],
  },
  { id: 'matMul 1024x1024x1024', kind: 'matMul', a: [1024, 1024], b: [1024, 1024] },
];

/** Multiply-adds times two. */
export function opFlops(s: OpSpec): number {
  if (s.kind === 'matMul') return 2 * s.a[0]! * s.a[1]! * s.b[1]!;
  const [n, h, w] = s.a;
  const [kh, kw, ci, co] = s.b;
  return 2 * n! * h! * w! * kh! * kw! * ci! * co!;
}

export interface PreparedOp {
  /** One run, timed around the op call: wasm kernels run synchronously inside it. */
  time(): number;
  /** The output values of one run. */
  output(): Float32Array;
  dispose(): void;
}

export function prepareOp(tf: TF, s: OpSpec): PreparedOp {
  const fanIn = s.kind === 'matMul' ? s.a[1]! : s.b[0]! * s.b[1]! * s.b[2]!;
  const a = tf.randomNormal([...s.a], 0, 1, 'float32', 11);
  const b = tf.randomNormal([...s.b], 0, 1 / Math.sqrt(fanIn), 'float32', 12);
  const run = (): tfNs.Tensor =>
    s.kind === 'conv2d'
      ? tf.conv2d(a as tfNs.Tensor4D, b as tfNs.Tensor4D, 1, 'same')
      : tf.matMul(a as tfNs.Tensor2D, b as tfNs.Tensor2D);
  return {
    time() {
      const t0 = performance.now();
      const y = run();
      const ms = performance.now() - t0;
      y.dispose();
      return ms;
    },
    output() {
      const y = run();
      const d = y.dataSync() as Float32Array;
      y.dispose();
      return d;
    },
    dispose() {
      tf.dispose([a, b]);
    },
  };
}

/** A small conv net's inputs and weights, as plain arrays (they cross threads). */
export interface TrainData {
  x: { shape: number[]; values: Float32Array };
  target: { shape: number[]; values: Float32Array };
  params: Record<string, { shape: number[]; values: Float32Array }>;
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

export function makeTrainData(seed = 7): TrainData {
  const r = rngFromState(seed).next;
  const fill = (shape: number[], scale: number, offset = 0) => ({
    shape,
    values: Float32Array.from({ length: size(shape) }, () => offset + scale * (2 * r() - 1)),
  });
  return {
    x: fill([8, 16, 16, 16], 1),
    target: fill([8, 16, 16, 16], 0.5),
    params: {
      w1: fill([3, 3, 16, 32], 1 / Math.sqrt(9 * 16)),
      g1: fill([32], 0.2, 1),
      b1: fill([32], 0.1),
      dw: fill([3, 3, 32, 1], 1 / 3),
      w2: fill([1, 1, 32, 16], 1 / Math.sqrt(32)),
      w3: fill([3, 3, 16, 16], 1 / Math.sqrt(9 * 16)),
    },
  };
}

export interface TrainResult {
  loss: number;
  grads: Record<string, Float32Array>;
}

let uid = 0;

/**
 * One tf.variableGrads over: conv 3x3 16->32, batch-statistics BN, relu,
 * depthwise 3x3, conv 1x1 32->16, relu, conv 3x3 16->16 stride 2, MSE against
 * a stride-2 subsample of the target. Exercises Conv2D, Conv2DBackpropInput,
 * Conv2DBackpropFilter, the depthwise gradients and the BN training kernels.
 */
export function trainStep(tf: TF, d: TrainData): TrainResult {
  const tag = `wasmThreadsProbe${uid++}`;
  const vars = Object.fromEntries(
    Object.entries(d.params).map(([k, p]) => [
      k,
      tf.variable(tf.tensor(p.values, p.shape), true, `${tag}_${k}`),
    ]),
  ) as Record<string, tfNs.Variable>;
  const x = tf.tensor4d(d.x.values, d.x.shape as [number, number, number, number]);
  const target = tf.tensor4d(d.target.values, d.target.shape as [number, number, number, number]);
  const moments: tfNs.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const h = tf.conv2d(x, vars.w1 as tfNs.Tensor4D, 1, 'same');
    const bn = batchNormTraining(h, vars.g1 as tfNs.Tensor1D, vars.b1 as tfNs.Tensor1D, 1e-3);
    moments.push(bn.mean, bn.variance);
    const r = tf.relu(bn.y);
    const dwo = tf.depthwiseConv2d(r, vars.dw as tfNs.Tensor4D, 1, 'same');
    const p = tf.relu(tf.conv2d(dwo, vars.w2 as tfNs.Tensor4D, 1, 'same'));
    const o = tf.conv2d(p, vars.w3 as tfNs.Tensor4D, 2, 1);
    const t = tf.stridedSlice(target, [0, 0, 0, 0], [8, 16, 16, 16], [1, 2, 2, 1]);
    return tf.losses.meanSquaredError(t, o) as tfNs.Scalar;
  }, Object.values(vars));
  const out: TrainResult = { loss: value.dataSync()[0]!, grads: {} };
  for (const [k, v] of Object.entries(vars))
    out.grads[k] = grads[v.name]!.dataSync() as Float32Array;
  tf.dispose([value, x, target, ...moments, ...Object.values(grads), ...Object.values(vars)]);
  return out;
}

/** Largest |a - b| over all entries, relative to the largest |b|; 0 when bitwise equal. */
export function compareArrays(a: Float32Array, b: Float32Array) {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let maxRef = 0;
  let differing = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > maxAbs) maxAbs = d;
    if (a[i] !== b[i]) differing++;
    maxRef = Math.max(maxRef, Math.abs(b[i]!));
  }
  return { maxAbs, maxRel: maxRef > 0 ? maxAbs / maxRef : maxAbs, differing, n: a.length };
}

export interface PreparedStep {
  /** One trainOnBatch (forward, backward, SGD-momentum update), wall time in ms. */
  time(): Promise<number>;
  dispose(): void;
}

/** A zoo model at 32x32 (cifar variant), compiled as bench/engine.ts does, on the current backend. */
export function prepareStep(tf: TF, name: ZooName, batch: number): PreparedStep {
  const model = createModel(name, { numClasses: 10, inputSize: 32, stemStride: 1 });
  model.compile({
    optimizer: tf.train.momentum(0.01, 0.9),
    loss: (t: tfNs.Tensor, p: tfNs.Tensor) => tf.losses.softmaxCrossEntropy(t, p),
  });
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 1);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32', 2) as tfNs.Tensor1D, 10);
  return {
    async time() {
      const t0 = performance.now();
      await model.trainOnBatch(x, y);
      return performance.now() - t0;
    },
    dispose() {
      tf.dispose([x, y]);
      model.dispose();
    },
  };
}
