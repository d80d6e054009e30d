/**
 * evalTransform against what PIL and timm's eval steps make of the same
 * pixels (test/fixtures/make-image.py wrote the expected tensors).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type EvalTransformConfig,
  evalTransform,
  parsePretrainedCfg,
  type RawImage,
} from '../src/image/index.js';

const dir = new URL('./fixtures/image/', import.meta.url);
const bytes = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const floats = (name: string) => {
  const b = readFileSync(new URL(name, dir));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

interface Case {
  name: string;
  image: string;
  pretrained_cfg: Record<string, unknown>;
  height: number;
  width: number;
}
const manifest = JSON.parse(readFileSync(new URL('cases.json', dir), 'utf8')) as {
  images: Record<string, { height: number; width: number; channels: 1 | 3 | 4 }>;
  cases: Case[];
};

function image(name: string): RawImage {
  const info = manifest.images[name];
  if (!info) throw new Error(`no image ${name} in cases.json`);
  return { data: bytes(`${name}.u8`), ...info };
}

/** Largest |a - b| over two equally long arrays. */
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** The transform's output before normalization, in 0..1 (mean 0, std 1). */
function unnormalized(img: RawImage, cfg: EvalTransformConfig) {
  return evalTransform(img, { ...cfg, mean: [0, 0, 0], std: [1, 1, 1] });
}

describe('evalTransform matches PIL + timm', () => {
  it('has the fixture cases it is meant to cover', () => {
    const interps = new Set(manifest.cases.map((c) => c.pretrained_cfg.interpolation));
    expect([...interps].sort()).toEqual(['bicubic', 'bilinear', 'nearest']);
    expect(new Set(manifest.cases.map((c) => c.image))).toEqual(new Set(['rgb', 'gray', 'rgba']));
  });

  for (const c of manifest.cases) {
    it(`${c.name}: within 1/255 of PIL before normalizing, and after`, () => {
      const cfg = parsePretrainedCfg({ pretrained_cfg: c.pretrained_cfg });
      const img = image(c.image);
      const ours = unnormalized(img, cfg);
      expect([ours.height, ours.width]).toEqual([c.height, c.width]);
      const pil = Array.from(bytes(`${c.name}.crop.u8`), (v) => v / 255);
      const err = maxAbs(ours.data, pil);
      expect(err).toBeLessThanOrEqual(1 / 255 + 1e-7);
      // PIL's fixed-point resample is reproduced exactly: no byte differs.
      expect(err).toBeLessThan(1e-7);

      const full = evalTransform(img, cfg);
      const expected = floats(`${c.name}.f32`);
      const std = Math.min(...cfg.std);
      expect(maxAbs(full.data, expected)).toBeLessThanOrEqual(1 / 255 / std);
      // Float32 rounding as torch's ToTensor and Normalize do it, step by step.
      expect(maxAbs(full.data, expected)).toBe(0);
    });
  }

  it('fails on a wrong interpolation, crop or size, so the comparison can fail', () => {
    const c = manifest.cases.find((k) => k.name === 'rgb-bicubic-32');
    if (!c) throw new Error('fixture case rgb-bicubic-32 is missing');
    const cfg = parsePretrainedCfg({ pretrained_cfg: c.pretrained_cfg });
    const pil = Array.from(bytes(`${c.name}.crop.u8`), (v) => v / 255);
    const img = image('rgb');
    for (const wrong of [
      { ...cfg, interpolation: 'bilinear' as const },
      { ...cfg, interpolation: 'nearest' as const },
      { ...cfg, cropPct: 0.9 },
      { ...cfg, cropMode: 'squash' as const },
    ]) {
      expect(maxAbs(unnormalized(img, wrong).data, pil)).toBeGreaterThan(2 / 255);
    }
  });
});
