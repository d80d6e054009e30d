import { describe, expect, it } from 'vitest';
import { PUBLISHED_ARCHITECTURES } from '../src/arch/index.js';
import { ARCHITECTURES, architecture, blockWeights } from '../src/index.js';

const SIZES = ['a0', 'a1', 'a2', 'b0'] as const;

describe('QARepVGG records', () => {
  it.each(SIZES)('qarepvgg_%s is repvgg_%s block for block, every block a qarepvgg block', (s) => {
    const qa = architecture(`qarepvgg_${s}`, { numClasses: 10 });
    const rep = architecture(`repvgg_${s}`, { numClasses: 10 });
    expect(qa.family).toBe('qarepvgg');
    expect(qa.blocks.map((b) => b.kind)).toEqual(qa.blocks.map(() => 'qarepvgg'));
    expect(qa.blocks.map((b) => ({ ...b, kind: 'repvgg' }))).toEqual(rep.blocks);
    expect(qa.input).toEqual(rep.input);
  });

  it('are zoo names of ours, not published PyTorch checkpoints', () => {
    for (const s of SIZES) {
      expect(ARCHITECTURES).toContain(`qarepvgg_${s}`);
      expect(PUBLISHED_ARCHITECTURES).not.toContain(`qarepvgg_${s}`);
    }
  });

  it('count two BNs per block (the 3x3 one and the one after the sum), with or without identity', () => {
    const [stem, , second] = architecture('qarepvgg_a0').blocks;
    for (const b of [stem!, second!]) {
      const conv = (k: number) => b.outChannels * (b.inChannels / b.groups) * k * k;
      expect(blockWeights(b, 'train')).toBe(conv(3) + conv(1) + 2 * 4 * b.outChannels);
      const rep = { ...b, kind: 'repvgg' as const };
      const repBNs = 2 + (b.branches.identity ? 1 : 0);
      expect(blockWeights(rep, 'train')).toBe(conv(3) + conv(1) + repBNs * 4 * b.outChannels);
    }
    expect(second!.branches.identity).toBe(true);
  });
});
