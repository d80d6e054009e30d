/**
 * pnpm --filter @repnets/bench bench:ptq [-- --epochs N --identity-epochs N --pretrain-epochs N
 *   --steps N --per-class N --calib N --seed N --backend auto|wasm|cpu --threads N --out FILE]
 *
 * Issue 23, measured: post-training int8 quantization of trained networks,
 * RepVGG against QARepVGG trained the same way, in ONNX Runtime (node, CPU).
 *
 * 1. The example's MNIST network: `repvgg_compact` with the example's recipe
 *    (recipeFor on namedDataset('mnist'): SGD, cosine, label smoothing, +-2 px
 *    shifts, seed 0), and its QARepVGG counterpart: the same record with every
 *    block a QARepVGG block (the zoo has no `qarepvgg_compact`; the record is
 *    built from the same table), the same data, seed, optimizer and epochs.
 *    `--epochs` shortens the example's 6 on a loaded machine. repvgg_compact
 *    has no identity branch (each of its blocks strides), so a second pair
 *    adds a stride-1 block to stages 1-3 and trains with the same recipe for
 *    `--identity-epochs` (0 skips it): the paper's case on our own weights.
 * 2. A transfer-learned pair, as bench/transfer.ts in @repnets/train does it:
 *    each family pretrained on the digits 0-4, its backbone carried over to a
 *    fresh 5-class head and fine-tuned on digits 5-9 from `--per-class` images
 *    a class for `--steps` steps, scored on every other 5-9 digit. The weights
 *    move in memory, layer by layer, not through a safetensors file as
 *    transfer.ts does: no PyTorch layout holds QARepVGG, and both families
 *    must travel the same way.
 *
 * Each trained network is folded (reparameterize), written as fp32 ONNX
 * (exportOnnx) and as int8 QDQ ONNX (exportOnnxInt8) for every calibration
 * method (minmax, percentile, mse) with 8-bit and with 7-bit weights
 * (reduceRange false / true: this CPU's lack of VNNI makes ONNX Runtime's
 * u8 x s8 kernels saturate with 8-bit weights, so both are reported).
 * Calibration: the first `--calib` training images through the eval transform.
 * Every form is scored in onnxruntime-node on the whole test split: top-1, and
 * top-1 agreement with the fp32 ONNX model, fused (the integer kernels a
 * deployment runs) and unfused (graph optimizations off). Per-layer int8 weight SQNR of the
 * folded kernels comes from exportOnnxInt8's report (symmetric, per output
 * channel). JSON to bench-results/ptq.json.
 */
import { parseArgs } from 'node:util';
import { modelFromRecord, reparameterize } from '@repnets/blocks';
import {
  exportOnnx,
  exportOnnxInt8,
  type OnnxInt8Result,
  type QuantizedLayerReport,
} from '@repnets/blocks/onnx';
import { reportJson, scriptArgs } from '@repnets/devkit';
import {
  type ArchOptions,
  architecture,
  type NetworkRecord,
  qarepvggRecord,
  type RepVGGArch,
  repvggRecord,
} from '@repnets/fuse';
import { machineInfo } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import {
  arrayDataset,
  type BackendPreference,
  type Dataset,
  deriveRng,
  evaluate,
  mnistAll,
  namedDataset,
  recipeFor,
  releaseBackend,
  selectBackend,
  type TrainOptions,
  type Transform,
  train,
} from '@repnets/train';
import type * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    epochs: { type: 'string', default: '6' },
    'identity-epochs': { type: 'string', default: '3' },
    'pretrain-epochs': { type: 'string', default: '4' },
    steps: { type: 'string', default: '100' },
    'per-class': { type: 'string', default: '20' },
    calib: { type: 'string', default: '256' },
    seed: { type: 'string', default: '0' },
    backend: { type: 'string', default: 'auto' },
    threads: { type: 'string', default: '1' },
    'train-size': { type: 'string' },
    out: { type: 'string', default: 'bench-results/ptq.json' },
  },
});
const epochs = Number(values.epochs);
const identityEpochs = Number(values['identity-epochs']);
const pretrainEpochs = Number(values['pretrain-epochs']);
const steps = Number(values.steps);
const perClass = Number(values['per-class']);
const calibImages = Number(values.calib);
const seed = Number(values.seed);
const threads = Number(values.threads);
const trainSize = values['train-size'] === undefined ? undefined : Number(values['train-size']);
for (const [flag, v] of Object.entries({
  epochs,
  'pretrain-epochs': pretrainEpochs,
  steps,
  'per-class': perClass,
  calib: calibImages,
  threads,
  ...(trainSize === undefined ? {} : { 'train-size': trainSize }),
})) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`bench:ptq: --${flag} must be an integer >= 1, got ${String(v)}`);
    process.exit(2);
  }
}
for (const [flag, v] of Object.entries({ seed, 'identity-epochs': identityEpochs })) {
  if (!Number.isInteger(v) || v < 0) {
    console.error(`bench:ptq: --${flag} must be an integer >= 0, got ${String(v)}`);
    process.exit(2);
  }
}

const METHODS = ['minmax', 'percentile', 'mse'] as const;
const REDUCE = [false, true] as const;
const started = performance.now();
const machine = machineInfo();
const choice = await selectBackend(values.backend as BackendPreference);
console.log(`machine: ${machine.cpu} x${machine.cores}, ${machine.platform}, node ${machine.node}`);
console.log(`backend: ${choice.reason}`);
console.log(
  `onnxruntime-node ${ort.env.versions.common}, CPU EP, ${threads} intra-op thread(s), sequential execution`,
);

/** repvgg_compact's table: one block a stage, half widths (the zoo's, checked in {@link pair}). */
const COMPACT: RepVGGArch = { depths: [1, 1, 1, 1], widths: [0.5, 0.5, 0.5, 0.5] };
/**
 * repvgg_compact with a second block in stages 1-3: those blocks keep their
 * channels at stride 1, so they have RepVGG's BN-only identity branch, the
 * branch the paper blames. repvgg_compact has none (each of its blocks strides).
 */
const WITH_IDENTITY: RepVGGArch = { depths: [2, 2, 2, 1], widths: [0.5, 0.5, 0.5, 0.5] };

/** A RepVGG record and its QARepVGG counterpart: the same blocks, each a QARepVGG block. */
function pair(
  name: string,
  arch: RepVGGArch,
  options: ArchOptions,
): [NetworkRecord, NetworkRecord] {
  const rep = repvggRecord(`repvgg_${name}`, arch, options);
  const qa = qarepvggRecord(`qarepvgg_${name}`, arch, options);
  const shape = (r: NetworkRecord) =>
    JSON.stringify({
      ...r,
      name: '',
      family: '',
      blocks: r.blocks.map((b) => ({ ...b, kind: '' })),
    });
  if (shape(qa) !== shape(rep)) {
    throw new Error(
      `bench:ptq: the QARepVGG record differs from ${rep.name} beyond its block kind`,
    );
  }
  if (arch === COMPACT && shape(rep) !== shape(architecture('repvgg_compact', options))) {
    throw new Error("bench:ptq: COMPACT is no longer the zoo's repvgg_compact table");
  }
  return [rep, qa];
}

/** Every example of `data` (through `transform` when given) as one NHWC array, and the labels. */
async function materialize(
  data: Dataset,
  count = data.size,
  transform?: Transform,
): Promise<{ x: Float32Array; labels: Int32Array; shape: [number, number, number, number] }> {
  const n = Math.min(count, data.size);
  const [h, w, c] = data.shape;
  const x = new Float32Array(n * h * w * c);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const ex = await data.get(i);
    const image = transform ? transform(ex.image, deriveRng(seed, i)) : ex.image;
    x.set(image.data, i * h * w * c);
    labels[i] = ex.label;
  }
  return { x, labels, shape: [n, h, w, c] };
}

/**
 * Top-1 class of each test image from an ONNX model in onnxruntime-node (NHWC
 * input). `fused` false turns ONNX Runtime's graph optimizations off: a QDQ
 * model then runs as written (DequantizeLinear, float Conv), the int8
 * arithmetic itself without the integer kernels' own rounding and saturation.
 */
async function onnxTop1(
  bytes: Uint8Array,
  test: { x: Float32Array; shape: readonly number[] },
  fused = true,
): Promise<Int32Array> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    executionMode: 'sequential',
    graphOptimizationLevel: fused ? 'all' : 'disabled',
  });
  try {
    const [n, h, w, c] = test.shape as [number, number, number, number];
    const per = h * w * c;
    const top = new Int32Array(n);
    const BATCH = 250;
    for (let at = 0; at < n; at += BATCH) {
      const m = Math.min(BATCH, n - at);
      const input = new ort.Tensor('float32', test.x.subarray(at * per, (at + m) * per), [
        m,
        h,
        w,
        c,
      ]);
      const out = await session.run({ [session.inputNames[0] as string]: input });
      const y = out[session.outputNames[0] as string];
      if (!y) throw new Error('bench:ptq: the ONNX model returned no output');
      const logits = y.data as Float32Array;
      const k = logits.length / m;
      for (let r = 0; r < m; r++) {
        let best = 0;
        for (let j = 1; j < k; j++) {
          if ((logits[r * k + j] as number) > (logits[r * k + best] as number)) best = j;
        }
        top[at + r] = best;
      }
    }
    return top;
  } finally {
    await session.release();
  }
}

const share = (a: Int32Array, b: Int32Array) => {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
};

interface Int8Row {
  readonly method: (typeof METHODS)[number];
  readonly reduceRange: boolean;
  readonly bytes: number;
  readonly top1: number;
  readonly agreementWithFp32: number;
  /** The same model with ONNX Runtime's graph optimizations off: QDQ as written, no integer kernels. */
  readonly unfusedTop1: number;
  readonly unfusedAgreementWithFp32: number;
  /** exportOnnxInt8's own time (calibration included). */
  readonly seconds: number;
}

interface LayerRow {
  readonly layer: string;
  readonly op: 'Conv' | 'Gemm';
  /** Whether the RepVGG block folded into this kernel had a BN-only identity branch. */
  readonly identityBranch: boolean;
  readonly weightSqnrDb: number;
  readonly weightSqnrDb7bit: number;
  readonly inputSqnrDb: number;
  readonly outputSqnrDb: number | null;
}

interface NetworkResult {
  readonly model: string;
  readonly family: string;
  readonly deployParams: number;
  readonly trainSeconds: number;
  readonly tfjsTrainFormTop1: number;
  readonly fp32: { readonly bytes: number; readonly top1: number };
  readonly int8: Int8Row[];
  readonly layers: LayerRow[];
  readonly skipped: OnnxInt8Result['skipped'];
}

/** Fold, export fp32 and every int8 variant, score them all in ONNX Runtime. */
async function quantizeAndScore(
  trained: tf.LayersModel,
  record: NetworkRecord,
  trainSeconds: number,
  calibration: { x: Float32Array; shape: [number, number, number, number] },
  test: { x: Float32Array; labels: Int32Array; shape: readonly number[] },
  tfjsTop1: number,
): Promise<NetworkResult> {
  const { model: deploy } = await reparameterize(trained);
  const fp32Bytes = await exportOnnx(deploy);
  const fp32Top = await onnxTop1(fp32Bytes, test);
  const fp32 = { bytes: fp32Bytes.byteLength, top1: share(fp32Top, test.labels) };
  const int8: Int8Row[] = [];
  const reports = new Map<string, readonly QuantizedLayerReport[]>();
  let skipped: OnnxInt8Result['skipped'] = [];
  for (const reduceRange of REDUCE) {
    for (const method of METHODS) {
      const t = performance.now();
      const q = await exportOnnxInt8(deploy, [{ data: calibration.x, shape: calibration.shape }], {
        method,
        reduceRange,
      });
      const seconds = (performance.now() - t) / 1000;
      const top = await onnxTop1(q.bytes, test);
      const unfused = await onnxTop1(q.bytes, test, false);
      int8.push({
        method,
        reduceRange,
        bytes: q.bytes.byteLength,
        top1: share(top, test.labels),
        agreementWithFp32: share(top, fp32Top),
        unfusedTop1: share(unfused, test.labels),
        unfusedAgreementWithFp32: share(unfused, fp32Top),
        seconds,
      });
      if (method === 'minmax') reports.set(String(reduceRange), q.quantized);
      skipped = q.skipped;
    }
  }
  const eight = reports.get('false') ?? [];
  const seven = reports.get('true') ?? [];
  const layers = eight.map((l, i) => ({
    layer: l.layer,
    op: l.op,
    identityBranch: record.blocks.find((b) => b.name === l.layer)?.branches.identity ?? false,
    weightSqnrDb: l.weightSqnrDb,
    weightSqnrDb7bit: seven[i]?.weightSqnrDb ?? Number.NaN,
    inputSqnrDb: l.input.sqnrDb,
    outputSqnrDb: l.output?.sqnrDb ?? null,
  }));
  const deployParams = deploy.countParams();
  deploy.dispose();
  return {
    model: record.name,
    family: record.family,
    deployParams,
    trainSeconds,
    tfjsTrainFormTop1: tfjsTop1,
    fp32,
    int8,
    layers,
    skipped,
  };
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

function printNetwork(title: string, r: NetworkResult): void {
  console.log(
    `\n${title}: ${r.family} (${r.deployParams} deploy params, trained in ${r.trainSeconds.toFixed(0)} s, TF.js train form top-1 ${pct(r.tfjsTrainFormTop1)})`,
  );
  console.log(
    `  ${'form'.padEnd(28)}${'bytes'.padStart(10)}${'top-1'.padStart(9)}${'agrees'.padStart(9)}   unfused QDQ: ${'top-1'.padStart(7)}${'agrees'.padStart(9)}`,
  );
  console.log(
    `  ${'fp32'.padEnd(28)}${String(r.fp32.bytes).padStart(10)}${pct(r.fp32.top1).padStart(9)}`,
  );
  for (const q of r.int8) {
    const name = `int8 ${q.method}, ${q.reduceRange ? '7-bit w' : '8-bit w'}`;
    console.log(
      `  ${name.padEnd(28)}${String(q.bytes).padStart(10)}${pct(q.top1).padStart(9)}${pct(q.agreementWithFp32).padStart(9)}${' '.repeat(16)}${pct(q.unfusedTop1).padStart(7)}${pct(q.unfusedAgreementWithFp32).padStart(9)}`,
    );
  }
}

const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const summarize = (layers: readonly LayerRow[]) => ({
  meanWeightSqnrDb: mean(layers.map((l) => l.weightSqnrDb)),
  /** Over the kernels of blocks with an identity branch (in the RepVGG form); null where none has one. */
  meanWeightSqnrDbIdentityBlocks: layers.some((l) => l.identityBranch)
    ? mean(layers.filter((l) => l.identityBranch).map((l) => l.weightSqnrDb))
    : null,
  minWeightSqnrDb: Math.min(...layers.map((l) => l.weightSqnrDb)),
  meanWeightSqnrDb7bit: mean(layers.map((l) => l.weightSqnrDb7bit)),
  minWeightSqnrDb7bit: Math.min(...layers.map((l) => l.weightSqnrDb7bit)),
});

function printSqnr(title: string, rep: NetworkResult, qa: NetworkResult): void {
  console.log(
    `\n${title}: int8 weight SQNR of the folded kernels (dB, symmetric per output channel)`,
  );
  console.log(
    `  ${'layer'.padEnd(26)}${'RepVGG 8b'.padStart(11)}${'QARepVGG 8b'.padStart(13)}${'RepVGG 7b'.padStart(11)}${'QARepVGG 7b'.padStart(13)}`,
  );
  rep.layers.forEach((l, i) => {
    const q = qa.layers[i];
    console.log(
      `  ${`${l.layer}${l.identityBranch ? ' (identity)' : ''}`.padEnd(26)}${l.weightSqnrDb.toFixed(1).padStart(11)}${(q?.weightSqnrDb ?? Number.NaN).toFixed(1).padStart(13)}` +
        `${l.weightSqnrDb7bit.toFixed(1).padStart(11)}${(q?.weightSqnrDb7bit ?? Number.NaN).toFixed(1).padStart(13)}`,
    );
  });
  const a = summarize(rep.layers);
  const b = summarize(qa.layers);
  console.log(
    `  ${'mean'.padEnd(26)}${a.meanWeightSqnrDb.toFixed(1).padStart(11)}${b.meanWeightSqnrDb.toFixed(1).padStart(13)}${a.meanWeightSqnrDb7bit.toFixed(1).padStart(11)}${b.meanWeightSqnrDb7bit.toFixed(1).padStart(13)}`,
  );
  console.log(
    `  ${'min'.padEnd(26)}${a.minWeightSqnrDb.toFixed(1).padStart(11)}${b.minWeightSqnrDb.toFixed(1).padStart(13)}${a.minWeightSqnrDb7bit.toFixed(1).padStart(11)}${b.minWeightSqnrDb7bit.toFixed(1).padStart(13)}`,
  );
}

// 1. The example's MNIST network and its QARepVGG counterpart.
const data = await namedDataset({
  dataset: 'mnist',
  seed,
  ...(trainSize === undefined ? {} : { trainSize }),
});
const recipe = recipeFor('repvgg_compact', data, { dataset: 'mnist', epochs, seed });
const mnistTest = await materialize(data.test, data.test.size, recipe.train.evalTransform);
const mnistCalib = await materialize(data.train, calibImages, recipe.train.evalTransform);
console.log(
  `\nMNIST: ${data.train.size} training, ${data.test.size} test digits; batch ${recipe.train.batchSize}, seed ${seed}; calibration ${mnistCalib.shape[0]} training images`,
);

/** Trains a RepVGG / QARepVGG pair with the example's recipe and scores both. */
async function mnistPair(
  name: string,
  arch: RepVGGArch,
  pairEpochs: number,
): Promise<NetworkResult[]> {
  const results: NetworkResult[] = [];
  for (const record of pair(name, arch, recipe.modelOptions)) {
    const model = modelFromRecord(record, { seed });
    const t = performance.now();
    await train(
      model,
      { train: data.train },
      { ...recipe.train, epochs: pairEpochs, progress: 'none' },
    );
    const seconds = (performance.now() - t) / 1000;
    const tfjsTop1 = (await evaluate(model, data.test)).top1;
    const r = await quantizeAndScore(model, record, seconds, mnistCalib, mnistTest, tfjsTop1);
    model.dispose();
    results.push(r);
    printNetwork(`MNIST ${record.name}, ${pairEpochs} epochs`, r);
  }
  return results;
}

const mnist = await mnistPair('compact', COMPACT, epochs);
const identity =
  identityEpochs > 0 ? await mnistPair('compact_identity', WITH_IDENTITY, identityEpochs) : [];

// 2. Transfer: pretrain on 0-4, fine-tune on few 5-9 digits.
const all = await mnistAll();
const PIXELS = 28 * 28;
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
    shape: [28, 28, 1],
    classNames: [0, 1, 2, 3, 4].map((d) => String(d + from)),
  });
}
const byDigit = Array.from({ length: 10 }, () => [] as number[]);
for (let i = 0; i < all.size; i++) byDigit[all.labels[i] ?? 0]?.push(i);
const pretrainData = digits('mnist 0-4', byDigit.slice(0, 5).flat(), 0);
const shots: number[] = [];
const rest: number[] = [];
for (let d = 5; d < 10; d++) {
  const list = [...(byDigit[d] ?? [])];
  const rng = deriveRng(seed, d);
  for (let i = list.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [list[i], list[j]] = [list[j] as number, list[i] as number];
  }
  shots.push(...list.slice(0, perClass));
  rest.push(...list.slice(perClass));
}
const fewShot = {
  train: digits('mnist 5-9 shots', shots, 5),
  test: digits('mnist 5-9 test', rest, 5),
};
const transferTest = await materialize(fewShot.test);
// The few-shot images are all the training data a user of this network has: they calibrate it.
const transferCalib = await materialize(fewShot.train, calibImages);
const smallOptions = { numClasses: 5, inputSize: 28, channels: 1, stemStride: 1 } as const;
const transferRecords = pair('compact', COMPACT, smallOptions);
const tuning: Omit<TrainOptions, 'epochs'> = {
  batchSize: 20,
  optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 5e-4 },
  schedule: { type: 'cosine' },
  progress: 'none',
};
const tuneEpochs = Math.ceil((steps * tuning.batchSize) / fewShot.train.size);
console.log(
  `\ntransfer: pretrain on ${pretrainData.size} digits 0-4 for ${pretrainEpochs} epochs; fine-tune on ${fewShot.train.size} digits 5-9 (${perClass} a class) for ${tuneEpochs} epochs (~${steps} steps); test ${fewShot.test.size} digits 5-9; calibration ${transferCalib.shape[0]} few-shot images`,
);

/** Every weight of `from` into `to` except the classifier's (Dense layers): a fresh head on a trained backbone. */
function carryBackbone(from: tf.LayersModel, to: tf.LayersModel): void {
  for (const layer of to.layers) {
    if (layer.getClassName() === 'Dense' || layer.weights.length === 0) continue;
    layer.setWeights(from.getLayer(layer.name).getWeights());
  }
}

const transfer: NetworkResult[] = [];
for (const record of transferRecords) {
  const pretrained = modelFromRecord(record, { seed: seed + 1 });
  const t = performance.now();
  await train(
    pretrained,
    { train: pretrainData },
    {
      ...tuning,
      batchSize: 64,
      optimizer: { ...tuning.optimizer, lr: 0.1 },
      epochs: pretrainEpochs,
      seed: seed + 1,
    },
  );
  const model = modelFromRecord(record, { seed: seed + 100 });
  carryBackbone(pretrained, model);
  pretrained.dispose();
  await train(model, { train: fewShot.train }, { ...tuning, epochs: tuneEpochs, seed });
  const seconds = (performance.now() - t) / 1000;
  const tfjsTop1 = (await evaluate(model, fewShot.test)).top1;
  const r = await quantizeAndScore(model, record, seconds, transferCalib, transferTest, tfjsTop1);
  model.dispose();
  transfer.push(r);
  printNetwork(`transfer ${record.name}`, transfer[transfer.length - 1] as NetworkResult);
}

const [mnistRep, mnistQa] = mnist as [NetworkResult, NetworkResult];
const [transferRep, transferQa] = transfer as [NetworkResult, NetworkResult];
printSqnr('MNIST', mnistRep, mnistQa);
const [identityRep, identityQa] = identity;
if (identityRep && identityQa)
  printSqnr('MNIST, blocks with identity branches', identityRep, identityQa);
printSqnr('transfer', transferRep, transferQa);

const wallSeconds = (performance.now() - started) / 1000;
console.log(`\nwall ${wallSeconds.toFixed(0)} s`);
writeFileAtomicSync(
  values.out,
  reportJson({
    benchmark: 'ptq',
    description:
      'Post-training int8 quantization (exportOnnxInt8, QDQ) of trained networks, RepVGG vs QARepVGG trained the same way, scored in onnxruntime-node on the whole test split. fp32 = exportOnnx of the folded model.',
    machine,
    backend: choice.backend,
    onnxruntime: { version: ort.env.versions.common, executionProvider: 'cpu', threads },
    notes: [
      "'The same trained weights' cannot hold across the two families: QARepVGG is a different block (no BN on the identity and 1x1 branches, a BN after the sum), so each family is trained from the same seed on the same data with the same optimizer, schedule and epochs, and their folded kernels are compared.",
      'The zoo has no qarepvgg_compact: the QARepVGG network is qarepvggRecord on the repvgg_compact table, checked equal to the repvgg_compact record but for the block kind.',
      'reduceRange true = 7-bit weights: ONNX Runtime on AVX2 CPUs without VNNI (this one) saturates u8 x s8 pairs at int16 with 8-bit weights.',
      "unfused*: the same int8 file run with ONNX Runtime's graph optimizations disabled, so DequantizeLinear feeds a float Conv: the quantization itself, without the integer kernels' saturation. top1/agreementWithFp32 are the fused integer kernels (QLinearConv), what a deployment runs.",
      'Weight SQNR: 10 log10(|w|^2 / |w - q(w)|^2) per folded Conv/Gemm kernel from the exportOnnxInt8 report; it does not depend on the calibration method.',
      'Transfer: the backbone moves in memory (all non-Dense layers), not through a safetensors file as packages/train/bench/transfer.ts does, since no PyTorch layout holds QARepVGG.',
    ],
    mnist: {
      dataset: 'mnist (the mnist package, namedDataset seed split)',
      trainExamples: data.train.size,
      testExamples: data.test.size,
      calibrationImages: mnistCalib.shape[0],
      epochs,
      exampleDefaultEpochs: 6,
      batchSize: recipe.train.batchSize,
      optimizer: recipe.train.optimizer,
      schedule: recipe.train.schedule,
      labelSmoothing: recipe.train.labelSmoothing,
      seed,
      networks: mnist,
      weightSqnr: { repvgg: summarize(mnistRep.layers), qarepvgg: summarize(mnistQa.layers) },
    },
    identityBlocks:
      identityRep && identityQa
        ? {
            why: "repvgg_compact has no identity branch (each of its blocks strides); this pair adds a stride-1 block to stages 1-3 (depths 2, 2, 2, 1, widths 0.5), trained with the same recipe, data and seed, so the paper's case (a BN-only identity branch folded into the 3x3 centre taps) is measured on our own trained weights.",
            arch: WITH_IDENTITY,
            epochs: identityEpochs,
            networks: identity,
            weightSqnr: {
              repvgg: summarize(identityRep.layers),
              qarepvgg: summarize(identityQa.layers),
            },
          }
        : null,
    transfer: {
      pretrain: {
        digits: '0-4',
        examples: pretrainData.size,
        epochs: pretrainEpochs,
        batchSize: 64,
        lr: 0.1,
      },
      fineTune: {
        digits: '5-9',
        perClass,
        examples: fewShot.train.size,
        steps,
        epochs: tuneEpochs,
        batchSize: tuning.batchSize,
        optimizer: tuning.optimizer,
      },
      testExamples: fewShot.test.size,
      calibrationImages: transferCalib.shape[0],
      networks: transfer,
      weightSqnr: {
        repvgg: summarize(transferRep.layers),
        qarepvgg: summarize(transferQa.layers),
      },
    },
    wallSeconds,
  }),
);
console.log(`wrote ${values.out}`);
await releaseBackend();
