/** Bad input gets a FuseError naming the operation, the argument and the shapes; never a wrong result. */
import { describe, expect, it } from 'vitest';
import {
  type BatchNorm,
  FuseError,
  foldBatchNorm,
  foldBranches,
  foldMobileOneBlock,
  foldRepVGGBlock,
  makeKernel,
  padKernel,
  sumBranches,
  toHWIO,
} from '../src/index.js';
import { randomBN, randomKernel, rng } from './helpers/random.js';

const r = rng(11);
const k33 = (o: number, i: number) => randomKernel(r, 'OIHW', [o, i, 3, 3]);
const k11 = (o: number, i: number) => randomKernel(r, 'OIHW', [o, i, 1, 1]);
const bn = (c: number): BatchNorm => randomBN(r, c, 1e-5);

function catchFuse(fn: () => unknown): FuseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FuseError);
    return e as FuseError;
  }
  throw new Error('expected a FuseError, got a result');
}

describe('errors', () => {
  it('mismatched channels between branches name both kernels and their shapes', () => {
    const e = catchFuse(() =>
      foldRepVGGBlock({
        dense: { kernel: k33(8, 8), bn: bn(8) },
        conv1x1: { kernel: k11(8, 4), bn: bn(8) },
      }),
    );
    expect(e.op).toBe('foldRepVGGBlock');
    expect(e.argument).toBe('conv1x1.kernel');
    expect(e.message).toMatch(/has 8 outputs x 4 inputs per group, but dense.kernel has 8 x 8/);
    expect(e.message).toMatch(
      /dense.kernel OIHW \[8, 8, 3, 3\], conv1x1.kernel OIHW \[8, 4, 1, 1\]/,
    );
  });

  it('BN of the wrong length names the BN field', () => {
    const b = { ...bn(8), variance: new Float32Array(7).fill(1) };
    const e = catchFuse(() => foldRepVGGBlock({ dense: { kernel: k33(8, 8), bn: b } }));
    expect(e.argument).toBe('dense.bn.variance');
    expect(e.message).toMatch(/has 7 channels, expected 8/);
  });

  it('negative variance and eps <= 0 are refused', () => {
    const neg = bn(4);
    neg.variance[2] = -0.1;
    expect(() => foldBatchNorm(k33(4, 4), neg)).toThrow(
      /'bn.variance' is negative \(-0.1\d*\) at channel 2/,
    );
    for (const eps of [0, -1e-5, Number.NaN]) {
      expect(() => foldBatchNorm(k33(4, 4), { ...bn(4), eps })).toThrow(
        /'bn.eps' is .*, expected a finite number > 0/,
      );
    }
  });

  it('non-finite values are found and named, in kernels and in BN statistics', () => {
    const w = k33(4, 4);
    w.data[17] = Number.NaN;
    expect(() => foldBatchNorm(w, bn(4))).toThrow(
      /foldBatchNorm: argument 'kernel' has a non-finite value NaN at element 17/,
    );
    const hw = toHWIO(k33(4, 4));
    hw.data[5] = Number.POSITIVE_INFINITY;
    expect(() => foldRepVGGBlock({ dense: { kernel: hw, bn: bn(4) } })).toThrow(
      /'dense.kernel' has a non-finite value Infinity at element 5/,
    );
    const g = bn(4);
    g.gamma![1] = Number.NEGATIVE_INFINITY;
    expect(() => foldBatchNorm(k33(4, 4), g)).toThrow(
      /'bn.gamma' has a non-finite value -Infinity at channel 1/,
    );
    const one = k11(4, 4);
    one.data[3] = Number.NaN;
    expect(() =>
      foldRepVGGBlock({
        dense: { kernel: k33(4, 4), bn: bn(4) },
        conv1x1: { kernel: one, bn: bn(4) },
      }),
    ).toThrow(/'conv1x1.kernel' has a non-finite value NaN at element 3/);
  });

  it('overflow to infinity is reported instead of returned', () => {
    const w = k33(2, 2);
    w.data.fill(3e38);
    const b: BatchNorm = { mean: new Float32Array(2), variance: new Float32Array(2), eps: 1e-5 };
    expect(() => foldBatchNorm(w, b)).toThrow(/overflowed float32/);
  });

  it('groups that do not divide, and identity without in == out', () => {
    expect(() => foldBranches({ branches: [{ kernel: k33(6, 2) }], groups: 4 })).toThrow(
      /'groups' is 4, which does not divide the 6 output channels/,
    );
    expect(() =>
      foldRepVGGBlock({ dense: { kernel: k33(8, 4), bn: bn(8) }, identity: bn(8) }),
    ).toThrow(
      /'identity' needs in == out channels, but the block maps 4 \(in\/groups 4 x groups 1\) to 8/,
    );
    expect(() =>
      foldRepVGGBlock({ dense: { kernel: k33(8, 4), bn: bn(8) }, identity: bn(8), groups: 2 }),
    ).not.toThrow();
  });

  it('identity at stride 2 is refused', () => {
    expect(() =>
      foldRepVGGBlock({ dense: { kernel: k33(4, 4), bn: bn(4) }, identity: bn(4), stride: 2 }),
    ).toThrow(/foldRepVGGBlock: argument 'identity' is given, but stride is 2/);
  });

  it('kernels that cannot be centred are refused, never placed off-centre', () => {
    const k22 = randomKernel(r, 'OIHW', [4, 4, 2, 2]);
    expect(() => sumBranches([{ kernel: k33(4, 4) }, { kernel: k22 }])).toThrow(
      /sumBranches: argument 'branches\[1\].kernel' is 2x2 and cannot be centred in 3x3/,
    );
    expect(() => padKernel(k22, 3)).toThrow(/cannot be centred in 3x3/);
    expect(() => padKernel(k33(1, 1), 1)).toThrow(
      /padKernel: argument 'size' is 1x1, expected integers >= the kernel's 3x3/,
    );
    expect(() => foldRepVGGBlock({ dense: { kernel: k22, bn: bn(4) } })).toThrow(
      /'dense.kernel' is 2x2; RepVGG needs an odd square kernel/,
    );
  });

  it('a 1x1 branch where a kxk is expected, and MobileOne scale on a 1x1 block', () => {
    expect(() =>
      foldRepVGGBlock({
        dense: { kernel: k33(4, 4), bn: bn(4) },
        conv1x1: { kernel: k33(4, 4), bn: bn(4) },
      }),
    ).toThrow(/'conv1x1.kernel' is 3x3, expected 1x1/);
    expect(() =>
      foldMobileOneBlock({
        convs: [{ kernel: k11(4, 4), bn: bn(4) }],
        scale: { kernel: k11(4, 4), bn: bn(4) },
      }),
    ).toThrow(/'scale' is given for a 1x1 block/);
    expect(() => foldMobileOneBlock({ convs: [] })).toThrow(/'convs' must hold at least one/);
    expect(() =>
      foldMobileOneBlock({
        convs: [
          { kernel: k33(4, 4), bn: bn(4) },
          { kernel: k11(4, 4), bn: bn(4) },
        ],
      }),
    ).toThrow(/'convs\[1\].kernel' is 1x1, but convs\[0\].kernel is 3x3/);
  });

  it('mixed layouts must be converted first', () => {
    expect(() =>
      foldRepVGGBlock({
        dense: { kernel: k33(4, 4), bn: bn(4) },
        conv1x1: { kernel: toHWIO(k11(4, 4)), bn: bn(4) },
      }),
    ).toThrow(/'conv1x1.kernel' has layout HWIO, but dense.kernel is OIHW; convert first/);
  });

  it('output buffers of the wrong shape or aliasing an input are refused', () => {
    const w = k33(4, 4);
    expect(() =>
      foldBatchNorm(w, bn(4), undefined, { kernel: makeKernel('OIHW', [4, 4, 1, 1]) }),
    ).toThrow(/'into.kernel' must be a OIHW kernel of shape \[4, 4, 3, 3\]/);
    expect(() => foldBatchNorm(w, bn(4), undefined, { kernel: w })).toThrow(
      /shares memory with a branch kernel/,
    );
    expect(() => foldBatchNorm(w, bn(4), undefined, { bias: new Float32Array(3) })).toThrow(
      /'into.bias' must be a Float32Array of 4/,
    );
  });

  it('malformed kernels are refused before any work', () => {
    const bad = { layout: 'OIHW', shape: [4, 4, 3, 3], data: new Float32Array(10) } as never;
    expect(() => foldBatchNorm(bad, bn(4))).toThrow(/'kernel.data' has 10 elements, expected 144/);
    expect(() => foldBranches({ branches: [] })).toThrow(/'branches' must be a non-empty array/);
  });
});
