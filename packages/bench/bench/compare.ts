/**
 * pnpm --filter @repnets/bench bench [-- --model repvgg_compact --backend wasm --batch 1,32
 *   --runs 20 --images 512 --out bench-results]
 *
 * Builds a zoo model for MNIST-sized inputs (28x28x1, 10 classes, 'cifar'
 * stem), folds it, and compares the two forms on the chosen backend at each
 * batch size: static costs, interleaved latency, logit equivalence on MNIST
 * test digits. Prints the table and writes bench-results/compare-<model>-b<batch>.*
 * (JSON, Markdown, SVG, PNG). The weights are untrained: accuracy here only
 * shows that both forms agree.
 */
import { parseArgs } from 'node:util';
import { createModel, reparameterize, type ZooName } from '@repnets/blocks';
import { scriptArgs } from '@repnets/devkit';
import {
  type BackendPreference,
  mnistDataset,
  releaseBackend,
  selectBackend,
  subset,
} from '@repnets/train';
import {
  accountModel,
  accountTable,
  measureThroughput,
  reportTable,
  runBenchmark,
  summaryLines,
  writeReport,
} from '../src/index.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    model: { type: 'string', default: 'repvgg_compact' },
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '1,32' },
    runs: { type: 'string', default: '20' },
    images: { type: 'string', default: '512' },
    out: { type: 'string', default: 'bench-results' },
  },
});

const choice = await selectBackend(values.backend as BackendPreference);
console.log(`backend: ${choice.reason}`);
const name = values.model as ZooName;
const model = createModel(name, { numClasses: 10, inputSize: 28, channels: 1, stemStride: 1 });
const { model: deploy } = await reparameterize(model);
console.log(`\n${name}, training form\n${accountTable(accountModel(model))}`);
console.log(`\n${name}, deploy form\n${accountTable(accountModel(deploy))}`);

const test = (await mnistDataset()).test;
const images = Math.min(Number(values.images), test.size);
const data = subset(
  test,
  Array.from({ length: images }, (_, i) => i),
  `${test.name}[0:${images}]`,
);
const runs = Number(values.runs);
const batches = values.batch!.split(',').map(Number);
for (const batch of batches) {
  const report = await runBenchmark(model, deploy, { model: name, data, batch, runs });
  console.log(`\n${reportTable(report)}\n${summaryLines(report).join('\n')}`);
  const files = await writeReport(report, { dir: values.out!, name: `compare-${name}-b${batch}` });
  console.log(`wrote ${Object.values(files).join(', ')}`);
}
for (const [form, m] of [
  ['train form', model],
  ['deploy form', deploy],
] as const) {
  const t = await measureThroughput(m, { batchSizes: batches, runs });
  console.log(
    `${form} throughput: ${t.map((r) => `batch ${r.batch} ${r.imagesPerSecond.toFixed(0)} img/s`).join(', ')}`,
  );
}
model.dispose();
deploy.dispose();
await releaseBackend();
