/**
 * `zooParams` counts a zoo model's parameters from its architecture record,
 * without building it (building RepVGG-B3 takes minutes here): the count must
 * be what the built model's countParams() says, in train and deploy form, for
 * every zoo name.
 */
import type * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { createModel, listModels, type ModelOptions, zooParams } from '../src/index.js';

/** Narrow widths keep every build small; the count's rules are the same at any width. */
function small(name: string): ModelOptions {
  const stages = name.startsWith('repshufflenet')
    ? [0.25]
    : name === 'simplenet'
      ? [0.25, 0.25]
      : [0.125, 0.125, 0.125, 0.125];
  return { numClasses: 7, inputSize: 32, widthMultipliers: stages, seed: 1 };
}

describe('zooParams', () => {
  it.each(listModels())('%s: the record count equals the built model in both forms', (name) => {
    const opts = small(name);
    const counted = zooParams(name, opts);
    const built = (form: 'train' | 'deploy') => {
      const m: tf.LayersModel = createModel(name, { ...opts, form });
      const n = m.countParams();
      m.dispose();
      return n;
    };
    expect(counted).toEqual({ train: built('train'), deploy: built('deploy') });
  });

  it('published sizes at the defaults (1000 classes): RepVGG-A0 8.31M deploy, MobileOne-S0 2.08M', () => {
    expect(zooParams('repvgg_a0').deploy).toBe(8309384);
    expect(zooParams('mobileone_s0').deploy).toBeGreaterThan(2.07e6);
    expect(zooParams('mobileone_s0').deploy).toBeLessThan(2.09e6);
  });

  it('an unknown name is refused with the known ones', () => {
    expect(() => zooParams('repvgg_z9' as never)).toThrow(
      /unknown model 'repvgg_z9'; known: repvgg_a0, /,
    );
  });
});
