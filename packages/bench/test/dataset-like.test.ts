import { reparameterize } from '@repnets/blocks';
import { arrayDataset, type Dataset, type ImageHWC, resizeImage, subset } from '@repnets/train';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type BenchmarkOptions,
  type DatasetLike,
  type EquivalenceOptions,
  equivalence,
} from '../src/index.js';
import { tinyRepVGG, useWasm } from './helpers/models.js';

beforeAll(useWasm);

// bench states what it reads of a dataset instead of importing train's types,
// so that it installs without train; these pin that train's types still fit.
describe('DatasetLike', () => {
  it("takes a @repnets/train Dataset and a transform typed with train's ImageHWC", async () => {
    const n = 5;
    const data: Dataset = subset(
      arrayDataset({
        name: 'random/test',
        pixels: Float32Array.from({ length: (n + 1) * 6 * 6 * 3 }, (_, i) => (i % 17) / 17),
        labels: Array.from({ length: n + 1 }, (_, i) => i % 2),
        shape: [6, 6, 3],
        classNames: ['a', 'b'],
      }),
      Array.from({ length: n }, (_, i) => i + 1),
      'random/test[1:6]',
    );
    const like: DatasetLike = data;
    const shrink = (image: ImageHWC): ImageHWC => resizeImage(image, 4, 4);
    const options: EquivalenceOptions = { batchSize: 2, transform: shrink };
    const benchmark: BenchmarkOptions = { data, equivalence: options };
    expect(benchmark.data).toBe(like);

    const model = tinyRepVGG([4, 4, 3], { filters: 4 }, 2);
    const { model: deploy } = await reparameterize(model);
    const r = await equivalence(model, deploy, data, options);
    expect(r.count).toBe(n);
    expect(r.top1Agreement).toBe(1);
    expect(r.trainAccuracy).toBe(r.deployAccuracy);
    model.dispose();
    deploy.dispose();
  });

  it('takes any object with a name, a size and get(i) -> { image, label }, without train', async () => {
    const image = { data: new Float32Array(4 * 4 * 3).fill(0.5), height: 4, width: 4, channels: 3 };
    const data: DatasetLike = {
      name: 'constant',
      size: 3,
      get: async (i) => ({ image, label: i % 2 }),
    };
    const model = tinyRepVGG([4, 4, 3], { filters: 4 }, 2);
    const { model: deploy } = await reparameterize(model);
    const before = tf.memory().numTensors;
    const r = await equivalence(model, deploy, data, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.count).toBe(3);
    expect(r.trainAccuracy).not.toBeNull();
    model.dispose();
    deploy.dispose();
  });
});
