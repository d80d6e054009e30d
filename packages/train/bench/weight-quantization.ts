/**
 * pnpm --filter @repnets/train bench:weight-quantization [-- --epochs N --backend auto|wasm|cpu --out FILE]
 *
 * TF.js weight quantization on a trained network: trains the MNIST recipe
 * (compact RepVGG, as the example does; `--epochs`, default 1, keeps it
 * short), folds it, and writes the deploy model's folder three ways: float32,
 * float16 and uint8 (`modelFolderFilesOf(deploy, { quantize })`). Each is
 * loaded back by stock `tf.loadLayersModel` (from memory, so TF.js's own
 * decoder dequantizes) and measured on the MNIST test split: weights.bin
 * size, top-1, agreement of its top-1 predictions with float32's, and the
 * largest logit difference. JSON to bench-results/weight-quantization.json.
 */
import { parseArgs } from 'node:util';
import {
  createModel,
  type ModelFolderFiles,
  modelFolderFilesOf,
  reparameterize,
  type WeightQuantization,
} from '@repnets/blocks';
import { reportJson, scriptArgs } from '@repnets/devkit';
import { machineInfo as machine } from '@repnets/fuse/measure';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import {
  type BackendPreference,
  type Dataset,
  mnistDataset,
  mnistRecipe,
  releaseBackend,
  selectBackend,
  train,
} from '../src/index.js';

const { values } = parseArgs({
  args: scriptArgs(),
  options: {
    epochs: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'auto' },
    progress: { type: 'string', default: 'auto' },
    out: { type: 'string', default: 'bench-results/weight-quantization.json' },
  },
});

/** Every test image and label, in order, as one batch. */
async function wholeSplit(data: Dataset): Promise<{ x: tf.Tensor4D; labels: Int32Array }> {
  const [h, w, c] = data.shape;
  const images = new Float32Array(data.size * h * w * c);
  const labels = new Int32Array(data.size);
  for (let i = 0; i < data.size; i++) {
    const { image, label } = await data.get(i);
    images.set(image.data, i * h * w * c);
    labels[i] = label;
  }
  return { x: tf.tensor4d(images, [data.size, h, w, c]), labels };
}

/** Stock TF.js reading a folder's bytes: no RepNets handler between them. */
function stockLoad(files: ModelFolderFiles): Promise<tf.LayersModel> {
  const json = JSON.parse(files['model.json']) as tf.io.ModelJSON;
  const bin = files['weights.bin'];
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
    }),
  );
}

function logitsOf(model: tf.LayersModel, x: tf.Tensor4D): Float32Array {
  const out: Float32Array[] = [];
  for (let at = 0; at < x.shape[0]; at += 250) {
    const n = Math.min(250, x.shape[0] - at);
    out.push(
      tf.tidy(() => {
        const batch = x.slice([at, 0, 0, 0], [n, -1, -1, -1]);
        return (model.predict(batch) as tf.Tensor).dataSync() as Float32Array;
      }),
    );
  }
  const all = new Float32Array(out.reduce((s, a) => s + a.length, 0));
  let o = 0;
  for (const a of out) {
    all.set(a, o);
    o += a.length;
  }
  return all;
}

function argmaxRows(logits: Float32Array, classes: number): Int32Array {
  const rows = logits.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < classes; k++) {
      if ((logits[r * classes + k] as number) > (logits[r * classes + best] as number)) best = k;
    }
    out[r] = best;
  }
  return out;
}

const choice = await selectBackend(values.backend as BackendPreference);
console.log(`backend: ${choice.reason}`);
const recipe = mnistRecipe({
  epochs: Number(values.epochs),
  progress: values.progress as 'auto',
});
const data = await mnistDataset();
const model = createModel(recipe.model, recipe.modelOptions);
const t0 = performance.now();
await train(model, data, recipe.train);
const trainSeconds = (performance.now() - t0) / 1000;
const { model: deploy } = await reparameterize(model);
const { x, labels } = await wholeSplit(data.test);
const classes = data.test.classNames.length;

const forms: readonly (WeightQuantization | 'float32')[] = ['float32', 'float16', 'uint8'];
let reference: { logits: Float32Array; top1: Int32Array; bytes: number } | undefined;
const rows = [];
for (const form of forms) {
  const files = await modelFolderFilesOf(deploy, form === 'float32' ? {} : { quantize: form });
  const loaded = await stockLoad(files);
  const logits = logitsOf(loaded, x);
  loaded.dispose();
  const top1 = argmaxRows(logits, classes);
  reference ??= { logits, top1, bytes: files['weights.bin'].byteLength };
  let correct = 0;
  let agree = 0;
  let maxLogitDiff = 0;
  let largestLogit = 0;
  for (let i = 0; i < labels.length; i++) {
    if (top1[i] === labels[i]) correct++;
    if (top1[i] === reference.top1[i]) agree++;
  }
  for (let i = 0; i < logits.length; i++) {
    maxLogitDiff = Math.max(
      maxLogitDiff,
      Math.abs((logits[i] as number) - (reference.logits[i] as number)),
    );
    largestLogit = Math.max(largestLogit, Math.abs(reference.logits[i] as number));
  }
  const row = {
    weights: form,
    weightsBinBytes: files['weights.bin'].byteLength,
    modelJsonBytes: new TextEncoder().encode(files['model.json']).byteLength,
    smallerBy: reference.bytes / files['weights.bin'].byteLength,
    testTop1: correct / labels.length,
    agreementWithFloat32: agree / labels.length,
    maxLogitDifference: maxLogitDiff,
    maxLogitDifferenceRelative: maxLogitDiff / largestLogit,
  };
  rows.push(row);
  console.log(
    `${form.padEnd(8)} weights.bin ${String(row.weightsBinBytes).padStart(8)} B (${row.smallerBy.toFixed(2)}x smaller)  ` +
      `test top-1 ${(100 * row.testTop1).toFixed(2)}%  agrees with float32 on ${(100 * row.agreementWithFloat32).toFixed(2)}%  ` +
      `max |logit diff| ${row.maxLogitDifference.toExponential(2)} (${(100 * row.maxLogitDifferenceRelative).toFixed(3)}% of the largest logit)`,
  );
}

const report = {
  benchmark: 'weight-quantization',
  machine: machine(),
  backend: choice.backend,
  model: recipe.model,
  deployParams: deploy.countParams(),
  epochs: recipe.train.epochs,
  trainSeconds,
  testExamples: labels.length,
  loadedWith: 'stock tf.loadLayersModel (tf.io.fromMemory)',
  forms: rows,
};
writeFileAtomicSync(values.out as string, reportJson(report));
console.log(`wrote ${values.out}`);
x.dispose();
model.dispose();
deploy.dispose();
await releaseBackend();
