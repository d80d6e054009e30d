import { describe, expect, it } from 'vitest';
import { exampleRng } from '../src/data/loader.js';
import {
  arrayDataset,
  type Batch,
  DataLoader,
  type Dataset,
  type Example,
  type Transform,
} from '../src/index.js';
import { deriveRng, permutation } from '../src/random.js';

/** n images of 2x2x1 whose pixels all equal index / 1000 (floats), label index % 4. */
function toy(n: number): Dataset {
  return arrayDataset({
    name: 'toy',
    pixels: Float32Array.from({ length: n * 4 }, (_, j) => Math.floor(j / 4) / 1000),
    labels: Int32Array.from({ length: n }, (_, i) => i % 4),
    shape: [2, 2, 1],
    classNames: ['a', 'b', 'c', 'd'],
  });
}

async function collect(it: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

const noisy: Transform = (image, rng) => ({
  ...image,
  data: image.data.map((v) => v + rng.next()),
});

const tick = () => new Promise((r) => setTimeout(r, 1));

describe('DataLoader', () => {
  it('covers every index exactly once per epoch, in the seeded permutation', async () => {
    const loader = new DataLoader(toy(23), { batchSize: 5, shuffle: true, seed: 9, epoch: 2 });
    expect(loader.numBatches).toBe(5);
    const bs = await collect(loader);
    expect(bs.map((b) => b.shape[0])).toEqual([5, 5, 5, 5, 3]);
    const seen = bs.flatMap((b) => [...b.indices]);
    expect(seen).toEqual([...permutation(23, deriveRng(9, 2))]);
    expect([...seen].sort((a, b) => a - b)).toEqual([...Array(23).keys()]);
    for (const b of bs) {
      expect(b.shape.slice(1)).toEqual([2, 2, 1]);
      b.indices.forEach((i, j) => {
        expect(b.labels[j]).toBe(i % 4);
        expect(b.images[j * 4 + 3]).toBeCloseTo(i / 1000, 6);
      });
    }
  });

  it('is deterministic for (seed, epoch), differs across epochs, keeps order without shuffle', async () => {
    const ds = toy(40);
    const opts = { batchSize: 8, shuffle: true, seed: 3, transform: noisy };
    const a = await collect(new DataLoader(ds, { ...opts, prefetch: 0 }).epoch(1));
    const b = await collect(new DataLoader(ds, { ...opts, prefetch: 5 }).epoch(1));
    expect(b).toEqual(a);
    const c = await collect(new DataLoader(ds, opts).epoch(2));
    expect(c[0]!.indices).not.toEqual(a[0]!.indices);
    // Each example's transform draws from its own (seed, epoch, index) stream.
    const i = a[2]!.indices[1]!;
    expect(a[2]!.images[4]).toBeCloseTo(i / 1000 + exampleRng(3, 1, i).next(), 6);
    const plain = await collect(new DataLoader(ds, { batchSize: 16 }));
    expect(plain.flatMap((x) => [...x.indices])).toEqual([...Array(40).keys()]);
  });

  it('drops the short last batch with dropLast', async () => {
    const loader = new DataLoader(toy(23), { batchSize: 5, dropLast: true, shuffle: true });
    expect(loader.numBatches).toBe(4);
    const bs = await collect(loader);
    expect(bs.map((b) => b.shape[0])).toEqual([5, 5, 5, 5]);
    expect(new Set(bs.flatMap((b) => [...b.indices])).size).toBe(20);
  });

  it('resumes at startBatch with exactly the batches a full pass yields there', async () => {
    let reads = 0;
    const base = toy(30);
    const counted: Dataset = {
      ...base,
      get(i) {
        reads++;
        return base.get(i);
      },
    };
    const opts = { batchSize: 4, shuffle: true, seed: 11, transform: noisy };
    const full = await collect(new DataLoader(counted, opts).epoch(4));
    reads = 0;
    const tail = await collect(new DataLoader(counted, { ...opts, epoch: 4, startBatch: 5 }));
    expect(tail).toEqual(full.slice(5));
    expect(reads).toBe(30 - 20); // skipped batches were never read
    expect(await collect(new DataLoader(counted, opts).epoch(4, 8))).toEqual([]);
    await expect(new DataLoader(counted, opts).epoch(0, 9).next()).rejects.toThrow(
      /startBatch 9 is not in 0..8/,
    );
  });

  it('prepares `prefetch` batches ahead while the consumer works', async () => {
    const log: string[] = [];
    const base = toy(12);
    const slow: Dataset = {
      ...base,
      async get(i) {
        log.push(`get ${i}`);
        await tick();
        return base.get(i) as Example;
      },
    };
    const loader = new DataLoader(slow, { batchSize: 2, prefetch: 2 });
    for await (const b of loader) {
      const k = b.indices[0]! / 2;
      log.push(`consume ${k}`);
      await new Promise((r) => setTimeout(r, 20)); // the training step
      // Deferred starts run on setImmediate; a stalled machine can fire the timer first.
      await new Promise((r) => setImmediate(r));
      const started = log.filter((l) => l.startsWith('get')).length / 2;
      // Batches k+1..k+2 started while batch k was being consumed, never more.
      expect(started).toBe(Math.min(6, k + 3));
    }
    // Never more than `prefetch` ahead: batch 3 is requested only after batch 0 was handed over.
    // (Whether batches 1-2 start before batch 0 finishes loading depends on the event loop's
    // timing under load, so it is not asserted; the counts above are deterministic.)
    expect(log.indexOf('get 6')).toBeGreaterThan(log.indexOf('consume 0'));
  });

  it('passes a failing get or transform to the consumer naming dataset, index and batch', async () => {
    const base = toy(10);
    const broken: Dataset = {
      ...base,
      get: (i) => (i === 7 ? Promise.reject(new Error('disk on fire')) : base.get(i)),
    };
    const seen: number[] = [];
    const run = async () => {
      for await (const b of new DataLoader(broken, { batchSize: 3 })) seen.push(b.shape[0]);
    };
    await expect(run()).rejects.toThrow('toy: example 7 (batch 2, epoch 0): disk on fire');
    expect(seen).toEqual([3, 3]); // earlier batches arrived first
    const throwing: Transform = (img) => {
      if (img.data[0]! > 0.0045) throw new Error('bad crop');
      return img;
    };
    await expect(
      collect(new DataLoader(base, { batchSize: 4, transform: throwing })),
    ).rejects.toThrow('toy: example 5 (batch 1, epoch 0): transform failed: bad crop');
    const resize: Transform = (img, rng) =>
      rng.chance(0.5) ? { data: new Float32Array(1), height: 1, width: 1, channels: 1 } : img;
    await expect(
      collect(new DataLoader(base, { batchSize: 10, transform: resize, seed: 1 })),
    ).rejects.toThrow(
      /example \d \(batch 0, epoch 0\) is (1x1x1|2x2x1), but example 0 of the same batch is/,
    );
  });

  it('lets the consumer break early without unhandled rejections', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const base = toy(20);
      let reads = 0;
      const failsLater: Dataset = {
        ...base,
        async get(i) {
          reads++;
          await tick();
          if (i >= 4) throw new Error(`late failure ${i}`);
          return base.get(i) as Example;
        },
      };
      for await (const b of new DataLoader(failsLater, { batchSize: 2, prefetch: 3 })) {
        expect(b.indices[0]).toBe(0);
        break; // batches 1..3 are in flight, 2 and 3 will reject
      }
      await new Promise((r) => setTimeout(r, 30));
      expect(unhandled).toEqual([]);
      expect(reads).toBeLessThanOrEqual(8); // nothing new started after the break
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('names a bad option', () => {
    const ds = toy(4);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/DataLoader\(toy\): batchSize 0/);
    expect(() => new DataLoader(ds, { batchSize: 2, prefetch: -1 })).toThrow(/prefetch -1/);
    expect(() => new DataLoader(ds, { batchSize: 2, seed: 1.5 })).toThrow(/seed 1.5/);
  });
});
