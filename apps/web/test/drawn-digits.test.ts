/**
 * The page's reading of drawn digits, end to end in Node: a digit drawn as a
 * hand puts it on the 280 x 280 pad (any digit, size, place, pen width, slant,
 * wobble), turned into the model input by the page's own preprocessing, and
 * read by the shipped model pair. Every one must be read as the digit drawn, by
 * both forms. Before the resize stopped reading one pixel past the ink box,
 * about one drawing in eight came out as an all-black input, read as "1".
 */
import { join } from 'node:path';
import '@repnets/blocks';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIDE, toMnistInput } from '../src/preprocess';
import { blank, digitStyle, drawDigit } from './support/ink';

const MODELS = join(import.meta.dirname, '..', 'public', 'models');
let train: tf.LayersModel;
let deploy: tf.LayersModel;

beforeAll(async () => {
  await tf.setBackend('wasm');
  const load = (form: string) => tf.loadLayersModel(`file://${join(MODELS, form, 'model.json')}`);
  [train, deploy] = await Promise.all([load('train'), load('deploy')]);
});

afterAll(() => {
  train?.dispose();
  deploy?.dispose();
});

function read(model: tf.LayersModel, input: Float32Array): number {
  return tf.tidy(
    () =>
      (model.predict(tf.tensor4d(input, [1, SIDE, SIDE, 1])) as tf.Tensor).argMax(1).dataSync()[0]!,
  );
}

describe('digits drawn on the pad', () => {
  it('are every one read as the digit drawn, by both forms', () => {
    fc.assert(
      fc.property(digitStyle(280), (style) => {
        const pad = blank(280, 280);
        drawDigit(pad, style);
        const input = toMnistInput(pad.grey, pad.width, pad.height)!;
        expect(read(deploy, input), 'deploy form').toBe(style.digit);
        expect(read(train, input), 'training form').toBe(style.digit);
      }),
      { seed: 20_2612, numRuns: 300 },
    );
  });
});
