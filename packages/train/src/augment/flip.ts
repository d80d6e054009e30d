import type { ImageHWC, Transform } from '../data/types.js';
import type { Rng } from '../random.js';
import { checkImage, checkProbability, newImage } from './image.js';

/** The mirror image: column x becomes column width - 1 - x. */
export function horizontalFlip(image: ImageHWC): ImageHWC {
  checkImage(image, 'horizontalFlip');
  const { height, width, channels: c, data: src } = image;
  const out = newImage(height, width, c);
  const dst = out.data;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const s = (row + width - 1 - x) * c;
      const d = (row + x) * c;
      for (let k = 0; k < c; k++) dst[d + k] = src[s + k]!;
    }
  }
  return out;
}

/**
 * Flips with probability `p` (one rng draw per image, taken even when p is 0
 * or 1 so that later draws do not depend on p). Returns the input itself when
 * it does not flip.
 */
export function randomHorizontalFlip(p = 0.5): Transform {
  checkProbability(p, 'randomHorizontalFlip');
  return (image: ImageHWC, rng: Rng) => (rng.next() < p ? horizontalFlip(image) : image);
}
