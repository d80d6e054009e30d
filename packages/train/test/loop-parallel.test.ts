/**
 * Data-parallel training over worker threads: the summed shard gradients are
 * the full batch's gradient, a seed and a worker count repeat a run bit for
 * bit (resumed or not), and a failing worker ends the run with its message.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { rngFromState } from '../src/random.js';
import '@tensorflow/tfjs-backend-wasm';
import type { WasmMemory } from '@repnets/fuse/wasm-asm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  evaluate,
  loadCheckpoint,
  registerWasmTrainingKernels,
  selectBackend,
  type TrainOptions,
  train,
} from '../src/index.js';
import { addRange, reduceKernel } from '../src/parallel/reduce-kernel.js';
import { shardBounds } from '../src/parallel/shards.js';
import { resolveWorkers } from '../src/runner/workers.js';
import { FaultAtCall } from './helpers/fault-layer.js';
import { H, tinyData, tinySimpleNet } from './helpers/tiny-data.js';

const root = join(import.meta.dirname, '.tmp', 'parallel');
rmSync(root, { recursive: true, force: true });
mkdirSync(root, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  registerWasmTrainingKernels();
  await selectBackend('wasm');
});

const trainSet = tinyData(48, 1);
const testSet = tinyData(16, 2);

/** Conv, pooling and dense only: no layer whose output depends on the rest of the batch. */
function batchFreeModel(): tf.LayersModel {
  const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [H, H, 1],
        filters: 6,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: seeded(1),
      }),
      tf.layers.conv2d({
        filters: 8,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: seeded(2),
      }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 4, kernelInitializer: seeded(3) }),
    ],
  });
}
const tinyModel = () => tinySimpleNet({ seed: 7 });

const weightsOf = async (model: tf.LayersModel) =>
  Promise.all(model.weights.map(async (w) => Float32Array.from(await w.read().data())));
const bits = (a: Float32Array[]) => a.map((w) => Array.from(new Uint32Array(w.buffer)));

const base = (over: Partial<TrainOptions> = {}): TrainOptions => ({
  epochs: 2,
  batchSize: 16,
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 1e-3 },
  seed: 3,
  progress: 'none',
  ...over,
});

describe('shardBounds', () => {
  it('covers the batch in order with sizes that differ by at most one', () => {
    for (const [n, w] of [
      [16, 2],
      [17, 4],
      [3, 5],
      [32, 3],
    ] as const) {
      const parts = Array.from({ length: w }, (_, r) => shardBounds(n, w, r));
      expect(parts[0]![0]).toBe(0);
      expect(parts[w - 1]![1]).toBe(n);
      for (let r = 1; r < w; r++) expect(parts[r]![0]).toBe(parts[r - 1]![1]);
      const sizes = parts.map(([a, b]) => b - a);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
});

describe('train() with workers on wasm', () => {
  it('one 2-worker step equals one 1-worker step (no batch-dependent layers)', async () => {
    const updates: Float32Array[][] = [];
    for (const workers of [1, 2]) {
      const model = batchFreeModel();
      const before = await weightsOf(model);
      await train(
        model,
        { train: trainSet },
        base({
          epochs: 1,
          batchSize: 48,
          workers,
          optimizer: { type: 'sgd', lr: 0.1, momentum: 0 },
        }),
      );
      const after = await weightsOf(model);
      updates.push(after.map((w, i) => w.map((v, k) => v - before[i]![k]!)));
      model.dispose();
    }
    const [one, two] = updates;
    one!.forEach((u, i) => {
      // Relative in the L2 norm of each weight's update. The weight gradient sums
      // over ~1000 positions in float32, in another order when split in two: that
      // alone differs by up to ~1-2e-6 here (measured), so 1e-6 would test rounding;
      // a lost, doubled or misscaled shard is off by 1e-1 or more.
      const norm = Math.hypot(...u);
      const diff = Math.hypot(...u.map((v, k) => v - two![i]![k]!));
      expect(norm).toBeGreaterThan(0);
      expect(diff / norm).toBeLessThan(1e-5);
    });
  }, 60_000);
});

describe('train() with 2 workers on wasm, BatchNorm model', () => {
  it('repeats bit for bit with one seed, and a stop after epoch 1 + resume equals the uninterrupted run', async () => {
    const runs: Float32Array[][] = [];
    for (const name of ['a', 'b']) {
      const model = tinyModel();
      const result = await train(
        model,
        { train: trainSet, test: testSet },
        base({ workers: 2, checkpointDir: join(root, name) }),
      );
      expect(result.history).toHaveLength(2);
      // The replicas evaluated the test set; this thread's copy of the weights gives the same numbers.
      const here = await evaluate(model, testSet, { batchSize: 16 });
      expect([result.history[1]!.testLoss, result.history[1]!.testTop1]).toEqual([
        here.loss,
        here.top1,
      ]);
      runs.push(await weightsOf(model));
      model.dispose();
    }
    expect(bits(runs[1]!)).toEqual(bits(runs[0]!));

    const dir = join(root, 'resumed');
    const first = tinyModel();
    await train(
      first,
      { train: trainSet },
      base({ workers: 2, checkpointDir: dir, callbacks: { onEpochEnd: () => false } }),
    );
    first.dispose();
    const resumed = tinyModel();
    const r = await train(
      resumed,
      { train: trainSet, test: testSet },
      base({ workers: 2, checkpointDir: dir, resume: true }),
    );
    expect(r.startEpoch).toBe(1);
    expect(bits(await weightsOf(resumed))).toEqual(bits(runs[0]!));
    resumed.dispose();
    const ckpt = await loadCheckpoint(join(dir, 'last.ckpt'));
    expect(ckpt.run.workers).toBe(2);

    // Another worker count may resume, and says what that means.
    const lines: string[] = [];
    const other = tinyModel();
    await train(
      other,
      { train: trainSet },
      base({
        epochs: 3,
        workers: 1,
        checkpointDir: dir,
        resume: true,
        progress: 'lines',
        output: { write: (l: string) => lines.push(l), isTTY: false } as never,
      }),
    );
    other.dispose();
    expect(lines.join('')).toContain(
      'resuming a run trained with 2 workers on 1: the result will not be bitwise that of continuing with 2',
    );
  }, 120_000);

  it('keeps the replicas in step and the running statistics averaged: 2 workers differ from 1 only through per-shard BatchNorm', async () => {
    const one = tinyModel();
    await train(one, { train: trainSet }, base({ epochs: 1, workers: 1 }));
    const two = tinyModel();
    await train(two, { train: trainSet }, base({ epochs: 1, workers: 2 }));
    const [a, b] = [await weightsOf(one), await weightsOf(two)];
    // Same data, same init: close (per-shard statistics change the gradient a little) but not equal.
    let maxRel = 0;
    a.forEach((w, i) => {
      const scale = Math.max(1e-3, ...w.map(Math.abs));
      maxRel = Math.max(maxRel, ...w.map((v, k) => Math.abs(v - b[i]![k]!) / scale));
    });
    expect(maxRel).toBeGreaterThan(0);
    expect(maxRel).toBeLessThan(0.5);
    one.dispose();
    two.dispose();
  }, 120_000);
});

describe('a failing worker', () => {
  /** simplenet with a FaultAtCall layer in front of the head. */
  function faultyModel(mode: 'throw' | 'exit'): tf.LayersModel {
    const body = tinyModel();
    const input = tf.input({ shape: [H, H, 1] });
    const features = tf.model({
      inputs: body.inputs,
      outputs: body.layers[body.layers.length - 2]!.output as tf.SymbolicTensor,
    });
    const f = new FaultAtCall({ rank: 1, call: 4, mode }).apply(
      features.apply(input) as tf.SymbolicTensor,
    ) as tf.SymbolicTensor;
    const head = body.layers[body.layers.length - 1]!;
    return tf.model({ inputs: input, outputs: head.apply(f) as tf.SymbolicTensor });
  }
  const faultModule = new URL('./helpers/fault-layer.ts', import.meta.url);

  it.each(['throw', 'exit'] as const)(
    'that %ss at batch 1 of epoch 2 rejects the run naming it; the epoch-1 checkpoint loads',
    async (mode) => {
      const dir = join(root, `fault-${mode}`);
      const model = faultyModel(mode);
      // 48 examples / batch 16: 3 steps an epoch, so training call 4 is epoch 2, batch 1.
      const run = train(
        model,
        { train: trainSet },
        base({ workers: 2, checkpointDir: dir, workerModules: [faultModule] }),
      );
      const expected =
        mode === 'throw'
          ? /^train: worker 1 of 2 failed at epoch 2, batch 1: injected failure at training call 4$/
          : /^train: worker 1 of 2 failed at epoch 2, batch 1: the worker thread exited \(code 3\)$/;
      await expect(run).rejects.toThrow(expected);
      const ckpt = await loadCheckpoint(join(dir, 'last.ckpt'));
      expect(ckpt.epoch).toBe(1);
      model.dispose();
    },
    120_000,
  );

  it('whose model has a layer the workers do not know names the layer and the option to fix it', async () => {
    const model = faultyModel('throw');
    const run = train(model, { train: trainSet }, base({ epochs: 1, workers: 2 }));
    await expect(run).rejects.toThrow(
      /^train: worker \d of 2 failed while starting: .*FaultAtCall.*workerModules/s,
    );
    model.dispose();
  }, 60_000);

  it('leaves no thread behind: the process exits by itself after the rejection', async () => {
    const script = join(import.meta.dirname, 'helpers', 'failing-run.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      cwd: join(import.meta.dirname, '..'),
      timeout: 60_000, // a hung process is killed here and the test fails
    });
    const line = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(line).toEqual({
      rejected: true,
      message:
        'train: worker 1 of 2 failed at epoch 1, batch 2: injected failure at training call 2',
    });
  }, 90_000);
});

describe('resolveWorkers', () => {
  const cores = availableParallelism();
  it("'auto' is one per core on CPU backends, keeping 8 examples per shard, and 1 elsewhere", () => {
    expect(resolveWorkers('auto', 'wasm', 8 * cores, cores).workers).toBe(cores);
    expect(resolveWorkers('auto', 'wasm', 8, cores)).toEqual({
      workers: 1,
      ...(cores > 1 ? { note: expect.stringContaining('at least 8 examples') } : {}),
    });
    expect(resolveWorkers('auto', 'webgpu', 64, cores)).toEqual({
      workers: 1,
      note: "workers: auto -> 1 on the 'webgpu' backend (one device)",
    });
    expect(resolveWorkers(undefined, 'wasm', 64, cores)).toEqual({ workers: 1 });
  });
  it('refuses counts that cannot work, naming why', () => {
    expect(() => resolveWorkers(0, 'wasm', 32, cores)).toThrow(
      "train: workers must be a positive integer or 'auto', got 0",
    );
    expect(() => resolveWorkers(2, 'webgpu', 32, cores)).toThrow(
      /needs a CPU backend \(wasm or cpu\); the active backend is 'webgpu'/,
    );
    expect(() => resolveWorkers(33, 'wasm', 32, cores)).toThrow(
      'train: workers: 33 is more than the batch size 32',
    );
  });
});

describe('the rank-ordered sum over shared memory', () => {
  const Memory = (
    globalThis as unknown as { WebAssembly: { Memory: new (d: object) => WasmMemory } }
  ).WebAssembly.Memory;
  it('SIMD and JS give the same bits for any range, aligned or not', () => {
    const memory = new Memory({ initial: 1, maximum: 1, shared: true });
    const heap = new Float32Array(memory.buffer);
    const k = reduceKernel(memory);
    expect(k).not.toBeNull();
    const r = rngFromState(5).next;
    const n = 1003;
    for (const [from, to] of [
      [0, n],
      [1, 998],
      [5, 7],
      [3, 4],
      [0, 0],
    ] as const) {
      const a = Float32Array.from({ length: n }, () => (r() - 0.5) * 10 ** Math.floor(r() * 8));
      const b = Float32Array.from({ length: n }, () => (r() - 0.5) * 10 ** Math.floor(r() * 8));
      heap.set(a, 0);
      heap.set(b, n);
      addRange(k, heap, 0, n, from, to);
      const simd = heap.slice(0, n);
      heap.set(a, 0);
      addRange(null, heap, 0, n, from, to);
      expect(Array.from(new Uint32Array(simd.buffer))).toEqual(
        Array.from(new Uint32Array(heap.slice(0, n).buffer)),
      );
      expect(simd[from - 1]).toBe(from > 0 ? a[from - 1] : undefined); // nothing before the range changes
      if (to > from) expect(simd[to - 1]).toBe(Math.fround(a[to - 1]! + b[to - 1]!));
    }
  });
});
