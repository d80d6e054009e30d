/**
 * Datasets held in memory as one pixel array. MNIST and CIFAR keep their
 * pixels as bytes (a quarter of float32's memory) and convert per example.
 */
import { checkIndex } from './errors.js';
import type { Dataset, Example } from './types.js';

export interface ArrayDatasetSource {
  readonly name: string;
  /** The images, HWC each: bytes (read as value / 255) or floats (as they are). */
  readonly pixels: Uint8Array | Float32Array;
  /**
   * Where image i starts: `offset + i * stride` (defaults 0 and h*w*c, images back to
   * back). CIFAR passes its file as is: records of label bytes then pixels.
   */
  readonly offset?: number;
  readonly stride?: number;
  readonly labels: ArrayLike<number>;
  readonly shape: readonly [number, number, number];
  readonly classNames: readonly string[];
  /**
   * 'hwc' (default) or 'chw': each image stored as planes, as the CIFAR files
   * hold them; `get` still returns HWC. Converting per example costs nothing
   * next to the float conversion, while converting a whole CIFAR at load took seconds.
   */
  readonly layout?: 'hwc' | 'chw';
}

/** 0..255 to 0..1 with one division per byte value, so every image converts identically. */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

export interface ArrayDataset extends Dataset {
  /** Every example's label, so splits can stratify without decoding images. */
  readonly labels: Int32Array;
  /** Synchronous: the pixels are already in memory. */
  get(index: number): Example;
}

/** A Dataset over in-memory arrays; `get` returns a fresh Float32Array the caller may modify. */
export function arrayDataset(source: ArrayDatasetSource): ArrayDataset {
  const { name, pixels, classNames } = source;
  const labels = Int32Array.from(source.labels);
  const shape = [...source.shape] as [number, number, number];
  const [height, width, channels] = shape;
  if (!shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`${name}: shape [${shape}] must be three positive integers [h, w, c]`);
  }
  const per = height * width * channels;
  const offset = source.offset ?? 0;
  const stride = source.stride ?? per;
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(stride) || stride < per) {
    throw new Error(
      `${name}: offset ${offset} and stride ${stride} must be integers, offset >= 0 and stride >= ${per} (h*w*c)`,
    );
  }
  const needed = labels.length === 0 ? 0 : offset + (labels.length - 1) * stride + per;
  const exact = source.offset === undefined && source.stride === undefined;
  if (exact ? pixels.length !== needed : pixels.length < needed) {
    throw new Error(
      `${name}: ${pixels.length} pixel values do not hold ${labels.length} images of shape [${shape}] (${needed} needed)`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const l = source.labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= classNames.length) {
      throw new Error(
        `${name}: label ${l} of example ${i} is not a class index in 0..${classNames.length - 1}`,
      );
    }
  }
  const size = labels.length;
  const planar = source.layout === 'chw';
  return {
    name,
    size,
    classNames,
    shape,
    labels,
    get(index: number): Example {
      checkIndex(name, index, size);
      const start = offset + index * stride;
      const data = new Float32Array(per);
      const bytes = pixels instanceof Uint8Array;
      if (!planar) {
        if (bytes) for (let j = 0; j < per; j++) data[j] = BYTE_TO_UNIT[pixels[start + j]!]!;
        else data.set(pixels.subarray(start, start + per));
      } else {
        // Plane c, pixel p (row-major) goes to p * channels + c.
        const plane = height * width;
        for (let c = 0; c < channels; c++) {
          const from = start + c * plane;
          for (let p = 0, d = c; p < plane; p++, d += channels) {
            const v = pixels[from + p]!;
            data[d] = bytes ? BYTE_TO_UNIT[v]! : v;
          }
        }
      }
      return { image: { data, height, width, channels }, label: labels[index]! };
    },
  };
}
