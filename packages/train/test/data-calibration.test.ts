import { describe, expect, it } from 'vitest';
import { arrayDataset, calibrationSet } from '../src/index.js';

/** Ten 2x2 grey images, image i filled with the value i. */
const ten = arrayDataset({
  name: 'ten',
  pixels: Float32Array.from({ length: 40 }, (_, j) => Math.floor(j / 4)),
  labels: new Int32Array(10),
  shape: [2, 2, 1],
  classNames: ['x'],
});

describe('calibrationSet', () => {
  it('takes count images spread evenly over the dataset, through the transform, in NHWC batches', async () => {
    const set = await calibrationSet(ten, {
      count: 4,
      batchSize: 3,
      transform: (image) => ({ ...image, data: image.data.map((v) => v * 10) }),
    });
    expect(set.map((b) => b.shape)).toEqual([
      [3, 2, 2, 1],
      [1, 2, 2, 1],
    ]);
    const firsts = set.flatMap((b) => [...b.data].filter((_, j) => j % 4 === 0));
    expect(firsts).toEqual([0, 20, 50, 70]);
  });

  it('takes all of a smaller dataset, and refuses a count that is not a positive integer', async () => {
    const all = await calibrationSet(ten, { count: 256 });
    expect(all.map((b) => b.shape)).toEqual([[10, 2, 2, 1]]);
    expect([...all[0]!.data].filter((_, j) => j % 4 === 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await expect(calibrationSet(ten, { count: 0 })).rejects.toThrow(
      /^calibrationSet\(ten\): count must be a positive integer, got 0$/,
    );
  });
});
