/**
 * RandAugment (Cubuk et al. 2020) on timm's magnitude scale: m runs from 0 to
 * RAND_AUGMENT_M_MAX = 10 (`rand-m9-n2` is m = 9, n = 2), and every op grows
 * stronger with m, as in timm's `-inc1` ("increasing") variants, so that
 * m = 0 is the identity for all of them. With f = m / 10:
 *
 * | op | parameter |
 * | --- | --- |
 * | Identity, AutoContrast, Equalize | none |
 * | Rotate | ±30 f degrees |
 * | ShearX, ShearY | ±0.3 f |
 * | TranslateX, TranslateY | ±0.45 f of the width (height), in pixels |
 * | Color, Contrast, Brightness, Sharpness | factor 1 ± 0.9 f |
 * | Solarize | threshold (T - 0.5) / 255, T = 256 - floor(256 f) (about 1 - f) |
 * | Posterize | 8 - floor(4 f) bits (torchvision's 8 -> 4 range) |
 *
 * ± is a fair coin per application. T is timm's byte threshold (256 - 25.6 m,
 * rounded up): the half-level margin makes the op invert exactly the 8-bit
 * levels timm's inverts, whatever float32 did to k / 255 (none at m = 0, all
 * at m = 10). timm's default, non-increasing `rand-m9-n2` differs: Solarize
 * and Posterize weaken with m, and the enhance factors are 0.1 + 1.8 f unsigned.
 */
import type { ImageHWC, Transform } from '../data/types.js';
import type { Rng } from '../random.js';
import {
  autoContrast,
  brightness,
  color,
  contrast,
  equalize,
  posterize,
  sharpness,
  solarize,
} from './color.js';
import { rotate, shearX, shearY, translateX, translateY, type WarpOptions } from './geometry.js';
import { checkImage, checkProbability } from './image.js';

export const RAND_AUGMENT_OPS = [
  'Identity',
  'AutoContrast',
  'Equalize',
  'Rotate',
  'Solarize',
  'Color',
  'Posterize',
  'Contrast',
  'Brightness',
  'Sharpness',
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
] as const;

export type RandAugmentOpName = (typeof RAND_AUGMENT_OPS)[number];

export const RAND_AUGMENT_M_MAX = 10;

/** Ops whose parameter gets a random sign. */
const SIGNED: ReadonlySet<RandAugmentOpName> = new Set([
  'Rotate',
  'ShearX',
  'ShearY',
  'TranslateX',
  'TranslateY',
  'Color',
  'Contrast',
  'Brightness',
  'Sharpness',
]);

export function isSignedRandAugmentOp(name: RandAugmentOpName): boolean {
  return SIGNED.has(name);
}

function checkMagnitude(m: number, who: string): void {
  if (!(m >= 0 && m <= RAND_AUGMENT_M_MAX)) {
    throw new RangeError(`${who}: m must be in [0, ${RAND_AUGMENT_M_MAX}], got ${m}`);
  }
}

/**
 * Op `name` at magnitude `m` (0..10), its parameter negated when `negate`
 * (ignored by unsigned ops). `options` go to the geometric ops.
 */
export function applyRandAugmentOp(
  image: ImageHWC,
  name: RandAugmentOpName,
  m: number,
  negate = false,
  options: WarpOptions = {},
): ImageHWC {
  checkMagnitude(m, 'applyRandAugmentOp');
  const f = m / RAND_AUGMENT_M_MAX;
  const sign = negate ? -1 : 1;
  switch (name) {
    case 'Identity':
      return image;
    case 'AutoContrast':
      return autoContrast(image);
    case 'Equalize':
      return equalize(image);
    case 'Rotate':
      return rotate(image, sign * 30 * f, options);
    case 'Solarize':
      return solarize(image, (256 - Math.floor(256 * f) - 0.5) / 255);
    case 'Posterize':
      return posterize(image, 8 - Math.floor(4 * f));
    case 'Color':
      return color(image, 1 + sign * 0.9 * f);
    case 'Contrast':
      return contrast(image, 1 + sign * 0.9 * f);
    case 'Brightness':
      return brightness(image, 1 + sign * 0.9 * f);
    case 'Sharpness':
      return sharpness(image, 1 + sign * 0.9 * f);
    case 'ShearX':
      return shearX(image, sign * 0.3 * f, options);
    case 'ShearY':
      return shearY(image, sign * 0.3 * f, options);
    case 'TranslateX':
      return translateX(image, sign * 0.45 * f * image.width, options);
    case 'TranslateY':
      return translateY(image, sign * 0.45 * f * image.height, options);
    default:
      throw new RangeError(
        `applyRandAugmentOp: unknown op '${String(name)}'; known: ${RAND_AUGMENT_OPS.join(', ')}`,
      );
  }
}

export interface RandAugmentOptions extends WarpOptions {
  /** Ops applied per image, each drawn uniformly with replacement; default 2. */
  readonly n?: number;
  /** Magnitude in [0, 10]; default 9. */
  readonly m?: number;
  /** The op set to draw from; default all of RAND_AUGMENT_OPS. */
  readonly ops?: readonly RandAugmentOpName[];
  /**
   * Probability of applying each drawn op; default 1 (the paper, torchvision).
   * timm's `rand-` policies use 0.5.
   */
  readonly p?: number;
}

/**
 * A RandAugment transform. Per op it draws, from the image's rng: the op
 * index; then, if p < 1, whether to apply it; then, if it applies and is
 * signed, the sign.
 */
export function randAugment(options: RandAugmentOptions = {}): Transform {
  const who = 'randAugment';
  const n = options.n ?? 2;
  const m = options.m ?? 9;
  const p = options.p ?? 1;
  const ops = options.ops ?? RAND_AUGMENT_OPS;
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`${who}: n must be a non-negative integer, got ${n}`);
  }
  checkMagnitude(m, who);
  checkProbability(p, who);
  if (ops.length === 0) throw new RangeError(`${who}: ops must name at least one op, got []`);
  for (const op of ops) {
    if (!(RAND_AUGMENT_OPS as readonly string[]).includes(op)) {
      throw new RangeError(
        `${who}: unknown op '${op}' in ops; known: ${RAND_AUGMENT_OPS.join(', ')}`,
      );
    }
  }
  const chosen = [...ops];
  const warp: WarpOptions = {
    ...(options.fill !== undefined && { fill: options.fill }),
    ...(options.interpolation !== undefined && { interpolation: options.interpolation }),
  };
  return (image: ImageHWC, rng: Rng) => {
    checkImage(image, who);
    let out = image;
    for (let i = 0; i < n; i++) {
      const op = chosen[rng.int(chosen.length)]!;
      if (p < 1 && !(rng.next() < p)) continue;
      const negate = SIGNED.has(op) && rng.next() < 0.5;
      out = applyRandAugmentOp(out, op, m, negate, warp);
    }
    return out;
  };
}
