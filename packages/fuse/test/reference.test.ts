import { describe, expect, it } from 'vitest';
import { referenceConv2d, toHWIM, toHWIO } from '../src/index.js';
import { randomKernel, rng, uniform } from './helpers/random.js';
import { conv2d } from './helpers/reference.js';

describe('referenceConv2d (the public NHWC reference)', () => {
  it.each([
    [1, 1, 0],
    [2, 2, 1],
    [4, 1, 2],
    [8, 2, 1],
  ])(
    'agrees with the CHW test reference: groups %i, stride %i, pad %i, in every layout',
    (groups, stride, pad) => {
      const r = rng(groups * 10 + stride);
      const C = 8;
      const O = 8;
      const [H, W] = [7, 6];
      const k = randomKernel(r, 'OIHW', [O, C / groups, 3, 3]);
      const bias = uniform(r, O);
      const nhwc = uniform(r, H * W * C);
      const chw = new Float64Array(C * H * W);
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++)
          for (let c = 0; c < C; c++) chw[(c * H + y) * W + x] = nhwc[(y * W + x) * C + c]!;
      const want = conv2d(
        { c: C, h: H, w: W, data: chw },
        k,
        { stride, groups, pad: [pad, pad, pad, pad] },
        bias,
      );
      const kernels = [k, toHWIO(k), ...(groups === C ? [toHWIM(k, C)] : [])];
      for (const kernel of kernels) {
        const got = referenceConv2d({ shape: [1, H, W, C], data: nhwc }, kernel, {
          stride,
          groups,
          pad,
          bias,
        });
        expect(got.shape).toEqual([1, want.h, want.w, O]);
        for (let y = 0; y < want.h; y++)
          for (let x = 0; x < want.w; x++)
            for (let o = 0; o < O; o++)
              expect(got.data[(y * want.w + x) * O + o]).toBeCloseTo(
                want.data[(o * want.h + y) * want.w + x]!,
                5,
              );
      }
    },
  );

  it('names a channel mismatch', () => {
    const k = randomKernel(rng(1), 'OIHW', [4, 3, 3, 3]);
    expect(() => referenceConv2d({ shape: [1, 4, 4, 4], data: new Float32Array(64) }, k)).toThrow(
      /referenceConv2d: argument 'kernel' reads 3 x 1 groups, but x has 4 channels/,
    );
  });
});
