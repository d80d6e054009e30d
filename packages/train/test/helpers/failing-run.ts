/**
 * Run as its own process by loop-parallel.test.ts: a 2-worker run whose
 * worker 1 throws. It prints the rejection as one JSON line and then simply
 * returns: if any thread were left behind, the process would not exit.
 */

import * as tf from '@tensorflow/tfjs';
import { arrayDataset, selectBackend, train } from '../../src/index.js';
import { rngFromState } from '../../src/random.js';
import { FaultAtCall } from './fault-layer.js';

await selectBackend('wasm');
const r = rngFromState(1).next;
const n = 16;
const data = arrayDataset({
  name: 'noise',
  pixels: Float32Array.from({ length: n * 16 }, () => r()),
  labels: Array.from({ length: n }, (_, i) => i % 2),
  shape: [4, 4, 1],
  classNames: ['a', 'b'],
});
const input = tf.input({ shape: [4, 4, 1] });
const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
const faulty = new FaultAtCall({ rank: 1, call: 2, mode: 'throw' }).apply(
  flat,
) as tf.SymbolicTensor;
const model = tf.model({
  inputs: input,
  outputs: tf.layers.dense({ units: 2 }).apply(faulty) as tf.SymbolicTensor,
});
try {
  await train(
    model,
    { train: data },
    {
      epochs: 2,
      batchSize: 8,
      optimizer: { type: 'sgd', lr: 0.1 },
      workers: 2,
      workerModules: [new URL('./fault-layer.ts', import.meta.url)],
      progress: 'none',
    },
  );
  console.log(JSON.stringify({ rejected: false }));
} catch (e) {
  console.log(JSON.stringify({ rejected: true, message: (e as Error).message }));
}
