/**
 * Named regressions for the traps in ARCHITECTURE.md section 3: each one has
 * broken a real implementation of this algebra somewhere.
 */
import { describe, expect, it } from 'vitest';
import {
  type BatchNorm,
  foldBatchNorm,
  foldBranches,
  foldMobileOneBlock,
  foldRepVGGBlock,
  makeKernel,
  toHWIM,
  toHWIO,
  toOIHW,
} from '../src/index.js';
import { randomBN, randomInput, randomKernel, rng } from './helpers/random.js';
import { add, batchNorm, conv2d, relativeError, samePad } from './helpers/reference.js';

describe('trap: identity branch with groups > 1 (RepVGG g2/g4)', () => {
  it.each([2, 4])('RepVGG block with groups=%i and identity folds exactly', (groups) => {
    const r = rng(100 + groups);
    const C = 8;
    const ipg = C / groups;
    const dense = randomKernel(r, 'OIHW', [C, ipg, 3, 3]);
    const one = randomKernel(r, 'OIHW', [C, ipg, 1, 1]);
    const [b3, b1, b0] = [randomBN(r, C, 1e-5), randomBN(r, C, 1e-5), randomBN(r, C, 1e-5)];
    const x = randomInput(r, C, 6, 6);
    const f = foldRepVGGBlock({
      dense: { kernel: dense, bn: b3 },
      conv1x1: { kernel: one, bn: b1 },
      identity: b0,
      groups,
    });
    const want = add(
      batchNorm(conv2d(x, dense, { groups, pad: samePad(3, 3) }), b3),
      batchNorm(conv2d(x, one, { groups }), b1),
      batchNorm(x, b0),
    );
    expect(
      relativeError(conv2d(x, f.kernel, { groups, pad: samePad(3, 3) }, f.bias), want),
    ).toBeLessThan(1e-5);
  });
});

describe('trap: BN epsilon differs between frameworks (TF.js 1e-3, PyTorch 1e-5)', () => {
  it("the fold uses the layer's own eps, and the wrong one is measurably wrong", () => {
    const r = rng(5);
    const w = randomKernel(r, 'OIHW', [4, 4, 3, 3]);
    // Small running variances make the eps visible, as in trained nets with dead-ish channels.
    const tfBn: BatchNorm = {
      ...randomBN(r, 4, 1e-3),
      variance: new Float32Array([1e-3, 2e-3, 0.5, 1]),
    };
    const x = randomInput(r, 4, 5, 5);
    const want = batchNorm(conv2d(x, w, { pad: samePad(3, 3) }), tfBn);
    const right = foldBatchNorm(w, tfBn);
    const wrong = foldBatchNorm(w, { ...tfBn, eps: 1e-5 });
    expect(
      relativeError(conv2d(x, right.kernel, { pad: samePad(3, 3) }, right.bias), want),
    ).toBeLessThan(1e-5);
    expect(
      relativeError(conv2d(x, wrong.kernel, { pad: samePad(3, 3) }, wrong.bias), want),
    ).toBeGreaterThan(0.1);
  });
});

describe('trap: depthwise layout [kh, kw, in, multiplier]', () => {
  it('BN folds per (channel, multiplier) pair, output c*M + m', () => {
    // One tap, C = 2, M = 2: outputs in HWIM order are (c0,m0) (c0,m1) (c1,m0) (c1,m1).
    const k = makeKernel('HWIM', [1, 1, 2, 2], new Float32Array([1, 2, 3, 4]));
    const bn: BatchNorm = {
      gamma: new Float32Array([1, 10, 100, 1000]),
      beta: new Float32Array([0, 0, 0, 0]),
      mean: new Float32Array([0, 0, 0, 0]),
      variance: new Float32Array([1, 1, 1, 1]),
      eps: 1e-12,
    };
    const f = foldBatchNorm(k, bn);
    expect(Array.from(f.kernel.data)).toEqual([1, 20, 300, 4000]);
  });

  it('a MobileOne depthwise fold in HWIM equals the same fold in OIHW with groups = C', () => {
    const r = rng(9);
    const C = 6;
    const convs = [0, 1, 2].map(() => ({
      kernel: randomKernel(r, 'OIHW', [C, 1, 3, 3]),
      bn: randomBN(r, C, 1e-3),
    }));
    const scale = { kernel: randomKernel(r, 'OIHW', [C, 1, 1, 1]), bn: randomBN(r, C, 1e-3) };
    const identity = randomBN(r, C, 1e-3);
    const oihw = foldMobileOneBlock({ convs, scale, identity, groups: C });
    const hwim = foldMobileOneBlock({
      convs: convs.map((c) => ({ kernel: toHWIM(c.kernel, C), bn: c.bn })),
      scale: { kernel: toHWIM(scale.kernel, C), bn: scale.bn },
      identity,
    });
    expect(hwim.kernel.layout).toBe('HWIM');
    expect(hwim.kernel.shape).toEqual([3, 3, C, 1]);
    expect(toOIHW(hwim.kernel).data).toEqual(oihw.kernel.data);
    expect(hwim.bias).toEqual(oihw.bias);
  });
});

describe("trap: stride 2 with TF 'same' padding", () => {
  const r = rng(21);
  const C = 4;
  const dense = randomKernel(r, 'OIHW', [C, C, 3, 3]);
  const one = randomKernel(r, 'OIHW', [C, C, 1, 1]);
  const [b3, b1] = [randomBN(r, C, 1e-3), randomBN(r, C, 1e-3)];
  const x = randomInput(r, C, 8, 8);
  const f = foldRepVGGBlock({
    dense: { kernel: dense, bn: b3 },
    conv1x1: { kernel: one, bn: b1 },
    stride: 2,
  });
  const folded = conv2d(x, f.kernel, { stride: 2, pad: [1, 1, 1, 1] }, f.bias);

  it('is exact with explicit symmetric padding k//2 on an even input', () => {
    const want = add(
      batchNorm(conv2d(x, dense, { stride: 2, pad: [1, 1, 1, 1] }), b3),
      batchNorm(conv2d(x, one, { stride: 2 }), b1),
    );
    expect(relativeError(folded, want)).toBeLessThan(1e-5);
  });

  it("breaks under 'same' (pad 0 top/left, 1 bottom/right for 3x3; 0 for 1x1): the branches sample different points", () => {
    const tfSame = add(
      batchNorm(conv2d(x, dense, { stride: 2, pad: [0, 1, 0, 1] }), b3),
      batchNorm(conv2d(x, one, { stride: 2 }), b1),
    );
    const foldedSame = conv2d(x, f.kernel, { stride: 2, pad: [0, 1, 0, 1] }, f.bias);
    expect(relativeError(foldedSame, tfSame)).toBeGreaterThan(1e-2);
  });
});

describe('trap: OIHW vs HWIO layouts', () => {
  it('folding in HWIO gives bit-for-bit the same numbers as folding in OIHW', () => {
    const r = rng(33);
    const dense = randomKernel(r, 'OIHW', [16, 8, 3, 3]);
    const one = randomKernel(r, 'OIHW', [16, 8, 1, 1]);
    const [b3, b1, b0] = [randomBN(r, 16, 1e-5), randomBN(r, 16, 1e-5), randomBN(r, 16, 1e-5)];
    const a = foldRepVGGBlock({
      dense: { kernel: dense, bn: b3 },
      conv1x1: { kernel: one, bn: b1 },
      identity: b0,
      groups: 2,
    });
    const b = foldRepVGGBlock({
      dense: { kernel: toHWIO(dense), bn: b3 },
      conv1x1: { kernel: toHWIO(one), bn: b1 },
      identity: b0,
      groups: 2,
    });
    expect(b.kernel.layout).toBe('HWIO');
    expect(b.kernel.shape).toEqual([3, 3, 8, 16]);
    expect(toOIHW(b.kernel).data).toEqual(a.kernel.data);
    expect(b.bias).toEqual(a.bias);
  });
});

describe('folding into reused buffers', () => {
  it('overwrites every element, including the taps no branch covers', () => {
    const r = rng(44);
    for (const layout of ['OIHW', 'HWIO'] as const) {
      const one = randomKernel(r, 'OIHW', [4, 4, 1, 1]);
      const bn = randomBN(r, 4, 1e-5);
      const target = makeKernel(layout, layout === 'OIHW' ? [4, 4, 3, 3] : [3, 3, 4, 4]);
      target.data.fill(Number.NaN);
      const bias = new Float32Array(4).fill(Number.NaN);
      const src = layout === 'OIHW' ? one : toHWIO(one);
      // Only a 1x1 branch in a 3x3 target: eight of nine taps are covered by no branch.
      const into = foldBranches(
        { branches: [{ kernel: src, bn }], kernelSize: 3 },
        { kernel: target, bias },
      );
      expect(into.kernel).toBe(target);
      const fresh = foldBranches({ branches: [{ kernel: src, bn }], kernelSize: 3 });
      expect(fresh.kernel.data.filter((v) => v === 0).length).toBe(4 * 4 * 8);
      expect(target.data).toEqual(fresh.kernel.data);
      expect(bias).toEqual(fresh.bias);
    }
  });
});
