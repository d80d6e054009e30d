/**
 * The CLI's memory refusal with the backend's limits replaced: which limit is
 * named (a wasm worker's heap with its shard, the machine for all workers
 * together, one tensor's holder), that the size it offers fits and one more
 * does not, and that the network it estimates for `train` is the one
 * `recipeFor` builds.
 */
import { architecture, estimateMemory } from '@repnets/fuse';
import { type NamedDataset, recipeFor } from '@repnets/train';
import { describe, expect, it } from 'vitest';
import {
  float32ArrayLimit,
  type MemoryLimits,
  WASM_HEAP_MAX_BYTES,
  WASM_HEAP_OVERHEAD,
  wasmLimits,
  webgpuLimits,
} from '../src/backend-limits.js';
import { UsageError } from '../src/common.js';
import { checkInputSize, checkTrainInputSize, trainNetworkAt } from '../src/memory-check.js';

const refusal = (f: () => void): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
};

const GiB = 2 ** 30;

describe('float32ArrayLimit', () => {
  it('is the typed-array limit of this Node: one element more is refused', () => {
    // V8 checks the length before allocating anything.
    expect(() => new Float32Array(float32ArrayLimit() + 1)).toThrow(RangeError);
    expect(float32ArrayLimit()).toBeGreaterThanOrEqual(2 ** 31 - 1);
  });
});

describe('checkTrainInputSize', () => {
  const train = (imgSize: number, batchSize: number | undefined, limits: MemoryLimits) => () =>
    checkTrainInputSize({
      model: 'repvgg_compact',
      dataset: 'mnist',
      imgSize,
      batchSize,
      limits,
      backend: 'cpu',
      workers: 1,
    });

  it("names the machine's memory when the step does not fit it, and the largest size that does", () => {
    const limits = { bytes: 8 * GiB, tensorElements: 2 ** 40 };
    const line = refusal(train(2000, undefined, limits));
    expect(line).toMatch(
      /^train: --img-size 2000 with --batch-size 64 needs about [\d.]+ GB to train repvgg_compact on cpu, more than this machine's 8\.0 GiB of memory \(os\.totalmem\(\)\); the largest --img-size that fits is (\d+)$/,
    );
    const largest = Number(/fits is (\d+)/.exec(line)![1]);
    expect(() => train(largest, undefined, limits)()).not.toThrow();
    expect(() => train(largest + 1, undefined, limits)()).toThrow(UsageError);
  });

  it('names the typed-array limit when one tensor is larger than it, even with memory to spare', () => {
    const limits = { bytes: 2 ** 60, tensorElements: 2 ** 31 - 1 };
    const line = refusal(train(6000, 64, limits));
    expect(line).toMatch(
      /its largest tensor \(stage0's output, 64x3000x3000x32\) has 18432000000 values, more than one typed array holds \(2147483647 values\); the largest --img-size that fits is \d+$/,
    );
  });

  it('says to lower --batch-size when no size the network takes fits', () => {
    const line = refusal(train(64, 10 ** 7, { bytes: GiB, tensorElements: 2 ** 40 }));
    expect(line).toMatch(/no --img-size the network takes fits; lower --batch-size$/);
  });

  it('checks nothing without --img-size (the data keeps its own 28 or 32 px)', () => {
    expect(() =>
      checkTrainInputSize({
        model: 'repvgg_b3',
        dataset: 'cifar10',
        imgSize: undefined,
        batchSize: 10 ** 9,
        backend: 'wasm',
        limits: { bytes: 1, tensorElements: 1 },
      }),
    ).not.toThrow();
  });

  it.each([
    ['mnist', 28, 1, 10],
    ['cifar10', 64, 3, 10],
    ['cifar100', 65, 3, 100],
    ['cifar10', 224, 3, 10],
  ] as const)(
    'estimates the network recipeFor builds (%s at %i px)',
    (dataset, size, channels, classes) => {
      const data = {
        inputShape: [size, size, channels],
        train: { classNames: Array.from({ length: classes }, (_, i) => `${i}`) },
      } as unknown as NamedDataset;
      const { seed: _, ...options } = recipeFor('repvgg_a0', data, { dataset }).modelOptions;
      expect(trainNetworkAt('repvgg_a0', dataset, size)).toEqual(
        architecture('repvgg_a0', options),
      );
    },
  );
});

describe('checkInputSize', () => {
  it('lets a size through whose batch fits, and says nothing', () => {
    const net = architecture('mobileone_s0', { inputSize: 224 });
    const e = estimateMemory(net, { batch: 1, purpose: 'inference', form: 'deploy' });
    expect(() =>
      checkInputSize({
        command: 'fuse',
        what: '--img-size 224',
        purpose: 'for one image',
        size: 224,
        networkAt: (size) => architecture('mobileone_s0', { inputSize: size }),
        options: { batch: 1, purpose: 'inference', form: 'deploy' },
        limits: { bytes: e.bytes, tensorElements: e.largestTensor.elements },
      }),
    ).not.toThrow();
  });
});

describe("checkTrainInputSize on wasm: each worker's heap holds its shard", () => {
  const GB = 2 ** 60; // a machine memory that never binds
  const wasm = (bytes = GB): MemoryLimits => ({ ...wasmLimits(), bytes });
  const train =
    (
      imgSize: number,
      o: { batch?: number; workers?: number | 'auto'; cores?: number; limits?: MemoryLimits } = {},
    ) =>
    () =>
      checkTrainInputSize({
        model: 'repvgg_compact',
        dataset: 'mnist',
        imgSize,
        batchSize: o.batch ?? 64,
        backend: 'wasm',
        workers: o.workers ?? 1,
        cores: o.cores ?? 2,
        limits: o.limits ?? wasm(),
      });
  const largestOf = (line: string) =>
    Number(/the largest --img-size that fits is (\d+)$/.exec(line)?.[1]);
  /** The heap a replica needs at `size` for `shard` images: the estimate times the heap's overhead. */
  const heapNeed = (size: number, shard: number) =>
    estimateMemory(trainNetworkAt('repvgg_compact', 'mnist', size), {
      batch: shard,
      purpose: 'train',
    }).bytes * WASM_HEAP_OVERHEAD;

  it('names the wasm heap, not the machine, when one training thread holds the whole batch', () => {
    const line = refusal(train(908));
    expect(line).toMatch(
      /^train: --img-size 908 with --batch-size 64 needs about [\d.]+ GB to train repvgg_compact on wasm, more than the 4\.29 GB wasm heap \(4 GiB, a 32-bit wasm memory's maximum\); the largest --img-size that fits is \d+$/,
    );
    const largest = largestOf(line);
    expect(heapNeed(largest, 64)).toBeLessThanOrEqual(WASM_HEAP_MAX_BYTES);
    expect(heapNeed(largest + 1, 64)).toBeGreaterThan(WASM_HEAP_MAX_BYTES);
    expect(() => train(largest)()).not.toThrow();
    expect(() => train(largest + 1)()).toThrow(UsageError);
  });

  it("with workers, compares each worker's shard with its own heap: more workers, larger sizes", () => {
    const one = largestOf(refusal(train(2000, { workers: 1 })));
    const line = refusal(train(2000, { workers: 2 }));
    expect(line).toMatch(
      /needs about [\d.]+ GB per worker to train repvgg_compact on wasm \(2 workers, up to 32 images each\), more than the 4\.29 GB wasm heap \(4 GiB, a 32-bit wasm memory's maximum\) each worker has; the largest --img-size that fits is \d+$/,
    );
    const two = largestOf(line);
    expect(heapNeed(two, 32)).toBeLessThanOrEqual(WASM_HEAP_MAX_BYTES);
    expect(heapNeed(two + 1, 32)).toBeGreaterThan(WASM_HEAP_MAX_BYTES);
    expect(two).toBeGreaterThan(one);
    // An odd batch: the larger shard (ceil) is the one that must fit.
    const odd = refusal(train(2000, { workers: 2, batch: 65 }));
    expect(odd).toMatch(/\(2 workers, up to 33 images each\)/);
  });

  it('uses the workers --workers auto gets (one per core, at least 8 images each)', () => {
    expect(refusal(train(2000, { workers: 'auto', cores: 4 }))).toMatch(
      /\(4 workers, up to 16 images each\)/,
    );
    expect(refusal(train(2000, { workers: 'auto', cores: 16, batch: 16 }))).toMatch(
      /\(2 workers, up to 8 images each\)/,
    );
  });

  it("names the machine when the workers' heaps fit one by one but not together", () => {
    // Each worker's heap fits at 600 px with 16 images; four of them need more than 12 GiB.
    const fitsHeap = heapNeed(600, 16);
    expect(fitsHeap).toBeLessThan(WASM_HEAP_MAX_BYTES);
    const machine = Math.floor(3.5 * fitsHeap);
    const line = refusal(train(600, { workers: 4, limits: wasm(machine) }));
    expect(line).toMatch(
      /per worker to train repvgg_compact on wasm \(4 workers, up to 16 images each\), its 4 workers need about [\d.]+ GB together, more than this machine's [\d.]+ GiB of memory \(os\.totalmem\(\)\); the largest --img-size that fits is \d+$/,
    );
    const largest = largestOf(line);
    expect(() => train(largest, { workers: 4, limits: wasm(machine) })()).not.toThrow();
    expect(() => train(largest + 1, { workers: 4, limits: wasm(machine) })()).toThrow(UsageError);
  });

  it('the wasm heap limit is 65536 pages of 64 KiB, less the one page emscripten keeps', () => {
    expect(WASM_HEAP_MAX_BYTES).toBe(4294901760);
    expect(wasmLimits().heap?.bytes).toBe(WASM_HEAP_MAX_BYTES);
  });
});

describe('checkTrainInputSize on webgpu: one tensor is one storage buffer', () => {
  it("names the device's maxStorageBufferBindingSize when the largest tensor passes it", () => {
    const limits = {
      ...webgpuLimits({ maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 }),
      bytes: 2 ** 60,
    };
    const line = refusal(() =>
      checkTrainInputSize({
        model: 'repvgg_compact',
        dataset: 'mnist',
        imgSize: 512,
        batchSize: 64,
        backend: 'webgpu',
        limits,
      }),
    );
    expect(line).toMatch(
      /on webgpu, and its largest tensor \(stage0's output, 64x256x256x32\) has 134217728 values, more than one WebGPU storage buffer \(this device's maxStorageBufferBindingSize, 134217728 bytes\) holds \(33554432 values\); the largest --img-size that fits is \d+$/,
    );
  });

  it("compares the total with the machine's memory, saying WebGPU does not tell the GPU's", () => {
    const limits = { ...webgpuLimits({ maxStorageBufferBindingSize: 2 ** 40 }), bytes: GiB };
    const line = refusal(() =>
      checkTrainInputSize({
        model: 'repvgg_compact',
        dataset: 'mnist',
        imgSize: 512,
        batchSize: 64,
        backend: 'webgpu',
        limits,
      }),
    );
    expect(line).toMatch(
      /more than this machine's 1\.0 GiB of memory \(os\.totalmem\(\); WebGPU does not tell a GPU's memory\)/,
    );
  });
});
