/**
 * Shared plumbing of the augmentation ops: argument checks that name what was
 * wrong, allocation of outputs, and the few numeric helpers several ops need.
 */
import type { ImageHWC } from '../data/types.js';

/** An output size: `[height, width]`, or one number for a square. */
export type Size = number | readonly [number, number];

/** A constant colour: one value for every channel, or one per channel. */
export type Fill = number | readonly number[];

/** Throws unless `image` is a well-formed HWC image; `who` starts the message. */
export function checkImage(image: ImageHWC, who: string): void {
  const { height, width, channels, data } = image;
  for (const [name, v] of [
    ['height', height],
    ['width', width],
    ['channels', channels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`${who}: image ${name} must be a positive integer, got ${v}`);
    }
  }
  if (!(data instanceof Float32Array) || data.length !== height * width * channels) {
    const got = data instanceof Float32Array ? `${data.length} floats` : String(data);
    throw new RangeError(
      `${who}: image ${height}x${width}x${channels} needs ${height * width * channels} floats in data, got ${got}`,
    );
  }
}

export function newImage(height: number, width: number, channels: number): ImageHWC {
  return { data: new Float32Array(height * width * channels), height, width, channels };
}

/** `size` as `[height, width]` of positive integers. */
export function parseSize(size: Size, who: string): [number, number] {
  const hw: readonly number[] = typeof size === 'number' ? [size, size] : size;
  if (!Array.isArray(hw) || hw.length !== 2 || !hw.every((v) => Number.isInteger(v) && v > 0)) {
    throw new RangeError(
      `${who}: size must be a positive integer or [height, width] of them, got ${JSON.stringify(size)}`,
    );
  }
  return [hw[0]!, hw[1]!];
}

/** `fill` expanded to one value per channel. */
export function fillVector(fill: Fill, channels: number, who: string): Float64Array {
  if (typeof fill === 'number') {
    if (!Number.isFinite(fill)) throw new RangeError(`${who}: fill must be finite, got ${fill}`);
    return new Float64Array(channels).fill(fill);
  }
  if (fill.length !== channels || !fill.every(Number.isFinite)) {
    throw new RangeError(
      `${who}: fill has ${fill.length} values (${JSON.stringify(fill)}) but the image has ${channels} channels`,
    );
  }
  return Float64Array.from(fill);
}

export function clamp01(v: number): number {
  // NaN stays NaN, as a byte conversion would not hide it either.
  return v < 0 ? 0 : Math.min(v, 1);
}

/** Python's round(): halves go to the even neighbour, as torchvision's crop arithmetic does. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function checkFinite(value: number, name: string, who: string): void {
  if (!Number.isFinite(value)) throw new RangeError(`${who}: ${name} must be finite, got ${value}`);
}

export function checkProbability(p: number, who: string): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${who}: p must be in [0, 1], got ${p}`);
}
