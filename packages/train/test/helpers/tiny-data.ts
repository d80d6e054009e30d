/** A learnable 4-class set of 8x8 one-channel images for the loop tests, and the model they train. */
import { createModel } from '@repnets/blocks';
import { arrayDataset } from '../../src/data/index.js';
import { rngFromState } from '../../src/random.js';

/** Image side. */
export const H = 8;

/** `n` images whose brightness depends on the class (so the task is learnable), noise drawn from `seed`. */
export function tinyData(n: number, seed: number) {
  const r = rngFromState(seed).next;
  const labels = Array.from({ length: n }, (_, i) => i % 4);
  const pixels = Float32Array.from(
    { length: n * H * H },
    (_, k) => labels[Math.floor(k / (H * H))]! / 4 + r() * 0.5,
  );
  return arrayDataset({
    name: `tiny-${seed}`,
    pixels,
    labels,
    shape: [H, H, 1],
    classNames: ['a', 'b', 'c', 'd'],
  });
}

/**
 * The loop tests' model: a SimpleNet 1/8 and 1/16 wide for tinyData's 8x8
 * images, one channel and 4 classes unless told. Seeded where runs are
 * compared; without a seed, a random draw.
 */
export function tinySimpleNet(
  o: { seed?: number; channels?: number; numClasses?: number; widths?: number[] } = {},
) {
  return createModel('simplenet', {
    numClasses: o.numClasses ?? 4,
    inputSize: H,
    channels: o.channels ?? 1,
    widthMultipliers: o.widths ?? [0.125, 0.0625],
    seed: o.seed,
  } as never);
}
