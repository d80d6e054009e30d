import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  avgPoolKernel,
  foldBatchNorm,
  identityKernel,
  makeKernel,
  mergeSequentialConvs,
  toOIHW,
} from '../src/index.js';
import { blockCase, inLayout, RUNS } from './helpers/cases.js';
import { randomBN, randomInput, randomKernel, rng, uniform } from './helpers/random.js';
import { avgPool, batchNorm, conv2d, relativeError, samePad } from './helpers/reference.js';

describe('identityKernel', () => {
  it.each([
    ['OIHW', 1],
    ['OIHW', 2],
    ['OIHW', 4],
    ['HWIO', 4],
    ['HWIM', 8],
  ] as const)('conv(x, identity) == x in %s with groups %i', (layout, groups) => {
    const channels = 8;
    const x = randomInput(rng(groups), channels, 5, 6);
    for (const k of [1, 3, 5]) {
      const id = identityKernel({ channels, groups, kernelSize: k, layout });
      const y = conv2d(x, toOIHW(id), { groups, pad: samePad(k, k) });
      expect(relativeError(y, x)).toBe(0);
    }
  });

  it('with groups > 1 the tap sits at input o % (in/groups), not at o', () => {
    const id = identityKernel({ channels: 4, groups: 2, kernelSize: 1, layout: 'OIHW' });
    expect(id.shape).toEqual([4, 2, 1, 1]);
    // Rows: o=0 -> i=0, o=1 -> i=1, o=2 -> i=0, o=3 -> i=1.
    expect(Array.from(id.data)).toEqual([1, 0, 0, 1, 1, 0, 0, 1]);
  });

  it('refuses even sizes, where there is no centre tap', () => {
    expect(() => identityKernel({ channels: 4, kernelSize: 2, layout: 'OIHW' })).toThrow(
      /identityKernel: argument 'kernelSize' is 2x2; an identity kernel needs odd sizes/,
    );
  });
});

describe('avgPoolKernel (DBB)', () => {
  it('equals k x k average pooling with the zero padding counted, then BN folds on top', () => {
    fc.assert(
      fc.property(blockCase({ kernels: [3, 5] }), (c) => {
        fc.pre(c.inChannels === c.outChannels);
        const r = rng(c.seed);
        const x = randomInput(r, c.inChannels, c.h, c.w);
        const kernel = avgPoolKernel({
          channels: c.inChannels,
          kernelSize: c.k,
          groups: c.groups,
          layout: c.layout,
        });
        const bn = randomBN(r, c.outChannels, c.eps);
        const folded = foldBatchNorm(kernel, bn);
        const y = conv2d(
          x,
          toOIHW(folded.kernel),
          { stride: c.stride, groups: c.groups, pad: samePad(c.k, c.k) },
          folded.bias,
        );
        const want = batchNorm(avgPool(x, c.k, c.stride, (c.k - 1) / 2), bn);
        expect(relativeError(y, want)).toBeLessThan(1e-5);
      }),
      RUNS,
    );
  });
});

describe('mergeSequentialConvs (DBB 1x1 -> kxk)', () => {
  it('equals conv_kxk(pad_with_b1(conv_1x1(x))) with both BNs folded, any groups', () => {
    fc.assert(
      fc.property(
        blockCase({ kernels: [1, 3, 5], depthwise: 'never' }),
        fc.integer({ min: 1, max: 3 }),
        (c, midPerGroup) => {
          const r = rng(c.seed);
          const g = c.groups;
          const mid = g * midPerGroup;
          const w1 = randomKernel(r, 'OIHW', [mid, c.inChannels / g, 1, 1]);
          const w2 = randomKernel(r, 'OIHW', [c.outChannels, midPerGroup, c.k, c.k]);
          const bn1 = randomBN(r, mid, c.eps);
          const bn2 = randomBN(r, c.outChannels, c.eps);
          const b2 = uniform(r, c.outChannels);
          const x = randomInput(r, c.inChannels, c.h, c.w);
          const merged = mergeSequentialConvs(
            { kernel: inLayout(w1, c.layout, c.inChannels), bn: bn1 },
            { kernel: inLayout(w2, c.layout, mid), bn: bn2, bias: b2 },
            g,
          );
          expect(merged.kernel.layout).toBe(c.layout);
          // The intermediate is padded with the 1x1 branch's own output bias.
          const first = foldBatchNorm(w1, bn1);
          const hidden = conv2d(x, first.kernel, { groups: g }, first.bias);
          const p = (c.k - 1) / 2;
          const y2 = conv2d(
            hidden,
            w2,
            { stride: c.stride, groups: g, pad: [p, p, p, p], padValue: first.bias },
            b2,
          );
          const want = batchNorm(y2, bn2);
          const got = conv2d(
            x,
            toOIHW(merged.kernel),
            { stride: c.stride, groups: g, pad: [p, p, p, p] },
            merged.bias,
          );
          expect(relativeError(got, want)).toBeLessThan(1e-5);
        },
      ),
      RUNS,
    );
  });

  it('names the mismatch when the kxk conv reads a different channel count', () => {
    expect(() =>
      mergeSequentialConvs(
        { kernel: makeKernel('OIHW', [6, 4, 1, 1]) },
        { kernel: makeKernel('OIHW', [8, 4, 3, 3]) },
      ),
    ).toThrow(
      /mergeSequentialConvs: argument 'second.kernel' reads 4 x 1 groups = 4 channels, but first.kernel produces 6/,
    );
    expect(() =>
      mergeSequentialConvs(
        { kernel: makeKernel('OIHW', [4, 4, 3, 3]) },
        { kernel: makeKernel('OIHW', [8, 4, 3, 3]) },
      ),
    ).toThrow(/'first.kernel' is 3x3, expected 1x1/);
  });
});
