import { describe, expect, it } from 'vitest';
import { convertKernel, FuseError, makeKernel, toHWIM, toHWIO, toOIHW } from '../src/index.js';
import { kernelView } from '../src/kernel-layout.js';
import { randomKernel, rng } from './helpers/random.js';

/** An OIHW kernel whose value encodes its index: v = o*1000 + i*100 + h*10 + w. */
function labelled(o: number, i: number, h: number, w: number) {
  const k = makeKernel('OIHW', [o, i, h, w]);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let c = 0; c < h; c++)
        for (let d = 0; d < w; d++)
          k.data[((a * i + b) * h + c) * w + d] = a * 1000 + b * 100 + c * 10 + d;
  return k;
}

describe('kernel layouts', () => {
  it('OIHW -> HWIO puts [o, i, h, w] at [h, w, i, o]', () => {
    const k = toHWIO(labelled(4, 3, 2, 5));
    expect(k.layout).toBe('HWIO');
    expect(k.shape).toEqual([2, 5, 3, 4]);
    const [H, W, I, O] = k.shape;
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let i = 0; i < I; i++)
          for (let o = 0; o < O; o++)
            expect(k.data[((h * W + w) * I + i) * O + o]).toBe(o * 1000 + i * 100 + h * 10 + w);
  });

  it('depthwise OIHW [C*M, 1, kh, kw] -> HWIM [kh, kw, C, M] maps output c*M+m', () => {
    const C = 3;
    const M = 2;
    const k = toHWIM(labelled(C * M, 1, 3, 3), C);
    expect(k.shape).toEqual([3, 3, C, M]);
    for (let h = 0; h < 3; h++)
      for (let w = 0; w < 3; w++)
        for (let c = 0; c < C; c++)
          for (let m = 0; m < M; m++)
            expect(k.data[((h * 3 + w) * C + c) * M + m]).toBe((c * M + m) * 1000 + h * 10 + w);
  });

  it('round trips are exact in every direction', () => {
    const r = rng(7);
    const k = randomKernel(r, 'OIHW', [6, 1, 3, 5]);
    expect(toOIHW(toHWIO(k)).data).toEqual(k.data);
    expect(toOIHW(toHWIM(k, 3)).data).toEqual(k.data);
    expect(toOIHW(toHWIM(toHWIO(k), 6)).data).toEqual(k.data);
    expect(convertKernel(convertKernel(k, 'HWIM', 2), 'OIHW').data).toEqual(k.data);
    // HWIM [kh, kw, C, M] and grouped HWIO [kh, kw, 1, C*M] share one memory order.
    expect(toHWIO(toHWIM(k, 3)).data).toEqual(toHWIO(k).data);
  });

  it('conversions copy: the source is never aliased', () => {
    const k = randomKernel(rng(1), 'OIHW', [2, 2, 1, 1]);
    const same = toOIHW(k);
    same.data[0] = 42;
    expect(k.data[0]).not.toBe(42);
  });

  it('views agree on logical dimensions across layouts', () => {
    const k = randomKernel(rng(3), 'OIHW', [8, 2, 3, 1]);
    const a = kernelView(k);
    const b = kernelView(toHWIO(k));
    expect([a.out, a.inPerGroup, a.kh, a.kw]).toEqual([8, 2, 3, 1]);
    expect([b.out, b.inPerGroup, b.kh, b.kw]).toEqual([8, 2, 3, 1]);
    const dw = kernelView(toHWIM(randomKernel(rng(4), 'OIHW', [6, 1, 3, 3]), 3));
    expect([dw.out, dw.inPerGroup]).toEqual([6, 1]);
  });

  it('refuses bad shapes and non-depthwise HWIM conversions with named arguments', () => {
    expect(() => makeKernel('OIHW', [2, 2, 3], new Float32Array(12))).toThrow(
      /makeKernel: argument 'shape'/,
    );
    expect(() => makeKernel('OIHW', [2, 2, 3, 3], new Float32Array(5))).toThrow(
      /'data' has 5 elements, expected 36/,
    );
    expect(() => makeKernel('NCHW' as 'OIHW', [1, 1, 1, 1])).toThrow(FuseError);
    expect(() => toHWIM(makeKernel('OIHW', [4, 2, 3, 3]), 2)).toThrow(
      /not depthwise: it has 2 inputs per group/,
    );
    expect(() => toHWIM(makeKernel('OIHW', [6, 1, 3, 3]), 4)).toThrow(
      /channels' is 4, which does not divide the 6/,
    );
    expect(() => convertKernel(makeKernel('OIHW', [6, 1, 3, 3]), 'HWIM')).toThrow(
      /'channels' is required/,
    );
  });
});
