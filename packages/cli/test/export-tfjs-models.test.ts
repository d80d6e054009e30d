/**
 * `repnets export tfjs` rebuilds whichever zoo model a checkpoint names and
 * reads its class count from the output layer's bias, found by name. That is
 * true of every published model, not only the one the end-to-end test
 * (cli-runs.test.ts) trains: each one's weights, named as a checkpoint names
 * them (`<index>:<layer>/<weight>`), hold exactly one output bias, of the
 * class count. Small widths: names and order do not depend on them.
 */
import { createModel, listModels } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEAD_BIAS } from '../src/export-tfjs.js';

beforeAll(() => tf.setBackend('cpu'));

/** The name a checkpoint stores for weight `i` (the format @repnets/train writes). */
const checkpointName = (w: tf.LayerVariable, i: number) =>
  `${i}:${(w as unknown as { originalName?: string }).originalName ?? w.name}`;

describe.each(listModels())('%s', (name) => {
  it('has exactly one output bias a checkpoint names head_fc/bias, of the class count', () => {
    const widthMultipliers = name.startsWith('repshufflenet')
      ? [0.25]
      : name === 'simplenet'
        ? [0.25, 0.25]
        : [0.125, 0.125, 0.125, 0.125];
    const net = createModel(name, { numClasses: 7, inputSize: 32, channels: 1, widthMultipliers });
    try {
      const heads = net.weights.map(checkpointName).filter((n) => HEAD_BIAS.test(n));
      expect(heads).toHaveLength(1);
      const at = Number(heads[0]!.split(':')[0]);
      expect(net.weights[at]!.shape).toEqual([7]);
    } finally {
      net.dispose();
    }
  });
});
