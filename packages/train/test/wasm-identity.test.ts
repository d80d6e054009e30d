/**
 * The zero-copy Identity registered for wasm: a clone shares its source's
 * buffer, and nothing a user or the trainer does through TF.js can make the
 * two diverge or free the buffer under the other.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../src/index.js';
import { Optimizer } from '../src/optim/optimizers.js';

beforeAll(async () => {
  await selectBackend('wasm');
});

describe('wasm Identity (zero-copy clone)', () => {
  it('shares the buffer and survives the disposal of either side', async () => {
    const before = tf.memory().numDataBuffers;
    const a = tf.tensor1d([1, 2, 3, 4]);
    const b = a.clone();
    expect(tf.memory().numDataBuffers - before).toBe(1); // one buffer for both
    a.dispose();
    expect(Array.from(await b.data())).toEqual([1, 2, 3, 4]);
    b.dispose();
    expect(tf.memory().numDataBuffers).toBe(before);
  });

  it('a clone of a variable keeps its values when the variable is assigned or optimized', async () => {
    const v = tf.variable(tf.tensor1d([1, 2, 3, 4, 5]));
    const held = v.clone();
    v.assign(tf.tensor1d([9, 9, 9, 9, 9]));
    expect(Array.from(await held.data())).toEqual([1, 2, 3, 4, 5]);
    const w = tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2]));
    const snapshot = w.clone();
    const opt = new Optimizer({ type: 'sgd', lr: 0.5, momentum: 0.9 }, [
      { name: 'w', variable: w, decay: false },
    ]);
    opt.step([tf.ones([2, 2])], 0.5);
    expect(Array.from(await w.data())).toEqual([0.5, 1.5, 2.5, 3.5]);
    expect(Array.from(await snapshot.data())).toEqual([1, 2, 3, 4]);
    opt.dispose();
    tf.dispose([v, held, w, snapshot]);
  });

  it('gradients through saved (cloned) tensors are unchanged', async () => {
    const x = tf.tensor2d([1, -2, 3, -4], [2, 2]);
    const g = tf.grad((t: tf.Tensor) => t.relu().square().sum())(x);
    expect(Array.from(await g.data())).toEqual([2, 0, 6, 0]);
    tf.dispose([x, g]);
  });
});
