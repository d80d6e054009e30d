import { describe, expect, it } from 'vitest';
import { ops } from '../src/augment/index.js';
import type { ImageHWC } from '../src/data/types.js';
import { gray, randomImage, rows } from './helpers/images.js';

/** out(y, x) = in(x, H - 1 - y): transpose, then reverse the row order. */
function transposeThenFlipRows(image: ImageHWC): Float32Array {
  const { height: n, channels: c, data } = image;
  const out = new Float32Array(data.length);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      for (let k = 0; k < c; k++) out[(y * n + x) * c + k] = data[(x * n + (n - 1 - y)) * c + k]!;
    }
  }
  return out;
}

const nine = () =>
  gray([
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
  ]);

const F = 0.5; // the default fill

describe('rotate', () => {
  it('90 degrees counter-clockwise of a square image is a transposition and a row flip, exactly', () => {
    expect(rows(ops.rotate(nine(), 90, { interpolation: 'nearest' }))).toEqual([
      [3, 6, 9],
      [2, 5, 8],
      [1, 4, 7],
    ]);
    const img = randomImage(4, 4, 3, 11);
    for (const interpolation of ['nearest', 'bilinear'] as const) {
      expect(ops.rotate(img, 90, { interpolation }).data).toEqual(transposeThenFlipRows(img));
    }
  });

  it('-90 is clockwise and 180 reverses a non-square image', () => {
    expect(rows(ops.rotate(nine(), -90, { interpolation: 'nearest' }))).toEqual([
      [7, 4, 1],
      [8, 5, 2],
      [9, 6, 3],
    ]);
    const wide = gray([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(rows(ops.rotate(wide, 180))).toEqual([
      [6, 5, 4],
      [3, 2, 1],
    ]);
  });

  it('45 degrees with nearest: hand-mapped pixels and the fill in the corners', () => {
    // Output (0, 0) samples (1.5, 0.09): pixel 2; (1, 0) samples (2.21, 0.79): pixel 3;
    // (2, 0) samples (2.91, 1.5): pixel 6.
    expect(rows(ops.rotate(nine(), 45, { interpolation: 'nearest' }))[0]).toEqual([2, 3, 6]);
    const big = randomImage(4, 4, 3, 2);
    const out = ops.rotate(big, 45, { fill: [0.1, 0.2, 0.3] });
    expect(Array.from(out.data.subarray(0, 3))).toEqual([0.1, 0.2, 0.3].map(Math.fround));
    expect(Array.from(ops.rotate(big, 45).data.subarray(0, 3))).toEqual([F, F, F]);
  });

  it('0 and whole turns return the input; names a bad angle', () => {
    const img = nine();
    expect(ops.rotate(img, 0)).toBe(img);
    expect(ops.rotate(img, 360)).toBe(img);
    expect(() => ops.rotate(img, Number.NaN)).toThrow('rotate: degrees must be finite, got NaN');
  });
});

describe('translate and shear', () => {
  it('translate moves content by whole pixels and fills behind it', () => {
    const opts = { interpolation: 'nearest' as const, fill: 0 };
    expect(rows(ops.translateX(nine(), 1, opts))).toEqual([
      [0, 1, 2],
      [0, 4, 5],
      [0, 7, 8],
    ]);
    expect(rows(ops.translateX(nine(), -2, opts))).toEqual([
      [3, 0, 0],
      [6, 0, 0],
      [9, 0, 0],
    ]);
    expect(rows(ops.translateY(nine(), 1, opts))).toEqual([
      [0, 0, 0],
      [1, 2, 3],
      [4, 5, 6],
    ]);
    // Whole-pixel moves are exact with bilinear too.
    expect(ops.translateY(nine(), -1, { fill: 0 }).data).toEqual(
      ops.translateY(nine(), -1, opts).data,
    );
  });

  it('a half-pixel translate with bilinear averages neighbours (edge pixel clamped, not blended with the fill)', () => {
    // Output x samples x: 0 -> edge pixel, 1 -> (1 + 2) / 2, 2 -> (2 + 3) / 2.
    expect(rows(ops.translateX(gray([[1, 2, 3]]), 0.5))).toEqual([[1, 1.5, 2.5]]);
  });

  it('shearX moves the row at height v (from the top edge) right by factor * v', () => {
    // Row centres are at v = 0.5, 1.5, 2.5; factor 1 shifts them by as much.
    expect(rows(ops.shearX(nine(), 1, { interpolation: 'nearest' }))).toEqual([
      [1, 2, 3],
      [F, 4, 5],
      [F, F, 7],
    ]);
    expect(rows(ops.shearX(nine(), -1, { interpolation: 'nearest' }))).toEqual([
      [2, 3, F],
      [6, F, F],
      [F, F, F],
    ]);
  });

  it('shearY moves the column at x right of the left edge down by factor * x', () => {
    expect(rows(ops.shearY(nine(), 1, { interpolation: 'nearest' }))).toEqual([
      [1, F, F],
      [4, 2, F],
      [7, 5, 3],
    ]);
  });

  it('zero shifts copy the image; the general warp names bad matrices and options', () => {
    const img = randomImage(5, 4, 3, 8);
    for (const out of [
      ops.shearX(img, 0),
      ops.shearY(img, 0),
      ops.translateX(img, 0),
      ops.translateY(img, 0, { interpolation: 'nearest' }),
    ]) {
      expect(out).not.toBe(img);
      expect(out.data).toEqual(img.data);
    }
    expect(() => ops.warpAffine(img, [1, 0, 0, 0, 1] as never)).toThrow(
      /warpAffine: inverse must be 6 finite numbers/,
    );
    expect(() =>
      ops.warpAffine(img, [1, 0, 0, 0, 1, 0], { interpolation: 'cubic' as never }),
    ).toThrow("warpAffine: interpolation must be 'nearest' or 'bilinear', got 'cubic'");
    expect(() => ops.translateX(img, 1, { fill: [0, 0] })).toThrow(
      'warpAffine: fill has 2 values ([0,0]) but the image has 3 channels',
    );
  });
});
