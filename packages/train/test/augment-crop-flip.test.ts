import { describe, expect, it } from 'vitest';
import {
  centerCrop,
  crop,
  horizontalFlip,
  randomCrop,
  randomHorizontalFlip,
} from '../src/augment/index.js';
import type { ImageHWC } from '../src/data/types.js';
import { rngFromState } from '../src/random.js';
import { gray, rows } from './helpers/images.js';

const nine = () =>
  gray([
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
  ]);

describe('crop', () => {
  it('copies a window inside the image', () => {
    expect(rows(crop(nine(), 1, 0, 2, 2))).toEqual([
      [4, 5],
      [7, 8],
    ]);
  });

  it('fills outside the image with a constant, per channel when given one per channel', () => {
    expect(rows(crop(nine(), -1, 1, 2, 3, { fill: -1 }))).toEqual([
      [-1, -1, -1],
      [2, 3, -1],
    ]);
    const rgb: ImageHWC = { data: Float32Array.from([1, 2, 3]), height: 1, width: 1, channels: 3 };
    expect(Array.from(crop(rgb, 0, -1, 1, 2, { fill: [7, 8, 9] }).data)).toEqual([
      7, 8, 9, 1, 2, 3,
    ]);
  });

  it("'reflect' mirrors about the edge pixel without repeating it", () => {
    expect(rows(crop(nine(), -1, -1, 5, 5, { paddingMode: 'reflect' }))).toEqual([
      [5, 4, 5, 6, 5],
      [2, 1, 2, 3, 2],
      [5, 4, 5, 6, 5],
      [8, 7, 8, 9, 8],
      [5, 4, 5, 6, 5],
    ]);
  });

  it('names bad arguments', () => {
    expect(() => crop(nine(), 0.5, 0, 2, 2)).toThrow(/crop: top must be an integer, got 0.5/);
    expect(() => crop(nine(), 0, 0, 2, 2, { fill: [1, 2] })).toThrow(
      /crop: fill has 2 values .* but the image has 1 channels/,
    );
    const bad = { data: new Float32Array(5), height: 2, width: 2, channels: 1 };
    expect(() => crop(bad, 0, 0, 1, 1)).toThrow(/image 2x2x1 needs 4 floats in data, got 5 floats/);
  });
});

describe('randomCrop', () => {
  it('pads by 1 and crops at the offset the rng draws: top first, then left', () => {
    // rngFromState(1) draws 0.627 then 0.002: top = floor(0.627 * 3) = 1, left = 0.
    const probe = rngFromState(1);
    expect([probe.int(3), probe.int(3)]).toEqual([1, 0]);
    const out = randomCrop(3, { padding: 1 })(nine(), rngFromState(1));
    expect(rows(out)).toEqual([
      [0, 1, 2],
      [0, 4, 5],
      [0, 7, 8],
    ]);
  });

  it('reaches every offset, each giving the shifted image with a zero border', () => {
    const seen = new Set<string>();
    for (let s = 0; s < 200; s++) {
      const probe = rngFromState(s);
      const top = probe.int(3);
      const left = probe.int(3);
      seen.add(`${top},${left}`);
      const out = randomCrop(3, { padding: 1 })(nine(), rngFromState(s));
      const expected = [0, 1, 2].map((y) =>
        [0, 1, 2].map((x) => {
          const sy = y + top - 1;
          const sx = x + left - 1;
          return sy >= 0 && sy < 3 && sx >= 0 && sx < 3 ? sy * 3 + sx + 1 : 0;
        }),
      );
      expect(rows(out)).toEqual(expected);
    }
    expect(seen.size).toBe(9);
  });

  it('takes [height, width] sizes, [left, top, right, bottom] padding and reflect mode', () => {
    // Padding only on the right: a 3x2 window of a 3x4 padded image, left in 0..2.
    const t = randomCrop([3, 2], { padding: [0, 0, 1, 0], paddingMode: 'reflect' });
    const lefts = new Set<number>();
    for (let s = 0; s < 50; s++) {
      const probe = rngFromState(s);
      probe.int(1);
      const left = probe.int(3);
      lefts.add(left);
      const out = t(nine(), rngFromState(s));
      expect([out.height, out.width]).toEqual([3, 2]);
      const full = [
        [1, 2, 3, 2],
        [4, 5, 6, 5],
        [7, 8, 9, 8],
      ];
      expect(rows(out)).toEqual(full.map((r) => r.slice(left, left + 2)));
    }
    expect(lefts.size).toBe(3);
  });

  it('refuses a window larger than the padded image, saying both sizes', () => {
    expect(() => randomCrop(6, { padding: 1 })(nine(), rngFromState(0))).toThrow(
      'randomCrop: size [6, 6] is larger than the padded image 5x5 (image 3x3, padding [1, 1, 1, 1])',
    );
    expect(() =>
      randomCrop(3, { padding: 3, paddingMode: 'reflect' })(nine(), rngFromState(0)),
    ).toThrow(/reflect padding \[3, 3, 3, 3\] must be smaller than the image 3x3/);
    expect(() => randomCrop(0)).toThrow(/randomCrop: size must be a positive integer/);
    expect(() => randomCrop(2, { padding: -1 })).toThrow(/randomCrop: padding must be/);
  });
});

describe('centerCrop', () => {
  it("rounds the offset like Python's round (halves to even), as torchvision", () => {
    const img = gray([
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
      [11, 12, 13, 14, 15],
      [16, 17, 18, 19, 20],
    ]);
    // (4 - 1) / 2 = 1.5 -> 2; (5 - 2) / 2 = 1.5 -> 2; (4 - 3) / 2 = 0.5 -> 0.
    expect(rows(centerCrop([1, 2])(img, rngFromState(0)))).toEqual([[13, 14]]);
    expect(rows(centerCrop([3, 3])(img, rngFromState(0)))).toEqual([
      [2, 3, 4],
      [7, 8, 9],
      [12, 13, 14],
    ]);
  });

  it('zero-pads a window larger than the image, centred', () => {
    const img = gray([
      [1, 2],
      [3, 4],
    ]);
    expect(rows(centerCrop(4)(img, rngFromState(0)))).toEqual([
      [0, 0, 0, 0],
      [0, 1, 2, 0],
      [0, 3, 4, 0],
      [0, 0, 0, 0],
    ]);
  });
});

describe('horizontal flip', () => {
  it('reverses each row and keeps the channel order of each pixel', () => {
    expect(rows(horizontalFlip(nine()))).toEqual([
      [3, 2, 1],
      [6, 5, 4],
      [9, 8, 7],
    ]);
    const rgb: ImageHWC = {
      data: Float32Array.from([1, 2, 3, 4, 5, 6]),
      height: 1,
      width: 2,
      channels: 3,
    };
    expect(Array.from(horizontalFlip(rgb).data)).toEqual([4, 5, 6, 1, 2, 3]);
  });

  it('flips with probability p using exactly one draw', () => {
    const img = nine();
    expect(randomHorizontalFlip(0)(img, rngFromState(3))).toBe(img);
    expect(rows(randomHorizontalFlip(1)(img, rngFromState(3)))).toEqual(rows(horizontalFlip(img)));
    let flips = 0;
    for (let s = 0; s < 400; s++) {
      const rng = rngFromState(s * 7919);
      const out = randomHorizontalFlip()(img, rng);
      const probe = rngFromState(s * 7919);
      const u = probe.next();
      expect(rng.state()).toBe(probe.state());
      expect(out !== img).toBe(u < 0.5);
      if (out !== img) flips++;
    }
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
    expect(() => randomHorizontalFlip(1.5)).toThrow(
      /randomHorizontalFlip: p must be in \[0, 1\], got 1.5/,
    );
  });
});
