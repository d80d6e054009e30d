import { reparameterize } from '@repnets/blocks';
import { arrayDataset } from '@repnets/train';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { accountModel, runBenchmark } from '../src/index.js';
import { randomizeBatchNorm, tinyRepVGG, useWasm } from './helpers/models.js';

beforeAll(useWasm);

describe('runBenchmark', () => {
  it('measures both forms and fills every field of the report', async () => {
    const model = tinyRepVGG([6, 6, 3], { filters: 8 }, 3);
    randomizeBatchNorm(model);
    const { model: deploy } = await reparameterize(model);
    const n = 12;
    const data = arrayDataset({
      name: 'digits/test',
      pixels: Float32Array.from({ length: n * 6 * 6 * 3 }, (_, i) => ((i * 37) % 101) / 101),
      labels: Array.from({ length: n }, (_, i) => i % 3),
      shape: [6, 6, 3],
      classNames: ['a', 'b', 'c'],
    });
    const before = tf.memory().numTensors;
    const r = await runBenchmark(model, deploy, { model: 'tiny', data, batch: 4, warmup: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r).toMatchObject({ model: 'tiny', dataset: 'digits/test', backend: 'wasm', batch: 4 });
    const [a, b] = [accountModel(model), accountModel(deploy)];
    expect(r.train).toMatchObject({
      params: a.params.total,
      flops: a.flops,
      mac: a.memoryAccessBytes,
      layers: a.layers,
    });
    expect(r.deploy).toMatchObject({
      params: b.params.total,
      flops: b.flops,
      mac: b.memoryAccessBytes,
      layers: b.layers,
    });
    expect(r.train.accuracy).toBe(r.deploy.accuracy);
    expect(r.top1Agreement).toBe(1);
    expect(r.maxAbsLogitDiff).toBeLessThan(1e-4);
    expect(r.speedup).toBeCloseTo(r.train.medianInferenceMs / r.deploy.medianInferenceMs, 12);
    expect(r.machine.cores).toBeGreaterThan(0);
    model.dispose();
    deploy.dispose();
  });

  it('without data compares on fixed random images and reports no accuracy', async () => {
    const model = tinyRepVGG([4, 4, 3], { filters: 4 });
    const { model: deploy } = await reparameterize(model);
    const r = await runBenchmark(model, deploy, { warmup: 0 });
    expect(r.dataset).toBe('random');
    expect(r.model).toBe('tiny');
    expect(r.train.accuracy).toBeNull();
    expect(r.deploy.accuracy).toBeNull();
    model.dispose();
    deploy.dispose();
  });
});
