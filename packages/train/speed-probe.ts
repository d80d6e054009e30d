import { createModel } from '@repnets/blocks';
import { arrayDataset, selectBackend, train } from './src/index.js';
await selectBackend('wasm');
const mk = (n: number) => arrayDataset({ name: 'rand', pixels: Float32Array.from({ length: n * 32 * 32 * 3 }, (_, i) => (i * 7919) % 255 / 255), labels: Array.from({ length: n }, (_, i) => i % 10), shape: [32, 32, 3], classNames: [...'abcdefghij'] });
const name = process.argv[2] ?? 'repvgg_a0';
for (let round = 0; round < 2; round++) for (const [workers, batch] of [[1, 16], [1, 32], [2, 32], [2, 64]]) {
  const model = createModel(name as never, { numClasses: 10, inputSize: 32, variant: 'cifar', seed: 1 });
  const times: number[] = []; let last = 0;
  await train(model, { train: mk(batch * 8) }, { epochs: 1, batchSize: batch, optimizer: { type: 'sgd', lr: 0.01, momentum: 0.9 }, workers, progress: 'none', callbacks: { onEpochStart: () => { last = performance.now(); }, onStep: (r) => { const now = performance.now(); if (r.batch > 2) times.push(now - last); last = now; } } });
  times.sort((a, b) => a - b);
  const med = times[Math.floor(times.length / 2)]!;
  console.log(name, `workers ${workers} batch ${batch}: ${med.toFixed(0)} ms/step, ${(batch * 1000 / med).toFixed(1)} img/s`);
  model.dispose();
}
