/**
 * Before anything is measured, bench makes sure it measures what it claims:
 * no form with NaN or Infinity weights (a diverged run), and two models given
 * as one network's train and deploy form answer alike (logits equal up to
 * rounding), or the report would compare two different networks.
 */
import { reparameterize } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LOGIT_TOLERANCE, logitAgreement, runBenchmark } from '../src/index.js';
import { randomizeBatchNorm, tinyRepVGG, useWasm } from './helpers/models.js';

beforeAll(useWasm);

/** A train form with non-trivial statistics and its fold. */
async function pair(seed: number) {
  const train = tinyRepVGG([6, 6, 3], { filters: 8 }, 3);
  randomizeBatchNorm(train, seed);
  const { model: deploy } = await reparameterize(train);
  return { train, deploy };
}

function poison(model: tf.LayersModel, layer: string, value: number): void {
  const l = model.getLayer(layer);
  const w = l.getWeights();
  const data = w[0]!.dataSync().slice();
  data[1] = value;
  l.setWeights([tf.tensor(data, w[0]!.shape), ...w.slice(1)]);
}

describe('runBenchmark refuses non-finite weights', () => {
  it.each([
    ['train', Number.NaN, 'NaN'],
    ['deploy', Number.POSITIVE_INFINITY, 'Infinity'],
  ] as const)('in the %s form, naming the form, layer and weight', async (form, value, word) => {
    const forms = await pair(3);
    poison(forms[form], 'fc', value);
    await expect(runBenchmark(forms.train, forms.deploy, { runs: 10, warmup: 1 })).rejects.toThrow(
      new RegExp(
        `^runBenchmark \\(${form} form\\): layer 'fc' holds ${word} in its weight 'fc/kernel' \\(value 1 of 24\\): train again with a lower learning rate`,
      ),
    );
  });
});

describe('logitAgreement', () => {
  it('a model and its fold agree to rounding', async () => {
    const { train, deploy } = await pair(3);
    const a = await logitAgreement(train, deploy);
    expect(a.agree).toBe(true);
    expect(a.images).toBe(8);
    expect(a.maxAbsDiff).toBeLessThan(1e-4);
    expect(a.tolerance).toBe(LOGIT_TOLERANCE * Math.max(1, a.largestLogit));
  });

  it('the fold of another training of the same network does not', async () => {
    const { train } = await pair(3);
    const { deploy: other } = await pair(4);
    const a = await logitAgreement(train, other);
    expect(a.agree).toBe(false);
    expect(a.maxAbsDiff).toBeGreaterThan(a.tolerance);
  });

  it('leaves no tensors behind', async () => {
    const { train, deploy } = await pair(5);
    const before = tf.memory().numTensors;
    await logitAgreement(train, deploy);
    expect(tf.memory().numTensors).toBe(before);
  });
});
