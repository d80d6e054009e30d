import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  normalize,
  randomResizedCrop,
  resize,
  resizeImage,
  resizeRegion,
} from '../src/augment/index.js';
import type { ImageHWC } from '../src/data/types.js';
import { rngFromState } from '../src/random.js';
import { gray, randomImage, rows } from './helpers/images.js';

describe('resize', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('bilinear 2x2 -> 4x4 samples at half-pixel centres, clamped at the edges', () => {
    // Along each axis output i samples input (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25,
    // clamped to [0, 1]: weights of the second pixel 0, 1/4, 3/4, 1. The image is x + 2y.
    const out = resizeImage(
      gray([
        [0, 1],
        [2, 3],
      ]),
      4,
      4,
    );
    expect(rows(out)).toEqual([
      [0, 0.25, 0.75, 1],
      [0.5, 0.75, 1.25, 1.5],
      [1.5, 1.75, 2.25, 2.5],
      [2, 2.25, 2.75, 3],
    ]);
  });

  it('nearest picks the pixel containing (i + 0.5) * in / out', () => {
    // 3 -> 5: sample points 0.3, 0.9, 1.5, 2.1, 2.7 -> pixels 0, 0, 1, 2, 2.
    expect(rows(resizeImage(gray([[10, 20, 30]]), 1, 5, { method: 'nearest' }))).toEqual([
      [10, 10, 20, 30, 30],
    ]);
    // 4 -> 2: points 1, 3 -> pixels 1, 3.
    expect(rows(resizeImage(gray([[1, 2, 3, 4]]), 1, 2, { method: 'nearest' }))).toEqual([[2, 4]]);
  });

  it('matches tf.image.resizeBilinear / resizeNearestNeighbor with halfPixelCenters, up and down', async () => {
    const img = randomImage(7, 5, 3, 42);
    const x = tf.tensor4d(img.data, [1, 7, 5, 3]);
    for (const [h, w] of [
      [14, 11],
      [3, 2],
      [96, 96],
      [7, 5],
    ] as const) {
      const ours = resizeImage(img, h, w);
      const theirs = await tf.image.resizeBilinear(x, [h, w], false, true).data();
      expect([ours.height, ours.width, ours.channels]).toEqual([h, w, 3]);
      const err = Math.max(...ours.data.map((v, i) => Math.abs(v - theirs[i]!)));
      expect(err).toBeLessThan(1e-6);
      const nearest = resizeImage(img, h, w, { method: 'nearest' });
      const theirsNearest = await tf.image.resizeNearestNeighbor(x, [h, w], false, true).data();
      expect(Array.from(nearest.data)).toEqual(Array.from(theirsNearest));
    }
    x.dispose();
  });

  it('keeps a constant image constant, up, down, with and without antialias', () => {
    const img: ImageHWC = {
      data: new Float32Array(6 * 10 * 3).fill(0.3),
      height: 6,
      width: 10,
      channels: 3,
    };
    for (const [h, w] of [
      [13, 7],
      [2, 3],
      [1, 1],
    ] as const) {
      for (const antialias of [false, true]) {
        const out = resizeImage(img, h, w, { antialias });
        for (const v of out.data) expect(v).toBeCloseTo(0.3, 6);
      }
    }
  });

  it('antialiased shrinking uses PIL-style triangle weights stretched by the scale', () => {
    // 4 -> 2 (scale 2): output 0 is centred at 1, taps 0..2 weighted 0.75, 0.75, 0.25 (/1.75);
    // output 1 at 3, taps 1..3 weighted 0.25, 0.75, 0.75.
    const out = resizeImage(gray([[0], [1], [2], [3]]), 2, 1, { antialias: true });
    expect(out.data[0]).toBeCloseTo((0.75 * 0 + 0.75 * 1 + 0.25 * 2) / 1.75, 6);
    expect(out.data[1]).toBeCloseTo((0.25 * 1 + 0.75 * 2 + 0.75 * 3) / 1.75, 6);
    // Without antialias, output 0 samples 0.5 (halfway between pixels 0 and 1).
    expect(Array.from(resizeImage(gray([[0], [1], [2], [3]]), 2, 1).data)).toEqual([0.5, 2.5]);
  });

  it('resizeRegion resamples only the window', () => {
    const img = gray([
      [9, 9, 9],
      [9, 0, 1],
      [9, 2, 3],
    ]);
    expect(rows(resizeRegion(img, 1, 1, 2, 2, 4, 4))).toEqual(
      rows(
        resizeImage(
          gray([
            [0, 1],
            [2, 3],
          ]),
          4,
          4,
        ),
      ),
    );
    expect(() => resizeRegion(img, 2, 2, 2, 2, 4, 4)).toThrow(
      'resize: window top=2 left=2 2x2 is not inside the image 3x3',
    );
  });

  it('the transform returns the input when the size already matches, and names bad sizes', () => {
    const img = randomImage(4, 4, 1, 1);
    expect(resize(4)(img, rngFromState(0))).toBe(img);
    expect(resize([2, 8])(img, rngFromState(0)).width).toBe(8);
    expect(() => resize([2, 0])).toThrow(
      'resize: size must be a positive integer or [height, width] of them, got [2,0]',
    );
    expect(() => resizeImage(img, 2, 2, { method: 'cubic' as never })).toThrow(
      "resize: method must be 'bilinear' or 'nearest', got 'cubic'",
    );
  });
});

describe('randomResizedCrop', () => {
  it('is a resize of a window within scale and ratio, the same under the same rng state', () => {
    const img = randomImage(20, 20, 3, 5);
    const t = randomResizedCrop(8, { scale: [0.25, 0.5] });
    for (let s = 0; s < 20; s++) {
      const a = t(img, rngFromState(s));
      expect([a.height, a.width, a.channels]).toEqual([8, 8, 3]);
      expect(a.data).toEqual(t(img, rngFromState(s)).data);
      // Replay torchvision's draws to find the window and compare.
      const probe = rngFromState(s);
      const area = 400 * probe.uniform(0.25, 0.5);
      const aspect = Math.exp(probe.uniform(Math.log(3 / 4), Math.log(4 / 3)));
      const w = Math.round(Math.sqrt(area * aspect));
      const h = Math.round(Math.sqrt(area / aspect));
      const top = probe.int(20 - h + 1);
      const left = probe.int(20 - w + 1);
      expect(a.data).toEqual(resizeRegion(img, top, left, h, w, 8, 8).data);
    }
  });

  it('falls back to the centred crop when no try fits', () => {
    // A 2x20 strip cannot hold a crop with ratio in [3/4, 4/3] of 90% of its
    // area or more, so the fallback takes height 2, width round(2 * 4/3) = 3, centred.
    const img = randomImage(2, 20, 1, 9);
    const out = randomResizedCrop(4, { scale: [0.9, 1] })(img, rngFromState(3));
    expect(out.data).toEqual(resizeRegion(img, 0, 8, 2, 3, 4, 4).data);
  });
});

describe('normalize', () => {
  it('subtracts the mean and divides by the std of each channel', () => {
    const img: ImageHWC = {
      data: Float32Array.from([0.5, 0.5, 0.5, 1, 0, 0.25]),
      height: 1,
      width: 2,
      channels: 3,
    };
    const out = normalize([0.5, 0.25, 0], [0.5, 0.25, 2])(img, rngFromState(0));
    expect(Array.from(out.data)).toEqual([0, 1, 0.25, 1, -1, 0.125]);
    expect(Array.from(img.data)).toEqual([0.5, 0.5, 0.5, 1, 0, 0.25]);
  });

  it('names the argument and the lengths when they do not match the channels', () => {
    const img: ImageHWC = { data: new Float32Array(3), height: 1, width: 1, channels: 3 };
    expect(() => normalize([0.5], [0.5])(img, rngFromState(0))).toThrow(
      'normalize: mean and std have 1 values but the image has 3 channels',
    );
    expect(() => normalize([0.5, 0.5, 0.5], [1, 1])).toThrow(
      'normalize: mean has 3 values but std has 2; give one of each per channel',
    );
    expect(() => normalize([0], [0])).toThrow(/std must be finite and non-zero, got \[0\]/);
  });
});
