import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  compareForms,
  type InferenceModel,
  measureLatency,
  measureThroughput,
} from '../src/index.js';
import { tinyRepVGG, useWasm, virtualClock } from './helpers/models.js';

beforeAll(useWasm);

// Durations are scripted on a virtual clock: the tests check counts, order and
// statistics, never the speed of this (shared, noisy) machine.

describe('measureLatency', () => {
  it('warms up, then times `runs` inferences and summarizes exactly those', async () => {
    const v = virtualClock();
    const durations = [100, 100, 100, 13, 11, 19, 10, 15, 12, 17, 14, 18, 16];
    const model = v.model('m', (call) => durations[call]!);
    const r = await measureLatency(model, { batch: 2, clock: v.clock });
    expect(model.seen).toHaveLength(13); // 3 warm-up + 10 timed
    expect(model.seen[0]).toEqual([2, 4, 4, 3]);
    expect(r.runs).toEqual(durations.slice(3));
    expect(r.medianMs).toBe(14.5);
    expect(r.meanMs).toBe(14.5);
    expect(r.p10Ms).toBe(10);
    expect(r.p90Ms).toBe(18);
    expect(r.minMs).toBe(10);
    expect(r).toMatchObject({ batch: 2, warmup: 3, inputShape: [4, 4, 3], backend: 'wasm' });
  });

  it('stops the clock only after the output has been read back (async backends)', async () => {
    const events: string[] = [];
    let now = 0;
    const model: InferenceModel = {
      inputs: [{ shape: [null, 2] }],
      apply(x) {
        events.push('apply');
        const y = tf.zeros([(x as tf.Tensor).shape[0]!, 2]);
        const read = y.data.bind(y);
        // A backend that finishes the work only when asked for the values.
        y.data = (async () => {
          await new Promise((r) => setTimeout(r, 1));
          events.push('data');
          now += 5;
          return read();
        }) as typeof y.data;
        return y;
      },
    };
    const r = await measureLatency(model, {
      warmup: 0,
      clock: () => {
        events.push('clock');
        return now;
      },
    });
    expect(events.slice(0, 8)).toEqual([
      'clock',
      'apply',
      'data',
      'clock',
      'clock',
      'apply',
      'data',
      'clock',
    ]);
    expect(r.runs).toEqual(Array(10).fill(5));
  });

  it('runs a real model in eval mode on the current backend, disposing what it makes', async () => {
    const model = tinyRepVGG([8, 8, 3], { filters: 8 });
    const apply = vi.spyOn(model, 'apply');
    const before = tf.memory().numTensors;
    const r = await measureLatency(model, { batch: 4, warmup: 1, runs: 10 });
    expect(tf.memory().numTensors).toBe(before);
    expect(apply).toHaveBeenCalledTimes(11);
    expect(apply.mock.calls.every(([, kwargs]) => kwargs?.training === false)).toBe(true);
    expect((apply.mock.calls[0]![0] as tf.Tensor).shape).toEqual([4, 8, 8, 3]);
    expect(r.runs).toHaveLength(10);
    expect(r.runs.every((t) => t >= 0)).toBe(true);
    expect(r.p10Ms).toBeLessThanOrEqual(r.medianMs);
    expect(r.medianMs).toBeLessThanOrEqual(r.p90Ms);
    model.dispose();
  });

  it('rejects bad options, naming them', async () => {
    const v = virtualClock();
    const m = v.model('m', () => 1);
    await expect(measureLatency(m, { runs: 5 })).rejects.toThrow(
      /runs must be an integer >= 10, got 5/,
    );
    await expect(measureLatency(m, { batch: 0 })).rejects.toThrow(/batch must be an integer >= 1/);
    await expect(measureLatency(m, { warmup: -1 })).rejects.toThrow(
      /warmup must be an integer >= 0/,
    );
    const open = v.model('open', () => 1, [null, null, null, 3]);
    await expect(measureLatency(open)).rejects.toThrow(
      /input \[null, null, null, 3\] has unknown dimensions; pass inputShape/,
    );
    await expect(measureLatency(open, { inputShape: [4, 0, 3] })).rejects.toThrow(
      /inputShape must be positive integers/,
    );
    await expect(measureLatency({} as InferenceModel, { inputShape: [2] })).rejects.toThrow(
      /model must be a tf.LayersModel/,
    );
  });
});

describe('measureThroughput', () => {
  it('measures each batch size in turn; images/s from the median', async () => {
    const v = virtualClock();
    const model = v.model('m', (_, x) => 2 * x.shape[0]!); // 2 ms per image
    const r = await measureThroughput(model, { batchSizes: [1, 4], clock: v.clock });
    expect(r.map((t) => t.batch)).toEqual([1, 4]);
    expect(r.map((t) => t.latency.medianMs)).toEqual([2, 8]);
    expect(r.map((t) => t.imagesPerSecond)).toEqual([500, 500]);
    expect(model.seen.map((s) => s[0])).toEqual([...Array(13).fill(1), ...Array(13).fill(4)]);
  });

  it('defaults to batch sizes 1, 8 and 32 and rejects a bad one', async () => {
    const v = virtualClock();
    const model = v.model('m', () => 1);
    const r = await measureThroughput(model, { clock: v.clock });
    expect(r.map((t) => t.batch)).toEqual([1, 8, 32]);
    await expect(measureThroughput(model, { batchSizes: [1, 2.5] })).rejects.toThrow(
      /batchSizes\[1\] must be an integer >= 1/,
    );
    await expect(measureThroughput(model, { batchSizes: [] })).rejects.toThrow(/non-empty/);
  });
});

describe('compareForms', () => {
  it('interleaves the forms A/B/A/B on one input batch and reports the speed-up', async () => {
    const v = virtualClock();
    const a = v.model('A', () => 20);
    const b = v.model('B', () => 8);
    const r = await compareForms(a, b, { batch: 3, warmup: 2, runs: 12, clock: v.clock });
    expect(v.state.log).toEqual(Array.from({ length: 28 }, (_, i) => (i % 2 ? 'B' : 'A')));
    expect(r.train.runs).toEqual(Array(12).fill(20));
    expect(r.deploy.runs).toEqual(Array(12).fill(8));
    expect(r.speedup).toBe(2.5);
    expect(r.batch).toBe(3);
    expect(a.seen.every((s) => s.join() === '3,4,4,3')).toBe(true);
    expect(b.seen).toEqual(a.seen);
  });

  it('times real train and deploy forms of one model', async () => {
    const { reparameterize } = await import('@repnets/blocks');
    const model = tinyRepVGG([8, 8, 3], { filters: 8 });
    const { model: deploy } = await reparameterize(model);
    const r = await compareForms(model, deploy, { batch: 2, warmup: 1, runs: 10 });
    expect(r.train.runs).toHaveLength(10);
    expect(r.deploy.runs).toHaveLength(10);
    expect(r.speedup).toBeCloseTo(r.train.medianMs / r.deploy.medianMs, 12);
    expect(r.backend).toBe('wasm');
    model.dispose();
    deploy.dispose();
  });

  it('refuses forms with different inputs', async () => {
    const v = virtualClock();
    const a = v.model('A', () => 1, [null, 4, 4, 3]);
    const b = v.model('B', () => 1, [null, 8, 8, 3]);
    await expect(compareForms(a, b)).rejects.toThrow(
      /the forms take different inputs, \[4,4,3\] and \[8,8,3\]/,
    );
  });
});
