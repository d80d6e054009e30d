import { describe, expect, it } from 'vitest';
import { ARCHITECTURES, architecture, estimateMemory, type NetworkShape } from '../src/index.js';

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
  it("a training step, by hand: what the tape keeps, every gradient, one conv's patches, weights four times", () => {
    // Per image, forward (kept for the backward pass): input 64; stem 6 tensors of 64
    // (2 convs, 2 BNs, 1 add, ReLU); block 8 of 64 (2 convs, 3 BNs, 2 adds, ReLU) = 960.
    // Gradients (TF.js frees none before the pass ends): stem 3 x 64 (ReLU's, 2 BNs'), none
    // for the image; block 3 x 64 + 3 paths x 64 for its input = 576.
    // The largest conv's patches with their index table: the block's 3x3, 9 x (4 + 1) x 16 = 720.
    // (960 + 576 + 720) x batch 2 = 4512 elements.
    // Weights: stem 36 + 4 + 2 BNs x 4 x 4 = 72; block 144 + 16 + 3 x 16 = 208; 280 x 4 copies = 1120.
    const e = estimateMemory(tiny, { batch: 2, purpose: 'train' });
    expect(e.activationBytes).toBe(4512 * 4);
    expect(e.weightBytes).toBe(1120 * 4);
    expect(e.bytes).toBe((4512 + 1120) * 4);
    expect(e.largestTensor).toEqual({ name: 'input', shape: [2, 8, 8, 1], elements: 128 });
  });

  it('a deploy-form (one conv per block) training step: conv and ReLU kept, their gradients, patches', () => {
    // Per image: input 64; stem conv + ReLU 2 x 64; block 2 x 64 = 320 kept. Gradients: stem
    // ReLU's 64 (no image gradient); block ReLU's 64 + its input's 64 = 192. Patches: the
    // block's 9 x (4 + 1) x 16 = 720. Weights (36 + 4) + (144 + 4) = 188, four copies.
    const deploy = { ...tiny, blocks: tiny.blocks.map(({ branches: _, ...b }) => b) };
    const e = estimateMemory(deploy, { batch: 1, purpose: 'train' });
    expect(e.activationBytes).toBe((320 + 192 + 720) * 4);
    expect(e.weightBytes).toBe(188 * 4 * 4);
    const sameAsForm = estimateMemory(tiny, { batch: 1, purpose: 'train', form: 'deploy' });
    expect(sameAsForm.activationBytes).toBe(e.activationBytes);
  });

  it('counts every add of a block with many branches (MobileOne: k kxk convs, scale, identity)', () => {
    // One 4 -> 4 stride-1 block with 3 kxk branches, a scale branch and an identity: 5 paths.
    const net: NetworkShape = {
      input: { height: 4, width: 4, channels: 4 },
      blocks: [
        {
          name: 'b',
          inChannels: 4,
          outChannels: 4,
          kernelSize: 3,
          stride: 1,
          groups: 4,
          branches: { kxk: 3, scale: true, identity: true },
        },
      ],
    };
    // Forward: input 64 + (4 convs x 2 + identity BN + 4 adds + ReLU = 14) x 64 = 960.
    // Gradients: ReLU's + 4 BNs' = 5 x 64 (the input is the image: none). Patches: 9 x (1 + 1) x 16 = 288.
    const e = estimateMemory(net, { batch: 1, purpose: 'train' });
    expect(e.activationBytes).toBe((960 + 320 + 288) * 4);
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

// train and fuse --tfjs check every zoo name's --img-size with this estimate.
describe.each(ARCHITECTURES)('estimateMemory of %s', (name) => {
  it('is finite and positive for both purposes and forms, linear in the batch, train above inference', () => {
    const record = architecture(name);
    const at = (batch: number, purpose: 'train' | 'inference', form: 'train' | 'deploy') =>
      estimateMemory(record, { batch, purpose, form });
    for (const form of ['train', 'deploy'] as const) {
      const train = at(2, 'train', form);
      const inference = at(2, 'inference', form);
      for (const e of [train, inference]) {
        expect(Number.isFinite(e.bytes) && e.bytes > 0, `${form} bytes`).toBe(true);
        expect(e.bytes).toBe(e.activationBytes + e.weightBytes);
        expect(e.weightBytes).toBeGreaterThan(0);
        expect(e.largestTensor.elements * 4).toBeLessThanOrEqual(e.activationBytes);
      }
      expect(train.bytes, form).toBeGreaterThan(inference.bytes);
      expect(at(4, 'train', form).activationBytes).toBe(2 * train.activationBytes);
    }
  });
});
