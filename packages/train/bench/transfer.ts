/**
 * pnpm --filter @repnets/train bench:transfer [-- --pretrain-epochs N --steps N --per-class N --seeds N
 *   --backbone-lr-factor F --out FILE]
 *
 * Transfer learning, for real and offline. A compact RepVGG is trained on the
 * MNIST digits 0-4 and saved as a timm-layout state dict (toStateDict ->
 * safetensors file). It is then read back (importStateDict, a new head) and
 * fine-tuned on digits 5-9 from a few images a class, against the same
 * network from random weights trained for the same steps on the same images.
 * Both are scored on every other 5-9 digit. Writes bench-results/transfer.json.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { importStateDict, modelFromRecord, reparameterize, toStateDict } from '@repnets/blocks';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { architecture, readSafetensors, writeSafetensors } from '@repnets/fuse';
import { machineInfo as machine } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import type * as tf from '@tensorflow/tfjs';
import {
  arrayDataset,
  type BackendPreference,
  type Dataset,
  evaluate,
  mnistAll,
  releaseBackend,
  selectBackend,
  type TrainOptions,
  train,
} from '../src/index.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    'pretrain-epochs': { type: 'string', default: '4' },
    steps: { type: 'string', default: '100' },
    'per-class': { type: 'string', default: '20' },
    seeds: { type: 'string', default: '3' },
    'backbone-lr-factor': { type: 'string', default: '1' },
    backend: { type: 'string', default: 'auto' },
    out: { type: 'string', default: 'bench-results/transfer.json' },
  },
});
const pretrainEpochs = Number(values['pretrain-epochs']);
const steps = Number(values.steps);
const perClass = Number(values['per-class']);
const seeds = Number(values.seeds);
const backboneLrFactor = Number(values['backbone-lr-factor']);

const choice = await selectBackend(values.backend as BackendPreference);
console.log(`backend: ${choice.reason}`);

const SIDE = 28;
const all = await mnistAll();
const PIXELS = SIDE * SIDE;

/** The digits `from`..`from + 4` of `indices`, relabelled 0..4, as an in-memory dataset. */
function digits(name: string, indices: readonly number[], from: number): Dataset {
  const pixels = new Float32Array(indices.length * PIXELS);
  const labels = new Int32Array(indices.length);
  indices.forEach((idx, i) => {
    pixels.set(all.get(idx).image.data, i * PIXELS);
    labels[i] = (all.labels[idx] ?? 0) - from;
  });
  return arrayDataset({
    name,
    pixels,
    labels,
    shape: [SIDE, SIDE, 1],
    classNames: ['0', '1', '2', '3', '4'].map((d) => String(Number(d) + from)),
  });
}

const byDigit = Array.from({ length: 10 }, () => [] as number[]);
for (let i = 0; i < all.size; i++) byDigit[all.labels[i] ?? 0]?.push(i);
const lowDigits = byDigit.slice(0, 5).flat();
const pretrainData = digits('mnist 0-4', lowDigits, 0);

const record = architecture('repvgg_compact', {
  numClasses: 5,
  inputSize: SIDE,
  channels: 1,
  stemStride: 1,
});
const base: Omit<TrainOptions, 'epochs'> = {
  batchSize: 20,
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  schedule: { type: 'cosine' },
  progress: 'none',
};

// 1. Pretrain on 0-4 and save it as PyTorch (timm layout) would.
const t0 = performance.now();
const pretrained = modelFromRecord(record, { seed: 1 });
await train(
  pretrained,
  { train: pretrainData },
  {
    ...base,
    batchSize: 64,
    optimizer: { ...base.optimizer, lr: 0.1 },
    epochs: pretrainEpochs,
    seed: 1,
  },
);
const pretrainSeconds = (performance.now() - t0) / 1000;
const dir = mkdtempSync(join(tmpdir(), 'repnets-transfer-'));
const file = join(dir, 'mnist-0-4.safetensors');
writeFileAtomicSync(file, writeSafetensors(toStateDict(pretrained, { layout: 'timm' })));
const fileBytes = readFileSync(file).byteLength;
const pretrainTop1 = (await evaluate(pretrained, pretrainData)).top1;
pretrained.dispose();
console.log(
  `pretrained on ${pretrainData.size} digits 0-4 for ${pretrainEpochs} epochs in ${pretrainSeconds.toFixed(1)} s (train top-1 ${(100 * pretrainTop1).toFixed(1)}%); state dict ${(fileBytes / 1e6).toFixed(2)} MB`,
);

interface Arm {
  readonly top1: number;
  readonly deployTop1: number;
  readonly seconds: number;
}

async function fineTune(
  model: tf.LayersModel,
  data: { train: Dataset; test: Dataset },
  seed: number,
  extra: Partial<TrainOptions>,
): Promise<Arm> {
  const epochs = Math.ceil((steps * base.batchSize) / data.train.size);
  const t = performance.now();
  await train(model, { train: data.train }, { ...base, epochs, seed, ...extra });
  const seconds = (performance.now() - t) / 1000;
  const top1 = (await evaluate(model, data.test)).top1;
  const { model: deploy } = await reparameterize(model);
  const deployTop1 = (await evaluate(deploy, data.test)).top1;
  deploy.dispose();
  model.dispose();
  return { top1, deployTop1, seconds };
}

const runs: {
  seed: number;
  scratch: Arm;
  finetune: Arm;
  headOnly: Arm;
}[] = [];
for (let seed = 0; seed < seeds; seed++) {
  // Few-shot training images: `perClass` of each digit 5-9 drawn by seed; every other one is the test set.
  const shots: number[] = [];
  const rest: number[] = [];
  for (let d = 5; d < 10; d++) {
    const list = [...(byDigit[d] ?? [])];
    let s = 0x9e3779b1 ^ (seed * 7919 + d);
    for (let i = list.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = s % (i + 1);
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    shots.push(...list.slice(0, perClass));
    rest.push(...list.slice(perClass));
  }
  const data = {
    train: digits('mnist 5-9 shots', shots, 5),
    test: digits('mnist 5-9 test', rest, 5),
  };
  const load = () =>
    importStateDict(readSafetensors(readFileSync(file)).tensors, {
      model: record,
      newHead: true,
      numClasses: 5,
    }).model;
  const scratch = await fineTune(modelFromRecord(record, { seed: 100 + seed }), data, seed, {});
  const finetune = await fineTune(load(), data, seed, { backboneLrFactor });
  const headOnly = await fineTune(load(), data, seed, { freeze: 'backbone' });
  runs.push({ seed, scratch, finetune, headOnly });
  const pct = (a: Arm) => `${(100 * a.top1).toFixed(1)}%`;
  console.log(
    `seed ${seed}: ${data.train.size} images, ${steps} steps; scratch ${pct(scratch)}, fine-tuned ${pct(finetune)}, head only ${pct(headOnly)} (test ${data.test.size} digits 5-9)`,
  );
}
rmSync(dir, { recursive: true, force: true });

const mean = (f: (r: (typeof runs)[number]) => number) =>
  runs.reduce((a, r) => a + f(r), 0) / runs.length;
const summary = {
  scratchTop1: mean((r) => r.scratch.top1),
  finetuneTop1: mean((r) => r.finetune.top1),
  headOnlyTop1: mean((r) => r.headOnly.top1),
  scratchSeconds: mean((r) => r.scratch.seconds),
  finetuneSeconds: mean((r) => r.finetune.seconds),
  headOnlySeconds: mean((r) => r.headOnly.seconds),
};
console.log(
  `mean over ${runs.length} seeds: scratch ${(100 * summary.scratchTop1).toFixed(1)}% (${summary.scratchSeconds.toFixed(1)} s), ` +
    `fine-tuned ${(100 * summary.finetuneTop1).toFixed(1)}% (${summary.finetuneSeconds.toFixed(1)} s), ` +
    `head only ${(100 * summary.headOnlyTop1).toFixed(1)}% (${summary.headOnlySeconds.toFixed(1)} s)`,
);
writeFileAtomicSync(
  values.out!,
  reportJson({
    benchmark: 'transfer-mnist-0-4-to-5-9',
    machine: machine(),
    backend: choice.backend,
    model: record.name,
    pretrain: {
      examples: pretrainData.size,
      epochs: pretrainEpochs,
      seconds: pretrainSeconds,
      trainTop1: pretrainTop1,
      stateDictBytes: fileBytes,
    },
    fineTune: {
      perClass,
      steps,
      batchSize: base.batchSize,
      optimizer: base.optimizer,
      finetuneBackboneLrFactor: backboneLrFactor,
    },
    runs,
    summary,
  }),
);
console.log(`wrote ${values.out}`);
await releaseBackend();
