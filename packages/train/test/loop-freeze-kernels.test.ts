/**
 * Frozen layers cost no backward work: counted, kernel by kernel, on the wasm
 * engine. The step's own pieces run (trainParams, the inference-mode freeze,
 * lossGradients) with a spy on the backend's registered kernels: a head-only
 * step runs no conv backprop and no training-mode BatchNorm at all, and the
 * dense head computes its weight gradient but not its input's; a step that
 * trains only the last stage runs one filter gradient per conv of that stage
 * and input gradients only above its first block. The counts expected are
 * read from the architecture records.
 */
import { createModel, HEAD_LAYER } from '@repnets/blocks';
import {
  BN_RUNNING_STATS_KERNEL,
  BN_TRAINING_GRAD_KERNEL,
  BN_TRAINING_KERNEL,
} from '@repnets/blocks/kernels';
import { architecture, type BlockRecord } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels, selectBackend } from '../src/index.js';
import { frozenLayers, runInInferenceMode } from '../src/loop/freeze.js';
import { trainParams } from '../src/loop/params.js';
import { lossGradients } from '../src/loop/step.js';

const COUNTED = [
  'Conv2D',
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'DepthwiseConv2dNative',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'BatchMatMul',
  BN_TRAINING_KERNEL,
  BN_TRAINING_GRAD_KERNEL,
  BN_RUNNING_STATS_KERNEL,
] as const;
/** Forward convs run while the gradient tape records (their activations kept for backward). */
const TAPED = 'taped convs';
type Counts = Record<(typeof COUNTED)[number] | typeof TAPED, number>;

const counts = Object.fromEntries([...COUNTED, TAPED].map((k) => [k, 0])) as Counts;
const originals: tf.KernelConfig[] = [];

beforeAll(async () => {
  registerWasmTrainingKernels();
  await selectBackend('wasm');
  // Every call of these kernels on wasm goes through the registry: wrap them to count.
  for (const name of COUNTED) {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`no wasm kernel '${name}' to count`);
    originals.push(k);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        counts[name]++;
        // Inside a kernel the engine counts one kernel level: would the tape record this call?
        const { gradientDepth, kernelDepth } = tf.engine().state;
        const taped = gradientDepth > 0 && kernelDepth === 1;
        if (taped && /^(Conv2D|DepthwiseConv2dNative)$/.test(name)) counts[TAPED]++;
        return k.kernelFunc(args);
      },
    });
  }
});
afterAll(() => {
  for (const k of originals) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel(k);
  }
});

/** Kernel calls of one gradient computation (forward in training mode, loss, backward) with `freeze`. */
function stepCounts(model: tf.LayersModel, freeze: Parameters<typeof frozenLayers>[1]): Counts {
  const frozen = frozenLayers(model, freeze);
  const { params } = trainParams(model, { optimizer: { type: 'sgd', lr: 0.1 } }, frozen);
  const thaw = runInInferenceMode(model, frozen);
  for (const k of [...COUNTED, TAPED] as const) counts[k] = 0;
  try {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const y = tf.tensor1d([0, 1], 'int32');
      const spec = { classes: 4, labelSmoothing: 0, l2Layers: [], weightDecay: 0 } as const;
      lossGradients(
        model,
        params.map((p) => p.variable),
        x,
        y,
        { ...spec, reduce: { kind: 'mean' } },
      );
    });
  } finally {
    thaw();
  }
  return { ...counts };
}

const convs = (b: BlockRecord) => b.branches.kxk + (b.branches.scale ? 1 : 0);
const depthwise = (b: BlockRecord) => b.groups > 1 && b.groups === b.inChannels;
const bns = (b: BlockRecord) => convs(b) + (b.branches.identity ? 1 : 0);
const sum = (bs: readonly BlockRecord[], f: (b: BlockRecord) => number) =>
  bs.reduce((n, b) => n + f(b), 0);

/** What a step training `blocks` (in network order) and the head must run. */
function expected(blocks: readonly BlockRecord[]) {
  const [, ...above] = blocks; // the lowest trained block's input comes from frozen layers
  const plain = (b: BlockRecord) => (depthwise(b) ? 0 : convs(b));
  const dw = (b: BlockRecord) => (depthwise(b) ? convs(b) : 0);
  return {
    Conv2DBackpropFilter: sum(blocks, plain),
    Conv2DBackpropInput: sum(above, plain),
    DepthwiseConv2dNativeBackpropFilter: sum(blocks, dw),
    DepthwiseConv2dNativeBackpropInput: sum(above, dw),
    [BN_TRAINING_KERNEL]: sum(blocks, bns),
    [BN_TRAINING_GRAD_KERNEL]: sum(blocks, bns),
    [BN_RUNNING_STATS_KERNEL]: sum(blocks, bns),
    // Frozen layers run off the tape: only the trained blocks' convs are recorded.
    [TAPED]: sum(blocks, convs),
  };
}

const backward = (c: Counts) => ({
  Conv2DBackpropFilter: c.Conv2DBackpropFilter,
  Conv2DBackpropInput: c.Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter: c.DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: c.DepthwiseConv2dNativeBackpropInput,
  [BN_TRAINING_KERNEL]: c[BN_TRAINING_KERNEL],
  [BN_TRAINING_GRAD_KERNEL]: c[BN_TRAINING_GRAD_KERNEL],
  [BN_RUNNING_STATS_KERNEL]: c[BN_RUNNING_STATS_KERNEL],
  [TAPED]: c[TAPED],
});

describe.each([
  ['repvgg_a0', [0.25, 0.25, 0.25, 0.25]],
  ['mobileone_s0', [0.25, 0.25, 0.25, 0.25]],
] as const)('%s (wasm, 32x32, quarter width): backward kernels of a step', (name, widths) => {
  const build = () =>
    createModel(name, { numClasses: 4, inputSize: 32, widthMultipliers: widths, seed: 1 });
  const blocks = architecture(name).blocks;
  const last = Math.max(...blocks.map((b) => b.stage));

  it('full: every conv has a filter gradient, every one above the stem an input gradient', () => {
    const model = build();
    const c = stepCounts(model, 'none');
    expect(backward(c)).toEqual(expected(blocks));
    model.dispose();
  });

  it('head only: no conv backprop, no training-mode BatchNorm, no input gradient of the head', () => {
    const model = build();
    const c = stepCounts(model, 'backbone');
    expect(backward(c)).toEqual(expected([]));
    // The backbone runs forward once, in inference mode: every conv once.
    expect(c.Conv2D + c.DepthwiseConv2dNative).toBe(sum(blocks, convs));
    // The head's matMul forward and its kernel gradient; dx = dy W^T is never computed.
    expect(c.BatchMatMul).toBe(2);
    expect(model.getLayer(HEAD_LAYER).trainableWeights).toHaveLength(2);
    model.dispose();
  });

  it(`last stage only (freeze { stages: ${last - 1} }): backprop only for the last stage's convs`, () => {
    const model = build();
    const c = stepCounts(model, { stages: last - 1 });
    const trained = blocks.filter((b) => b.stage === last);
    expect(trained.length).toBeGreaterThan(0);
    expect(backward(c)).toEqual(expected(trained));
    expect(c.Conv2DBackpropFilter + c.DepthwiseConv2dNativeBackpropFilter).toBeGreaterThan(0);
    model.dispose();
  });
});
