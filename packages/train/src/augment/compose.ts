import type { ImageHWC, Transform } from '../data/types.js';
import type { Rng } from '../random.js';

/**
 * The transforms applied in order, all drawing from the one rng the composite
 * receives, so one (seed, epoch, index) stream fixes the whole pipeline.
 */
export function compose(...transforms: Transform[]): Transform {
  transforms.forEach((t, i) => {
    if (typeof t !== 'function') {
      throw new TypeError(`compose: transform ${i} is not a function, got ${String(t)}`);
    }
  });
  return (image: ImageHWC, rng: Rng) => {
    let out = image;
    for (const t of transforms) out = t(out, rng);
    return out;
  };
}
