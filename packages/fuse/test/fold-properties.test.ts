/**
 * Property suite: for every fold, conv(x, folded kernel) + folded bias equals
 * the sum of the branch outputs computed naively, within 1e-5 of the output
 * scale, over random geometries, groups, strides, layouts and BN statistics.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BatchNorm,
  type ConvBN,
  foldACNetBlock,
  foldBatchNorm,
  foldBranches,
  foldMobileOneBlock,
  foldPostBatchNorm,
  foldQARepVGGBlock,
  foldRepVGGBlock,
  type Kernel,
  padKernel,
  setFoldEngine,
  sumBranches,
  toOIHW,
} from '../src/index.js';
import { blockCase, inLayout, RUNS } from './helpers/cases.js';
import { randomBN, randomInput, randomKernel, rng, uniform } from './helpers/random.js';
import {
  add,
  batchNorm,
  conv2d,
  relativeError,
  samePad,
  type Tensor3,
} from './helpers/reference.js';

const TOL = 1e-5;

/** Runs a folded conv through the reference, whatever its layout. */
function runFolded(
  x: Tensor3,
  kernel: Kernel,
  bias: Float32Array,
  stride: number,
  groups: number,
): Tensor3 {
  const k = toOIHW(kernel);
  return conv2d(x, k, { stride, groups, pad: samePad(k.shape[2], k.shape[3]) }, bias);
}

function runConvBN(
  x: Tensor3,
  k: Kernel<'OIHW'>,
  bn: BatchNorm | undefined,
  stride: number,
  groups: number,
  bias?: Float32Array,
) {
  const y = conv2d(x, k, { stride, groups, pad: samePad(k.shape[2], k.shape[3]) }, bias);
  return bn ? batchNorm(y, bn) : y;
}

const ENGINES = ['simd', 'js'] as const;

describe.each(ENGINES)('%s engine', (engine) => {
  beforeAll(() => setFoldEngine(engine));
  afterAll(() => setFoldEngine('auto'));

  describe('foldBatchNorm', () => {
    it('conv+BN equals the folded conv, with and without a conv bias', () => {
      fc.assert(
        fc.property(blockCase(), fc.boolean(), (c, withBias) => {
          const r = rng(c.seed);
          const ipg = c.inChannels / c.groups;
          const k = randomKernel(r, 'OIHW', [c.outChannels, ipg, c.k, c.k]);
          const bn = randomBN(r, c.outChannels, c.eps);
          const bias = withBias ? uniform(r, c.outChannels) : undefined;
          const x = randomInput(r, c.inChannels, c.h, c.w);
          const folded = foldBatchNorm(inLayout(k, c.layout, c.inChannels), bn, bias);
          expect(folded.kernel.layout).toBe(c.layout);
          const want = runConvBN(x, k, bn, c.stride, c.groups, bias);
          expect(
            relativeError(runFolded(x, folded.kernel, folded.bias, c.stride, c.groups), want),
          ).toBeLessThan(TOL);
        }),
        RUNS,
      );
    });
  });

  describe('foldRepVGGBlock', () => {
    it('3x3+BN, 1x1+BN and identity BN fold to one conv (groups 1/2/4/depthwise, stride 1/2)', () => {
      fc.assert(
        fc.property(
          blockCase({ kernels: [3, 5] }),
          fc.boolean(),
          fc.boolean(),
          (c, with1x1, wantIdentity) => {
            const r = rng(c.seed);
            const ipg = c.inChannels / c.groups;
            const dense = randomKernel(r, 'OIHW', [c.outChannels, ipg, c.k, c.k]);
            const one = randomKernel(r, 'OIHW', [c.outChannels, ipg, 1, 1]);
            const bnD = randomBN(r, c.outChannels, c.eps);
            const bn1 = randomBN(r, c.outChannels, c.eps);
            const bnI = randomBN(r, c.outChannels, c.eps);
            const identity = wantIdentity && c.identityPossible;
            const x = randomInput(r, c.inChannels, c.h, c.w);
            const folded = foldRepVGGBlock({
              dense: { kernel: inLayout(dense, c.layout, c.inChannels), bn: bnD },
              conv1x1: with1x1
                ? { kernel: inLayout(one, c.layout, c.inChannels), bn: bn1 }
                : undefined,
              identity: identity ? bnI : undefined,
              groups: c.groups,
              stride: c.stride,
            });
            const parts = [runConvBN(x, dense, bnD, c.stride, c.groups)];
            if (with1x1) parts.push(runConvBN(x, one, bn1, c.stride, c.groups));
            if (identity) parts.push(batchNorm(x, bnI));
            const got = runFolded(x, folded.kernel, folded.bias, c.stride, c.groups);
            expect(relativeError(got, add(...parts))).toBeLessThan(TOL);
          },
        ),
        RUNS,
      );
    });
  });

  describe('foldQARepVGGBlock', () => {
    it('BN(3x3+BN + 1x1 + x) folds to one conv (groups 1/2/4/depthwise, stride 1/2, with and without 1x1 and identity)', () => {
      fc.assert(
        fc.property(
          blockCase({ kernels: [3, 5] }),
          fc.boolean(),
          fc.boolean(),
          (c, with1x1, wantIdentity) => {
            const r = rng(c.seed);
            const ipg = c.inChannels / c.groups;
            const dense = randomKernel(r, 'OIHW', [c.outChannels, ipg, c.k, c.k]);
            const one = randomKernel(r, 'OIHW', [c.outChannels, ipg, 1, 1]);
            const bnD = randomBN(r, c.outChannels, c.eps);
            const post = randomBN(r, c.outChannels, c.eps);
            const identity = wantIdentity && c.identityPossible;
            const x = randomInput(r, c.inChannels, c.h, c.w);
            const folded = foldQARepVGGBlock({
              dense: { kernel: inLayout(dense, c.layout, c.inChannels), bn: bnD },
              conv1x1: with1x1 ? inLayout(one, c.layout, c.inChannels) : undefined,
              identity,
              bn: post,
              groups: c.groups,
              stride: c.stride,
            });
            const parts = [runConvBN(x, dense, bnD, c.stride, c.groups)];
            if (with1x1) parts.push(runConvBN(x, one, undefined, c.stride, c.groups));
            if (identity) parts.push(x);
            const want = batchNorm(add(...parts), post);
            const got = runFolded(x, folded.kernel, folded.bias, c.stride, c.groups);
            expect(relativeError(got, want)).toBeLessThan(TOL);
          },
        ),
        RUNS,
      );
    });

    it('refuses an identity at stride 2, a missing post-sum BN and a 3x3 given as the 1x1, naming each', () => {
      const r = rng(3);
      const dense = { kernel: randomKernel(r, 'OIHW', [4, 4, 3, 3]), bn: randomBN(r, 4, 1e-5) };
      const bn = randomBN(r, 4, 1e-5);
      expect(() => foldQARepVGGBlock({ dense, identity: true, bn, stride: 2 })).toThrow(
        /foldQARepVGGBlock: .*identity.*stride is 2/,
      );
      expect(() => foldQARepVGGBlock({ dense } as never)).toThrow(
        /foldQARepVGGBlock: .*bn.*BN after the branch sum/,
      );
      expect(() => foldQARepVGGBlock({ dense, conv1x1: dense.kernel, bn })).toThrow(
        /foldQARepVGGBlock: .*conv1x1.*3x3, expected 1x1/,
      );
    });
  });

  describe('foldMobileOneBlock', () => {
    it('k conv+BN branches, 1x1 scale branch and identity BN fold to one conv (depthwise and pointwise)', () => {
      fc.assert(
        fc.property(
          blockCase({ kernels: [1, 3, 5] }),
          fc.integer({ min: 1, max: 4 }),
          fc.boolean(),
          (c, kBranches, wantIdentity) => {
            const r = rng(c.seed);
            const ipg = c.inChannels / c.groups;
            const convs = Array.from({ length: kBranches }, () => ({
              k: randomKernel(r, 'OIHW', [c.outChannels, ipg, c.k, c.k]),
              bn: randomBN(r, c.outChannels, c.eps),
            }));
            const withScale = c.k > 1;
            const scaleK = randomKernel(r, 'OIHW', [c.outChannels, ipg, 1, 1]);
            const scaleBn = randomBN(r, c.outChannels, c.eps);
            const bnI = randomBN(r, c.outChannels, c.eps);
            const identity = wantIdentity && c.identityPossible;
            const x = randomInput(r, c.inChannels, c.h, c.w);
            const folded = foldMobileOneBlock({
              convs: convs.map(
                (b): ConvBN => ({ kernel: inLayout(b.k, c.layout, c.inChannels), bn: b.bn }),
              ),
              scale: withScale
                ? { kernel: inLayout(scaleK, c.layout, c.inChannels), bn: scaleBn }
                : undefined,
              identity: identity ? bnI : undefined,
              groups: c.groups,
              stride: c.stride,
            });
            const parts = convs.map((b) => runConvBN(x, b.k, b.bn, c.stride, c.groups));
            if (withScale) parts.push(runConvBN(x, scaleK, scaleBn, c.stride, c.groups));
            if (identity) parts.push(batchNorm(x, bnI));
            const got = runFolded(x, folded.kernel, folded.bias, c.stride, c.groups);
            expect(relativeError(got, add(...parts))).toBeLessThan(TOL);
          },
        ),
        RUNS,
      );
    });
  });

  describe('padKernel and sumBranches', () => {
    it('a centre-padded kernel computes the same conv as the original', () => {
      fc.assert(
        fc.property(blockCase({ kernels: [1, 3] }), fc.constantFrom(2, 4), (c, grow) => {
          const r = rng(c.seed);
          const ipg = c.inChannels / c.groups;
          const k = randomKernel(r, 'OIHW', [c.outChannels, ipg, c.k, c.k]);
          const x = randomInput(r, c.inChannels, c.h, c.w);
          const padded = padKernel(inLayout(k, c.layout, c.inChannels), c.k + grow);
          expect(toOIHW(padded).shape).toEqual([c.outChannels, ipg, c.k + grow, c.k + grow]);
          const got = runFolded(x, padded, new Float32Array(c.outChannels), c.stride, c.groups);
          expect(relativeError(got, runConvBN(x, k, undefined, c.stride, c.groups))).toBeLessThan(
            TOL,
          );
        }),
        RUNS,
      );
    });

    it('summed kernels and biases equal the sum of the convs', () => {
      fc.assert(
        fc.property(blockCase(), (c) => {
          const r = rng(c.seed);
          const ipg = c.inChannels / c.groups;
          const sizes = [c.k, 1, c.k + 2];
          const ks = sizes.map((s) => randomKernel(r, 'OIHW', [c.outChannels, ipg, s, s]));
          const bs = sizes.map(() => uniform(r, c.outChannels));
          const x = randomInput(r, c.inChannels, c.h, c.w);
          const folded = sumBranches(
            ks.map((k, j) => ({ kernel: inLayout(k, c.layout, c.inChannels), bias: bs[j] })),
          );
          const want = add(
            ...ks.map((k, j) => runConvBN(x, k, undefined, c.stride, c.groups, bs[j])),
          );
          expect(
            relativeError(runFolded(x, folded.kernel, folded.bias, c.stride, c.groups), want),
          ).toBeLessThan(TOL);
        }),
        RUNS,
      );
    });
  });

  describe('foldACNetBlock', () => {
    it('1xk and kx1 branches land on the centre cross of the kxk kernel', () => {
      fc.assert(
        fc.property(blockCase({ kernels: [3, 5], depthwise: 'never' }), (c) => {
          const r = rng(c.seed);
          const ipg = c.inChannels / c.groups;
          const sq = randomKernel(r, 'OIHW', [c.outChannels, ipg, c.k, c.k]);
          const hor = randomKernel(r, 'OIHW', [c.outChannels, ipg, 1, c.k]);
          const ver = randomKernel(r, 'OIHW', [c.outChannels, ipg, c.k, 1]);
          const bns = [0, 1, 2].map(() => randomBN(r, c.outChannels, c.eps));
          const x = randomInput(r, c.inChannels, c.h, c.w);
          const folded = foldACNetBlock({
            square: { kernel: inLayout(sq, c.layout, c.inChannels), bn: bns[0]! },
            horizontal: { kernel: inLayout(hor, c.layout, c.inChannels), bn: bns[1]! },
            vertical: { kernel: inLayout(ver, c.layout, c.inChannels), bn: bns[2]! },
            groups: c.groups,
          });
          const want = add(
            ...[sq, hor, ver].map((k, j) => runConvBN(x, k, bns[j], c.stride, c.groups)),
          );
          expect(
            relativeError(runFolded(x, folded.kernel, folded.bias, c.stride, c.groups), want),
          ).toBeLessThan(TOL);
        }),
        RUNS,
      );
    });
  });

  describe('BN after the branch sum (QARepVGG / RepViT)', () => {
    it('BN(conv3x3+BN + conv1x1 + x) folds exactly', () => {
      fc.assert(
        fc.property(blockCase({ kernels: [3] }), (c) => {
          fc.pre(c.identityPossible);
          const r = rng(c.seed);
          const ipg = c.inChannels / c.groups;
          const dense = randomKernel(r, 'OIHW', [c.outChannels, ipg, 3, 3]);
          const one = randomKernel(r, 'OIHW', [c.outChannels, ipg, 1, 1]);
          const bnD = randomBN(r, c.outChannels, c.eps);
          const post = randomBN(r, c.outChannels, c.eps);
          const x = randomInput(r, c.inChannels, c.h, c.w);
          const sum = foldBranches({
            branches: [
              { kernel: inLayout(dense, c.layout, c.inChannels), bn: bnD },
              { kernel: inLayout(one, c.layout, c.inChannels) },
            ],
            identity: true,
            groups: c.groups,
          });
          const folded = foldPostBatchNorm(sum, post);
          const want = batchNorm(
            add(
              runConvBN(x, dense, bnD, 1, c.groups),
              runConvBN(x, one, undefined, 1, c.groups),
              x,
            ),
            post,
          );
          expect(
            relativeError(runFolded(x, folded.kernel, folded.bias, 1, c.groups), want),
          ).toBeLessThan(TOL);
        }),
        RUNS,
      );
    });
  });
});
