import { describe, expect, it } from 'vitest';
import { architecture, estimateMemory, type NetworkShape } from '../src/index.js';

/**
 * 8x8x1 input; a stride-2 RepVGG stem 1 -> 4 (3x3 and 1x1 branches), then a
 * stride-1 RepVGG block 4 -> 4 with an identity branch. Both outputs 4x4x4.
 */
const tiny: NetworkShape = {
  input: { height: 8, width: 8, channels: 1 },
  blocks: [
    {
      name: 'stage0',
      inChannels: 1,
      outChannels: 4,
      kernelSize: 3,
      stride: 2,
      groups: 1,
      branches: { kxk: 1, scale: true, identity: false },
    },
    {
      name: 'stage1_block0',
      inChannels: 4,
      outChannels: 4,
      kernelSize: 3,
      stride: 1,
      groups: 1,
      branches: { kxk: 1, scale: true, identity: true },
    },
  ],
};

describe('estimateMemory', () => {
  it('a training step, by hand: every activation, the largest block again, weights four times', () => {
    // Per image: input 64; stem 6 tensors of 64 (2 convs, 2 BNs, sum, ReLU);
    // block 7 of 64 (+ identity BN); again the block's 7x64 for its gradients.
    // (64 + 384 + 448 + 448) x batch 2 = 2688 elements.
    // Weights: stem 36 + 4 + 2 BNs x 4 x 4 = 72; block 144 + 16 + 3 x 16 = 208; 280 x 4 copies = 1120.
    const e = estimateMemory(tiny, { batch: 2, purpose: 'train' });
    expect(e.activationBytes).toBe(2688 * 4);
    expect(e.weightBytes).toBe(1120 * 4);
    expect(e.bytes).toBe((2688 + 1120) * 4);
    expect(e.largestTensor).toEqual({ name: 'input', shape: [2, 8, 8, 1], elements: 128 });
  });

  it('inference of the deploy form, by hand: one block at a time, weights once', () => {
    // Per block: its input 64 + conv and ReLU 2 x 64 = 192 elements; weights 36 + 4 and 144 + 4.
    const e = estimateMemory(tiny, { batch: 1, purpose: 'inference', form: 'deploy' });
    expect(e.activationBytes).toBe(192 * 4);
    expect(e.weightBytes).toBe(188 * 4);
  });

  it('blocks without branches are one conv; a classifier adds its weights', () => {
    const deployBlocks = tiny.blocks.map(({ branches: _, ...b }) => b);
    const withHead = { ...tiny, blocks: deployBlocks, numClasses: 10 };
    const e = estimateMemory(withHead, { batch: 1, purpose: 'inference' });
    expect(e.weightBytes).toBe((188 + 4 * 10 + 10) * 4);
  });

  it('names the largest tensor and grows with the batch and the square of the input side', () => {
    const a0 = (size: number) => architecture('repvgg_a0', { inputSize: size });
    const e = estimateMemory(a0(224), { batch: 8, purpose: 'train' });
    // The stem halves 224 to 112 at 48 channels: the largest output.
    expect(e.largestTensor).toEqual({
      name: 'stage0',
      shape: [8, 112, 112, 48],
      elements: 8 * 112 * 112 * 48,
    });
    const twice = estimateMemory(a0(224), { batch: 16, purpose: 'train' });
    expect(twice.activationBytes).toBe(2 * e.activationBytes);
    expect(twice.weightBytes).toBe(e.weightBytes);
    const bigger = estimateMemory(a0(448), { batch: 8, purpose: 'train' });
    expect(bigger.activationBytes / e.activationBytes).toBeCloseTo(4, 1);
  });
});
