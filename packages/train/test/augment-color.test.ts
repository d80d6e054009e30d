import { describe, expect, it } from 'vitest';
import { ops } from '../src/augment/index.js';
import type { ImageHWC } from '../src/data/types.js';

function image(height: number, width: number, channels: number, values: number[]): ImageHWC {
  return { data: Float32Array.from(values), height, width, channels };
}

const f32 = (values: number[]) => values.map(Math.fround);

function expectClose(actual: ArrayLike<number>, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  for (const [i, v] of expected.entries()) expect(actual[i]).toBeCloseTo(v, 6);
}

/** 1x2 RGB: pure red, pure green. */
const redGreen = () => image(1, 2, 3, [1, 0, 0, 0, 1, 0]);

describe('enhance ops (blend with a degenerate image, clipped to 0..1)', () => {
  it('brightness: 0 is black, 0.5 halves, 2 doubles and clips', () => {
    const img = image(1, 3, 1, [0.25, 0.5, 0.75]);
    expect(Array.from(ops.brightness(img, 0).data)).toEqual([0, 0, 0]);
    expect(Array.from(ops.brightness(img, 0.5).data)).toEqual([0.125, 0.25, 0.375]);
    expect(Array.from(ops.brightness(img, 2).data)).toEqual([0.5, 1, 1]);
    expect(ops.brightness(img, 1)).toBe(img);
  });

  it('contrast: 0 is the mean luma in every channel, 2 stretches about it', () => {
    // Mean of luma(red) = 0.299 and luma(green) = 0.587.
    expect(Array.from(ops.contrast(redGreen(), 0).data)).toEqual(f32(Array(6).fill(0.443)));
    const g = image(1, 3, 1, [0.25, 0.5, 0.75]);
    expect(Array.from(ops.contrast(g, 2).data)).toEqual([0, 0.5, 1]);
    expect(Array.from(ops.contrast(g, 0.5).data)).toEqual([0.375, 0.5, 0.625]);
  });

  it('color: 0 is the ITU-R 601-2 grayscale, 2 oversaturates and clips; gray images pass through', () => {
    const rgb = image(1, 2, 3, [1, 0, 0, 0.2, 0.4, 0.6]);
    const l2 = 0.299 * 0.2 + 0.587 * 0.4 + 0.114 * 0.6;
    expectClose(ops.color(rgb, 0).data, [0.299, 0.299, 0.299, l2, l2, l2]);
    const sat = Array.from(ops.color(redGreen(), 2).data);
    expect(sat).toEqual([1, 0, 0, 0, 1, 0]);
    const half = Array.from(ops.color(redGreen(), 0.5).data);
    expect(half[0]).toBeCloseTo((1 + 0.299) / 2, 6);
    expect(half[1]).toBeCloseTo(0.299 / 2, 6);
    const g = image(1, 2, 1, [0.1, 0.9]);
    expect(ops.color(g, 0)).toBe(g);
    expect(() => ops.color(image(1, 1, 2, [0, 0]), 0.5)).toThrow(
      'color: needs 1 or 3 channels (gray or RGB), got 2',
    );
  });

  it("sharpness: 0 is PIL's SMOOTH (centre weight 5, ring 1, over 13), borders untouched", () => {
    const img = image(3, 3, 1, [0, 0, 0, 0, 0.5, 0, 0, 0, 0]);
    const smooth = Array.from(ops.sharpness(img, 0).data);
    expect(smooth[4]).toBeCloseTo(2.5 / 13, 6);
    expect(smooth.filter((_, i) => i !== 4)).toEqual(Array(8).fill(0));
    // 2: s + 2 (x - s) with s = 2.5/13.
    expect(ops.sharpness(img, 2).data[4]).toBeCloseTo(2.5 / 13 + 2 * (0.5 - 2.5 / 13), 6);
    // Ring of 0.2s around 0.8: smooth = (8 * 0.2 + 5 * 0.8) / 13.
    const ring = image(3, 3, 1, [0.2, 0.2, 0.2, 0.2, 0.8, 0.2, 0.2, 0.2, 0.2]);
    expect(ops.sharpness(ring, 0).data[4]).toBeCloseTo((8 * 0.2 + 5 * 0.8) / 13, 6);
    // Too small for any interior pixel: nothing to smooth.
    const tiny = image(
      2,
      2,
      3,
      Array.from({ length: 12 }, (_, i) => i / 12),
    );
    expect(ops.sharpness(tiny, 0).data).toEqual(tiny.data);
  });
});

describe('value ops', () => {
  it('autoContrast stretches each channel to 0..1 on its own; a flat channel is kept', () => {
    const img = image(1, 3, 2, [0.2, 0.3, 0.4, 0.3, 0.6, 0.3]);
    const out = Array.from(ops.autoContrast(img).data);
    expect(out[0]).toBeCloseTo(0, 6);
    expect(out[2]).toBeCloseTo(0.5, 6);
    expect(out[4]).toBeCloseTo(1, 6);
    expect([out[1], out[3], out[5]]).toEqual(f32([0.3, 0.3, 0.3]));
  });

  it("equalize follows PIL's lut: levels 0, 100, 200 with counts 512, 256, 256 map to 0, 171, 255", () => {
    // step = (1024 - 256) // 256 = 3; lut[i] = (1 + count below i) // 3:
    // 0 -> 1 // 3 = 0, 100 -> 513 // 3 = 171, 200 -> 769 // 3 = 256, clipped to 255.
    const values = [
      ...Array(512).fill(0),
      ...Array(256).fill(100 / 255),
      ...Array(256).fill(200 / 255),
    ];
    const out = ops.equalize(image(32, 32, 1, values)).data;
    expect([out[0], out[600], out[900]]).toEqual(f32([0, 171 / 255, 1]));
  });

  it('equalize leaves alone a channel with one level or too few pixels (PIL: step 0)', () => {
    const flat = image(32, 32, 1, Array(1024).fill(0.3));
    expect(ops.equalize(flat).data).toEqual(flat.data);
    const small = image(3, 3, 1, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
    expect(ops.equalize(small).data).toEqual(small.data);
  });

  it('solarize inverts values at or above the threshold', () => {
    const img = image(1, 4, 1, [0.25, 0.5, 0.75, 1]);
    expect(Array.from(ops.solarize(img, 0.5).data)).toEqual([0.25, 0.5, 0.25, 0]);
    expect(Array.from(ops.solarize(img, 0).data)).toEqual([0.75, 0.5, 0.25, 0]);
    expect(ops.solarize(img, 1.001)).toBe(img);
  });

  it('posterize keeps the top bits of the 8-bit level', () => {
    // 0.6 -> level 153 = 0b10011001; 0.2 -> 51 = 0b00110011.
    const img = image(1, 2, 1, [0.6, 0.2]);
    expect(Array.from(ops.posterize(img, 1).data)).toEqual(f32([128 / 255, 0]));
    expect(Array.from(ops.posterize(img, 4).data)).toEqual(f32([144 / 255, 48 / 255]));
    expect(Array.from(ops.posterize(img, 0).data)).toEqual([0, 0]);
    expect(ops.posterize(img, 8)).toBe(img);
    expect(() => ops.posterize(img, 9)).toThrow(
      'posterize: bits must be an integer in [0, 8], got 9',
    );
  });

  it('outputs are clamped to 0..1 where PIL would clip bytes', () => {
    const img = image(1, 2, 1, [1.5, -0.5]);
    expect(Array.from(ops.solarize(img, 0.5).data)).toEqual([0, -0.5]);
    expect(Array.from(ops.posterize(img, 7).data)).toEqual(f32([254 / 255, 0]));
    expect(Array.from(ops.brightness(img, 0.9).data)).toEqual([1, 0]);
  });
});
