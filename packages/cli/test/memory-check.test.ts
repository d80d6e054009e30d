/**
 * The CLI's memory refusal with the machine's limits replaced: which limit is
 * named, that the size it offers fits and one more does not, and that the
 * network it estimates for `train` is the one `recipeFor` builds.
 */
import { architecture, estimateMemory } from '@repnets/fuse';
import { type NamedDataset, recipeFor } from '@repnets/train';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/common.js';
import {
  checkInputSize,
  checkTrainInputSize,
  float32ArrayLimit,
  type MemoryLimits,
  trainNetworkAt,
} from '../src/memory-check.js';

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
    checkTrainInputSize({ model: 'repvgg_compact', dataset: 'mnist', imgSize, batchSize, limits });

  it("names the machine's memory when the step does not fit it, and the largest size that does", () => {
    const limits = { bytes: 8 * GiB, tensorElements: 2 ** 40 };
    const line = refusal(train(2000, undefined, limits));
    expect(line).toMatch(
      /^train: --img-size 2000 with --batch-size 64 needs about [\d.]+ GB to train repvgg_compact, more than this machine's 8\.0 GiB of memory \(os\.totalmem\(\)\); the largest --img-size that fits is (\d+)$/,
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
