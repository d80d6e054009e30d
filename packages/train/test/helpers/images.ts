/** Small images for the augmentation tests. */
import type { ImageHWC } from '../../src/data/types.js';
import { rngFromState } from '../../src/random.js';

/** One-channel image from rows. */
export function gray(rows: number[][]): ImageHWC {
  return {
    data: Float32Array.from(rows.flat()),
    height: rows.length,
    width: rows[0]!.length,
    channels: 1,
  };
}

/** The rows of a one-channel image. */
export function rows(image: ImageHWC): number[][] {
  const out: number[][] = [];
  for (let y = 0; y < image.height; y++) {
    out.push(Array.from(image.data.subarray(y * image.width, (y + 1) * image.width)));
  }
  return out;
}

/** Uniform 0..1 pixels from a seed. */
export function randomImage(
  height: number,
  width: number,
  channels: number,
  seed: number,
): ImageHWC {
  const rng = rngFromState(seed);
  const data = new Float32Array(height * width * channels);
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  return { data, height, width, channels };
}
