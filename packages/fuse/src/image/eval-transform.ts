/**
 * timm's eval transform (`transforms_imagenet_eval`) on raw pixels: resize
 * with PIL's rules, centre crop, ToTensor, normalize. Plain arithmetic on
 * typed arrays, so Node and the browser compute the same bytes.
 */
import { FuseError } from '../errors.js';
import { centerCropPlan, keepRatioSize, shorterSideSize } from './geometry.js';
import { resampleBytes } from './resample.js';

export type Interpolation = 'bicubic' | 'bilinear' | 'nearest';

export interface EvalTransformConfig {
  /** [channels, height, width], as timm's `input_size`; channels must be 3. */
  readonly inputSize: readonly [number, number, number];
  /** Fraction of the resized image the crop keeps: the resize target is floor(size / cropPct). */
  readonly cropPct: number;
  readonly interpolation: Interpolation;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  /**
   * 'center' (default): keep the aspect ratio, then crop. 'squash': resize
   * both sides to floor(side / cropPct), then crop.
   */
  readonly cropMode?: 'center' | 'squash';
}

/** Pixels as decoders hand them over: rows of `width` pixels of `channels` bytes. */
export interface RawImage {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  /** 1 (grey, repeated into RGB), 3 (RGB) or 4 (RGBA, alpha dropped). */
  readonly channels: 1 | 3 | 4;
}

/** A normalized image, HWC: the [1, H, W, 3] input of a TF.js model without its batch axis. */
export interface TransformedImage {
  readonly data: Float32Array;
  readonly height: number;
  readonly width: number;
}

const OP = 'evalTransform';

function positiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function checkConfig(cfg: EvalTransformConfig): void {
  const size = cfg.inputSize;
  if (!Array.isArray(size) || size.length !== 3 || !size.every(positiveInt)) {
    throw new FuseError(
      OP,
      'inputSize',
      `must be [channels, height, width] of positive integers, got ${JSON.stringify(size)}`,
    );
  }
  if (size[0] !== 3) {
    throw new FuseError(OP, 'inputSize', `must have 3 channels (RGB), got ${size[0]}`);
  }
  if (!(typeof cfg.cropPct === 'number' && cfg.cropPct > 0 && Number.isFinite(cfg.cropPct))) {
    throw new FuseError(OP, 'cropPct', `must be a positive number, got ${String(cfg.cropPct)}`);
  }
  if (!['bicubic', 'bilinear', 'nearest'].includes(cfg.interpolation)) {
    throw new FuseError(
      OP,
      'interpolation',
      `must be 'bicubic', 'bilinear' or 'nearest', got '${String(cfg.interpolation)}'`,
    );
  }
  for (const key of ['mean', 'std'] as const) {
    const v = cfg[key];
    if (
      !Array.isArray(v) ||
      v.length !== 3 ||
      !v.every((x) => typeof x === 'number' && Number.isFinite(x))
    ) {
      throw new FuseError(
        OP,
        key,
        `must be three finite numbers (R, G, B), got ${JSON.stringify(v)}`,
      );
    }
  }
  if (cfg.std.some((s) => s === 0)) {
    throw new FuseError(OP, 'std', `must not contain 0, got ${JSON.stringify(cfg.std)}`);
  }
  if (cfg.cropMode !== undefined && cfg.cropMode !== 'center' && cfg.cropMode !== 'squash') {
    throw new FuseError(
      OP,
      'cropMode',
      `must be 'center' or 'squash', got '${String(cfg.cropMode)}'`,
    );
  }
}

function checkImage(image: RawImage): void {
  const { data, width, height, channels } = image;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new FuseError(OP, 'image.data', 'must be a Uint8Array or Uint8ClampedArray of bytes');
  }
  if (!positiveInt(width) || !positiveInt(height)) {
    throw new FuseError(
      OP,
      'image',
      `must have positive integer width and height, got ${String(width)}x${String(height)}`,
    );
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new FuseError(OP, 'image.channels', `must be 1, 3 or 4, got ${String(channels)}`);
  }
  if (data.length !== width * height * channels) {
    throw new FuseError(
      OP,
      'image.data',
      `holds ${data.length} bytes, not width * height * channels = ${width} * ${height} * ${channels}`,
    );
  }
}

/** RGB bytes of an RGBA image (alpha dropped, as PIL's convert('RGB')); other images unchanged. */
function dropAlpha(image: RawImage): { data: Uint8Array | Uint8ClampedArray; channels: 1 | 3 } {
  if (image.channels !== 4) return { data: image.data, channels: image.channels };
  const n = image.width * image.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[3 * i] = image.data[4 * i]!;
    rgb[3 * i + 1] = image.data[4 * i + 1]!;
    rgb[3 * i + 2] = image.data[4 * i + 2]!;
  }
  return { data: rgb, channels: 3 };
}

/**
 * timm's eval preprocessing of one image. Square inputs: the shorter side is
 * resized to floor(size / cropPct) with `interpolation`. Non-square inputs:
 * timm's ResizeKeepRatio, which resizes bilinearly whatever `interpolation`
 * says (as timm 0.9 - 1.0 do). Then torchvision's centre crop, /255 and
 * (x - mean) / std in float32, as torch computes them.
 */
export function evalTransform(image: RawImage, cfg: EvalTransformConfig): TransformedImage {
  checkConfig(cfg);
  checkImage(image);
  const [, cropH, cropW] = cfg.inputSize;
  const scaleH = Math.floor(cropH / cfg.cropPct);
  const scaleW = Math.floor(cropW / cfg.cropPct);
  let size: [number, number];
  let interpolation = cfg.interpolation;
  if (cfg.cropMode === 'squash') size = [scaleH, scaleW];
  else if (scaleH === scaleW) size = shorterSideSize(image.height, image.width, scaleH);
  else {
    size = keepRatioSize(image.height, image.width, [scaleH, scaleW]);
    interpolation = 'bilinear';
  }
  const { data, channels } = dropAlpha(image);
  const source = { data, height: image.height, width: image.width, channels };
  const [h, w] = size;
  const resized =
    h === image.height && w === image.width
      ? source
      : resampleBytes(
          source,
          { top: 0, left: 0, height: image.height, width: image.width },
          h,
          w,
          { filter: interpolation },
          OP,
        );
  return normalizeCrop(resized, cropH, cropW, cfg.mean, cfg.std);
}

/** Centre crop (zero padding where the crop is larger), then float32 (x / 255 - mean) / std, grey repeated to RGB. */
function normalizeCrop(
  image: { data: ArrayLike<number>; height: number; width: number; channels: number },
  cropH: number,
  cropW: number,
  mean: readonly [number, number, number],
  std: readonly [number, number, number],
): TransformedImage {
  const plan = centerCropPlan(image.height, image.width, cropH, cropW);
  const c = image.channels;
  const f = Math.fround;
  const m = mean.map(f);
  const s = std.map(f);
  const out = new Float32Array(cropH * cropW * 3);
  for (let y = 0; y < cropH; y++) {
    const sy = y + plan.top - plan.padTop;
    for (let x = 0; x < cropW; x++) {
      const sx = x + plan.left - plan.padLeft;
      const inside = sy >= 0 && sy < image.height && sx >= 0 && sx < image.width;
      const src = (sy * image.width + sx) * c;
      for (let k = 0; k < 3; k++) {
        const byte = inside ? image.data[src + (c === 1 ? 0 : k)]! : 0;
        // Each float32 operation rounded as torch's ToTensor and Normalize round it.
        out[(y * cropW + x) * 3 + k] = f(f(f(byte / 255) - m[k]!) / s[k]!);
      }
    }
  }
  return { data: out, height: cropH, width: cropW };
}
