/**
 * pnpm --filter @repnets/train bench:workers [-- --rounds N --examples N --out FILE]
 *
 * What more workers than cores cost: the MNIST recipe's model trained for one
 * epoch on a subset, with workers = cores (the baseline) and workers = 2 x
 * cores, interleaved round by round in this process so both see the same
 * machine load. Prints images per second of each and their ratio; writes
 * bench-results/workers.json. The note `train()` prints for workers above the
 * cores quotes this ratio (OVERSUBSCRIBED_COST in src/runner/workers.ts).
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { createModel } from '@repnets/blocks';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine, summarize } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import {
  mnistDataset,
  mnistRecipe,
  releaseBackend,
  selectBackend,
  subset,
  train,
} from '../src/index.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    rounds: { type: 'string', default: '3' },
    examples: { type: 'string', default: '1024' },
    out: { type: 'string', default: 'bench-results/workers.json' },
  },
});

const choice = await selectBackend('wasm');
const cores = availableParallelism();
const rounds = Number(values.rounds);
const recipe = mnistRecipe({ epochs: 1, progress: 'none' });
const data = await mnistDataset();
const n = Number(values.examples);
// The split is shuffled by seed, so its first n examples cover every class.
const part = subset(
  data.train,
  Array.from({ length: n }, (_, i) => i),
  `mnist/train[${n}]`,
);
const counts = [cores, 2 * cores];
const samples = new Map<number, number[]>(counts.map((c) => [c, []]));
for (let r = 0; r < rounds; r++) {
  for (const workers of counts) {
    const model = createModel(recipe.model, recipe.modelOptions);
    const result = await train(model, { train: part }, { ...recipe.train, workers });
    samples.get(workers)!.push(result.history[0]!.imagesPerSecond);
    model.dispose();
  }
}
const [base, over] = counts.map((c) => summarize(samples.get(c)!));
const slowdown = base!.median / over!.median;
const report = {
  benchmark: 'workers-above-cores',
  machine: machine(),
  backend: choice.backend,
  model: recipe.model,
  batchSize: recipe.train.batchSize,
  examples: n,
  cores,
  imagesPerSecond: { [`workers${cores}`]: base, [`workers${2 * cores}`]: over },
  slowdown,
};
console.log(`| workers | img/s (median, p10-p90) |`);
console.log(`| ------- | ----------------------- |`);
for (const [c, s] of [
  [cores, base!],
  [2 * cores, over!],
] as const) {
  console.log(`| ${c} | ${s.median.toFixed(0)} (${s.p10.toFixed(0)}-${s.p90.toFixed(0)}) |`);
}
console.log(
  `${recipe.model}, batch ${recipe.train.batchSize}, wasm, ${cores} cores: ${2 * cores} workers train at 1/${slowdown.toFixed(2)} the speed of ${cores}`,
);
writeFileAtomicSync(values.out!, reportJson(report));
console.log(`wrote ${values.out}`);
await releaseBackend();
