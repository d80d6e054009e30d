/** namedDataset: sizes it cannot give are refused, not quietly capped. */
import { describe, expect, it } from 'vitest';
import { namedInputShape } from '../src/cli-support.js';
import { DatasetTooSmallError, namedDataset } from '../src/index.js';

describe('namedDataset trainSize / testSize', () => {
  it('more examples than the split holds is refused, saying how many there are', async () => {
    const err = await namedDataset({ dataset: 'mnist', trainSize: 8001 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(DatasetTooSmallError);
    expect((err as Error).message).toBe(
      "namedDataset: trainSize 8001 is more than the 8000 examples of 'mnist/train'; ask for at most 8000, or leave trainSize out to use them all",
    );
    expect(err).toMatchObject({ option: 'trainSize', asked: 8001, available: 8000 });
    await expect(namedDataset({ dataset: 'mnist', testSize: 2001 })).rejects.toThrow(
      "namedDataset: testSize 2001 is more than the 2000 examples of 'mnist/test'",
    );
  });

  it('exactly the split size is the whole split', async () => {
    const d = await namedDataset({ dataset: 'mnist', trainSize: 8000, testSize: 10 });
    expect([d.train.size, d.test.size]).toEqual([8000, 10]);
  });
});

describe('namedInputShape', () => {
  it('is the input shape namedDataset gives, without loading the data', async () => {
    for (const imgSize of [undefined, 20]) {
      const d = await namedDataset({ dataset: 'mnist', imgSize, trainSize: 10, testSize: 10 });
      expect(namedInputShape('mnist', imgSize)).toEqual(d.inputShape);
    }
    expect(namedInputShape('cifar10')).toEqual([32, 32, 3]);
    expect(namedInputShape('folder')).toEqual([64, 64, 3]);
  });
});
