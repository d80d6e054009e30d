import { createModel } from '@repnets/blocks';
import { arrayDataset, selectBackend, train } from './src/index.js';
await selectBackend('wasm');
const n = 32 * 6;
const ds = arrayDataset({ name: 'rand', pixels: Float32Array.from({ length: n * 32 * 32 * 3 }, (_, i) => (i * 7919) % 255 / 255), labels: Array.from({ length: n }, (_, i) => i % 10), shape: [32, 32, 3], classNames: [...'abcdefghij'] });
const model = createModel((process.argv[2] ?? 'repvgg_a0') as never, { numClasses: 10, inputSize: 32, variant: 'cifar', seed: 1 });
let last = performance.now();
await train(model, { train: ds }, { epochs: 1, batchSize: 32, optimizer: { type: 'sgd', lr: 0.01, momentum: 0.9 }, workers: 2, progress: 'none', callbacks: { onStep: () => { const now = performance.now(); console.log('main step', (now - last).toFixed(0)); last = now; } } });
