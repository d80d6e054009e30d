import { describe, expect, it } from 'vitest';
import {
  evalTransform,
  IMAGENET_CLASSES,
  parsePretrainedCfg,
  type RawImage,
  resampleBytes,
} from '../src/image/index.js';

const raw = (bytes: number[], width: number, height: number, channels: 1 | 3 | 4): RawImage => ({
  data: Uint8Array.from(bytes),
  width,
  height,
  channels,
});

describe('parsePretrainedCfg', () => {
  it("fills in timm's defaults and reads a whole config.json", () => {
    const cfg = parsePretrainedCfg(
      JSON.stringify({
        architecture: 'mobileone_s0',
        pretrained_cfg: { input_size: [3, 224, 224] },
      }),
    );
    expect(cfg).toEqual({
      inputSize: [3, 224, 224],
      cropPct: 0.875,
      interpolation: 'bilinear',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      cropMode: 'center',
    });
    const own = parsePretrainedCfg({
      input_size: [3, 256, 192],
      crop_pct: 0.95,
      interpolation: 'bicubic',
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.25, 0.5],
      crop_mode: 'squash',
    });
    expect(own).toMatchObject({
      inputSize: [3, 256, 192],
      cropPct: 0.95,
      std: [0.5, 0.25, 0.5],
      cropMode: 'squash',
    });
  });

  it('names the key that is wrong', () => {
    const ok = { input_size: [3, 32, 32] };
    expect(() => parsePretrainedCfg({})).toThrow("argument 'input_size' is missing");
    expect(() => parsePretrainedCfg({ input_size: [224, 224] })).toThrow(
      "'input_size' must be [channels, height, width]",
    );
    expect(() => parsePretrainedCfg({ input_size: [1, 32, 32] })).toThrow(
      "'input_size' must have 3 channels",
    );
    expect(() => parsePretrainedCfg({ ...ok, crop_pct: 0 })).toThrow(
      "'crop_pct' must be a positive number",
    );
    expect(() => parsePretrainedCfg({ ...ok, interpolation: 'lanczos' })).toThrow(
      `'interpolation' must be 'bicubic', 'bilinear' or 'nearest' (others are not supported), got "lanczos"`,
    );
    expect(() => parsePretrainedCfg({ ...ok, mean: [0.5, 0.5] })).toThrow(
      "'mean' must be a list of three numbers",
    );
    expect(() => parsePretrainedCfg({ ...ok, std: [0.5, 0, 0.5] })).toThrow(
      "'std' must not contain 0",
    );
    expect(() => parsePretrainedCfg({ ...ok, crop_mode: 'border' })).toThrow(
      "'crop_mode' must be 'center' or 'squash'",
    );
    expect(() => parsePretrainedCfg({ pretrained_cfg: 3 })).toThrow(
      "'pretrained_cfg' must be an object",
    );
    expect(() => parsePretrainedCfg('{')).toThrow("'json' is not valid JSON");
  });
});

describe('evalTransform', () => {
  const cfg = parsePretrainedCfg({
    input_size: [3, 4, 4],
    crop_pct: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
  });

  it('pads with zeros where the crop is larger than the image, as torchvision does', () => {
    // A 2x3 image keeps its size (shorter side 2 -> 4 upscales; crop_pct > 1 keeps it small instead).
    const img = {
      data: new Uint8Array(2 * 3 * 3).fill(255),
      width: 3,
      height: 2,
      channels: 3 as const,
    };
    const out = evalTransform(img, { ...cfg, inputSize: [3, 4, 4], cropPct: 2 });
    // floor(4 / 2) = 2: 2x3 stays; pad top 1, left 0 (floor), bottom 1, right 1.
    const rows = [0, 1, 2, 3].map((y) => [0, 1, 2, 3].map((x) => out.data[(y * 4 + x) * 3]));
    expect(rows).toEqual([
      [0, 0, 0, 0],
      [1, 1, 1, 0],
      [1, 1, 1, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('repeats grey into RGB and drops alpha', () => {
    const g = evalTransform(raw([0, 51, 102, 255], 2, 2, 1), { ...cfg, inputSize: [3, 2, 2] });
    expect(Array.from(g.data.slice(3, 6))).toEqual([0.2, 0.2, 0.2].map(Math.fround));
    const a = evalTransform(raw([255, 0, 51, 7], 1, 1, 4), { ...cfg, inputSize: [3, 1, 1] });
    expect(Array.from(a.data)).toEqual([1, 0, 0.2].map(Math.fround));
  });

  it('names what is wrong with the image or the config', () => {
    const img = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 as const };
    expect(() => evalTransform({ ...img, width: 3 }, cfg)).toThrow(
      "evalTransform: argument 'image.data' holds 12 bytes, not width * height * channels = 3 * 2 * 3",
    );
    expect(() => evalTransform({ ...img, channels: 2 as 3 }, cfg)).toThrow(
      "'image.channels' must be 1, 3 or 4",
    );
    expect(() =>
      evalTransform({ ...img, data: new Float32Array(12) as unknown as Uint8Array }, cfg),
    ).toThrow("'image.data' must be a Uint8Array");
    expect(() => evalTransform(img, { ...cfg, interpolation: 'area' as 'nearest' })).toThrow(
      "'interpolation' must be",
    );
    expect(() => evalTransform(img, { ...cfg, inputSize: [3, 0, 4] })).toThrow(
      "'inputSize' must be",
    );
  });
});

describe('resampleBytes', () => {
  it('keeps a constant image constant and clips bicubic overshoot to 0..255', () => {
    const flat = { data: new Uint8Array(5 * 7 * 3).fill(77), width: 7, height: 5, channels: 3 };
    const window = { top: 0, left: 0, height: 5, width: 7 };
    for (const [h, w] of [
      [3, 2],
      [11, 13],
    ]) {
      expect(new Set(resampleBytes(flat, window, h!, w!, { filter: 'bicubic' }).data)).toEqual(
        new Set([77]),
      );
    }
    // A step 0 | 255 overshoots both ways under the cubic's negative lobes.
    const step = { data: Uint8Array.from([0, 0, 255, 255]), width: 4, height: 1, channels: 1 };
    const up = resampleBytes(step, { top: 0, left: 0, height: 1, width: 4 }, 1, 16, {
      filter: 'bicubic',
    });
    expect(Math.min(...up.data)).toBe(0);
    expect(Math.max(...up.data)).toBe(255);
  });
});

describe('nearest', () => {
  it("'nearest' keeps PIL's accumulated step, 'nearest-exact' the exact half-pixel rule", () => {
    // 2 -> 7: output 3 samples (3 + 0.5) * 2 / 7 = 1 exactly; PIL's running sum
    // falls just short of 1 (PIL 9.4 gives 0 0 0 0 255 255 255).
    const img = { data: Uint8Array.from([0, 255]), width: 2, height: 1, channels: 1 };
    const window = { top: 0, left: 0, height: 1, width: 2 };
    expect(Array.from(resampleBytes(img, window, 1, 7, { filter: 'nearest' }).data)).toEqual([
      0, 0, 0, 0, 255, 255, 255,
    ]);
    expect(Array.from(resampleBytes(img, window, 1, 7, { filter: 'nearest-exact' }).data)).toEqual([
      0, 0, 0, 255, 255, 255, 255,
    ]);
  });
});

describe('IMAGENET_CLASSES', () => {
  it('lists the 1000 classes by class id', () => {
    expect(IMAGENET_CLASSES).toHaveLength(1000);
    expect(IMAGENET_CLASSES[0]).toBe('tench');
    expect(IMAGENET_CLASSES[1]).toBe('goldfish');
    expect(IMAGENET_CLASSES[207]).toBe('golden retriever');
    expect(IMAGENET_CLASSES[281]).toBe('tabby');
    expect(IMAGENET_CLASSES[409]).toBe('analog clock');
    expect(IMAGENET_CLASSES[999]).toBe('toilet tissue');
    expect(Object.isFrozen(IMAGENET_CLASSES)).toBe(true);
  });
});
