import { describe, expect, it } from 'vitest';
import {
  applyRandAugmentOp,
  centerCrop,
  compose,
  isSignedRandAugmentOp,
  normalize,
  ops,
  RAND_AUGMENT_M_MAX,
  RAND_AUGMENT_OPS,
  type RandAugmentOpName,
  randAugment,
  randomCrop,
  randomHorizontalFlip,
  randomResizedCrop,
  resize,
} from '../src/augment/index.js';
import type { ImageHWC, Transform } from '../src/data/types.js';
import { deriveRng, rngFromState } from '../src/random.js';
import { randomImage } from './helpers/images.js';

const MAGNITUDE_FREE: RandAugmentOpName[] = ['AutoContrast', 'Equalize'];

describe('applyRandAugmentOp: magnitude m (0..10) to parameter', () => {
  const img = randomImage(8, 20, 3, 1);

  it('at m = 0 every magnitude-scaled op is the identity, either sign', () => {
    for (const op of RAND_AUGMENT_OPS) {
      if (MAGNITUDE_FREE.includes(op)) continue;
      for (const negate of [false, true]) {
        expect(applyRandAugmentOp(img, op, 0, negate).data, `${op} negate=${negate}`).toEqual(
          img.data,
        );
      }
    }
  });

  it('maps m to the documented parameters', () => {
    const same = (name: RandAugmentOpName, m: number, negate: boolean, expected: ImageHWC) =>
      expect(applyRandAugmentOp(img, name, m, negate).data, `${name} m=${m}`).toEqual(
        expected.data,
      );
    same('Rotate', 10, false, ops.rotate(img, 30));
    same('Rotate', 5, true, ops.rotate(img, -15));
    same('ShearX', 10, true, ops.shearX(img, -0.3));
    same('ShearY', 5, false, ops.shearY(img, 0.15));
    same('TranslateX', 10, false, ops.translateX(img, 0.45 * 20));
    same('TranslateY', 10, true, ops.translateY(img, -0.45 * 8));
    same('Brightness', 10, true, ops.brightness(img, 1 - 0.9));
    same('Contrast', 5, false, ops.contrast(img, 1.45));
    same('Color', 10, false, ops.color(img, 1.9));
    same('Sharpness', 10, true, ops.sharpness(img, 1 - 0.9));
    same('Posterize', 9, false, ops.posterize(img, 5)); // 8 - floor(3.6)
    same('Posterize', 10, false, ops.posterize(img, 4));
    same('Solarize', 5, false, ops.solarize(img, 127.5 / 255));
    same('Solarize', 10, false, ops.solarize(img, -0.5 / 255));
    same('AutoContrast', 3, false, ops.autoContrast(img));
    same('Equalize', 3, false, ops.equalize(img));
  });

  it("solarize inverts the 8-bit levels timm's does: from 256 - floor(25.6 m) up", () => {
    const levels = [0, 25, 26, 127, 128, 230, 231, 255];
    const lv = {
      data: Float32Array.from(levels, (l) => l / 255),
      height: 1,
      width: 8,
      channels: 1,
    };
    const inverted = (m: number) =>
      levels.filter((_, i) => applyRandAugmentOp(lv, 'Solarize', m).data[i] !== lv.data[i]);
    expect(inverted(0)).toEqual([]);
    expect(inverted(1)).toEqual([231, 255]);
    expect(inverted(5)).toEqual([128, 230, 231, 255]);
    expect(inverted(9)).toEqual([26, 127, 128, 230, 231, 255]);
    expect(inverted(10)).toEqual(levels);
    const out = applyRandAugmentOp(lv, 'Solarize', 5).data;
    expect(out[4]).toBeCloseTo(127 / 255, 6);
  });

  it('signed ops are exactly the geometric and enhance ones', () => {
    expect(RAND_AUGMENT_OPS.filter(isSignedRandAugmentOp)).toEqual([
      'Rotate',
      'Color',
      'Contrast',
      'Brightness',
      'Sharpness',
      'ShearX',
      'ShearY',
      'TranslateX',
      'TranslateY',
    ]);
    expect(RAND_AUGMENT_M_MAX).toBe(10);
  });

  it('works on one channel (Color is the identity there)', () => {
    const g = randomImage(6, 6, 1, 4);
    for (const op of RAND_AUGMENT_OPS) {
      const out = applyRandAugmentOp(g, op, 9, true);
      expect([out.height, out.width, out.channels]).toEqual([6, 6, 1]);
    }
    expect(applyRandAugmentOp(g, 'Color', 9)).toBe(g);
  });
});

describe('randAugment', () => {
  const img = randomImage(12, 12, 3, 2);

  it('is reproducible bit for bit from the rng state, and varies across states', () => {
    const t = randAugment({ n: 2, m: 9 });
    const outs = new Set<string>();
    for (let s = 0; s < 30; s++) {
      const a = t(img, deriveRng(7, 0, s));
      const b = t(img, deriveRng(7, 0, s));
      expect(a.data).toEqual(b.data);
      outs.add(Array.from(a.data.subarray(0, 12)).join(','));
    }
    expect(outs.size).toBeGreaterThan(15);
  });

  it('draws the op index, then the sign, per layer', () => {
    const t = randAugment({ n: 1, m: 10, ops: ['Rotate'] });
    const signs = new Set<number>();
    for (let s = 0; s < 20; s++) {
      const probe = rngFromState(s);
      probe.int(1);
      const sign = probe.next() < 0.5 ? -1 : 1;
      signs.add(sign);
      const rng = rngFromState(s);
      expect(t(img, rng).data).toEqual(ops.rotate(img, 30 * sign).data);
      expect(rng.state()).toBe(probe.state());
    }
    expect(signs.size).toBe(2);
    // Two layers from two ops: index, sign (Brightness), index (Solarize has none).
    const two = randAugment({ n: 2, m: 10, ops: ['Brightness', 'Solarize'] });
    for (let s = 0; s < 20; s++) {
      const probe = rngFromState(s);
      let expected = img;
      for (let layer = 0; layer < 2; layer++) {
        const op = (['Brightness', 'Solarize'] as const)[probe.int(2)]!;
        if (op === 'Brightness') {
          expected = ops.brightness(expected, probe.next() < 0.5 ? 0.1 : 1.9);
        } else {
          expected = ops.solarize(expected, -0.5 / 255);
        }
      }
      expect(two(img, rngFromState(s)).data).toEqual(expected.data);
    }
  });

  it('uses every op of the set over many images', () => {
    const counts = new Map<string, number>();
    for (let s = 0; s < 2000; s++) {
      const probe = rngFromState(s);
      const op = RAND_AUGMENT_OPS[probe.int(RAND_AUGMENT_OPS.length)]!;
      counts.set(op, (counts.get(op) ?? 0) + 1);
    }
    expect(counts.size).toBe(RAND_AUGMENT_OPS.length);
  });

  it('m = 0 with the magnitude-scaled ops, n = 0, or p = 0 returns the image unchanged', () => {
    const scaled = RAND_AUGMENT_OPS.filter((op) => !MAGNITUDE_FREE.includes(op));
    const zero = randAugment({ n: 3, m: 0, ops: scaled });
    for (let s = 0; s < 20; s++) expect(zero(img, rngFromState(s)).data).toEqual(img.data);
    expect(randAugment({ n: 0 })(img, rngFromState(1))).toBe(img);
    expect(randAugment({ p: 0 })(img, rngFromState(1))).toBe(img);
  });

  it('passes fill and interpolation to the geometric ops', () => {
    const t = randAugment({ n: 1, m: 10, ops: ['TranslateX'], fill: 0, interpolation: 'nearest' });
    const rng = rngFromState(0);
    const probe = rngFromState(0);
    probe.int(1);
    const px = (probe.next() < 0.5 ? -0.45 : 0.45) * 12;
    expect(t(img, rng).data).toEqual(
      ops.translateX(img, px, { fill: 0, interpolation: 'nearest' }).data,
    );
  });

  it('names bad options', () => {
    expect(() => randAugment({ m: 11 })).toThrow('randAugment: m must be in [0, 10], got 11');
    expect(() => randAugment({ n: 1.5 })).toThrow(
      'randAugment: n must be a non-negative integer, got 1.5',
    );
    expect(() => randAugment({ ops: ['Rotate', 'Invert' as never] })).toThrow(
      /randAugment: unknown op 'Invert' in ops; known: Identity, AutoContrast/,
    );
    expect(() => randAugment({ ops: [] })).toThrow(/ops must name at least one op/);
    expect(() => randAugment({ p: 2 })).toThrow('randAugment: p must be in [0, 1], got 2');
  });
});

describe('compose', () => {
  it('applies in order, all from the one rng stream', () => {
    const img = randomImage(8, 8, 3, 3);
    const crop = randomCrop(8, { padding: 2 });
    const flip = randomHorizontalFlip();
    const ra = randAugment();
    const both = compose(crop, flip, ra);
    for (let s = 0; s < 20; s++) {
      const rng = rngFromState(s);
      const manual = ra(flip(crop(img, rng), rng), rng);
      expect(both(img, rngFromState(s)).data).toEqual(manual.data);
    }
    expect(compose()(img, rngFromState(0))).toBe(img);
    expect(() => compose(crop, 3 as never)).toThrow(
      'compose: transform 1 is not a function, got 3',
    );
  });
});

describe('every transform and op', () => {
  const transforms: [string, Transform][] = [
    ['randomCrop', randomCrop(6, { padding: 1, paddingMode: 'reflect' })],
    ['centerCrop', centerCrop(4)],
    ['flip', randomHorizontalFlip(1)],
    ['resize', resize([9, 5])],
    ['randomResizedCrop', randomResizedCrop(5)],
    ['normalize', normalize([0.5, 0.5, 0.5], [0.2, 0.2, 0.2])],
    ['randAugment', randAugment({ n: 4, m: 10 })],
  ];
  for (const op of RAND_AUGMENT_OPS) {
    for (const negate of [false, true]) {
      transforms.push([
        `${op}${negate ? '-' : '+'}`,
        (im) => applyRandAugmentOp(im, op, 7, negate),
      ]);
    }
  }

  it('leaves its input untouched and returns the documented shape', () => {
    const shapes: Record<string, number[]> = {
      randomCrop: [6, 6, 3],
      centerCrop: [4, 4, 3],
      resize: [9, 5, 3],
      randomResizedCrop: [5, 5, 3],
    };
    for (const [name, t] of transforms) {
      for (let s = 0; s < 5; s++) {
        const img = randomImage(6, 7, 3, 100 + s);
        const before = Float32Array.from(img.data);
        const out = t(img, rngFromState(s));
        expect(img.data, name).toEqual(before);
        expect([out.height, out.width, out.channels], name).toEqual(shapes[name] ?? [6, 7, 3]);
        expect(out.data.length, name).toBe(out.height * out.width * out.channels);
      }
    }
  });
});
