/**
 * Whether the data fits the model's input: checked on one example of each
 * split, through the transform the run applies, before the first step. A
 * mismatch would otherwise surface as a TF.js conv error deep in the first
 * step ("depth of input (1) must match input depth for filter 3"), naming
 * neither the data nor the model.
 */
import type { Dataset, Transform } from '../data/types.js';
import { rngFromState } from '../random.js';
import type { ModelLike } from './model.js';
import type { TrainOptions } from './train-options.js';

const hwc = (s: readonly (number | null | undefined)[]) => s.map((d) => d ?? '?').join('x');

/** Refuses a split whose images, after its transform, are not the model's [height, width, channels]. */
export async function checkDataFits(
  model: ModelLike,
  data: { train: Dataset; test?: Dataset },
  options: Pick<TrainOptions, 'transform' | 'evalTransform'>,
): Promise<void> {
  const input = model.inputs?.length === 1 ? model.inputs[0]!.shape : undefined;
  // A model with several inputs, or not rank 4 (NHWC), is the caller's to feed.
  if (input?.length !== 4) return;
  const want = input.slice(1);
  const splits: [string, Dataset | undefined, Transform | undefined][] = [
    ['training', data.train, options.transform],
    ['test', data.test, options.evalTransform],
  ];
  for (const [split, ds, transform] of splits) {
    if (!ds || ds.size === 0) continue;
    const { image } = await ds.get(0);
    // The shape of a transform's output does not depend on its random draws.
    const seen = transform ? transform(image, rngFromState(0)) : image;
    const got = [seen.height, seen.width, seen.channels];
    if (got.every((d, i) => want[i] === null || want[i] === undefined || want[i] === d)) continue;
    throw new Error(
      `train: the ${split} set '${ds.name}' gives ${hwc(got)} images${transform ? ' after the transform' : ''} (height x width x channels), the model takes ${hwc(want)}; build the model for the data (channels, inputSize) or transform the data to fit it`,
    );
  }
}
