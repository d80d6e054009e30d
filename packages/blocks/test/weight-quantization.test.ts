/**
 * Model folders with quantized weights (`quantize: 'uint8' | 'float16'`): the
 * standard manifest entries TF.js's own converter writes, read back by stock
 * `tf.loadLayersModel` (from memory, no RepNets handler in the way) and by
 * `loadLayersModelFile`, each weight within its quantization step of the
 * original, and the logits close to float32's. Every zoo name in deploy form
 * round-trips through uint8.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createModel,
  fileSystem,
  listModels,
  loadLayersModelFile,
  type ModelFolderFiles,
  modelFolderFilesOf,
  type WeightQuantization,
} from '../src/index.js';
import { relativeError } from './helpers/compare-logits.js';
import { breathe } from './helpers/models.js';
import { smallOptions } from './helpers/small-options.js';

const root = mkdtempSync(join(tmpdir(), 'repnets-quantized-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Entry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number; original_dtype?: string };
}

const manifestOf = (files: ModelFolderFiles) => {
  const json = JSON.parse(files['model.json']) as tf.io.ModelJSON;
  expect(json.weightsManifest).toHaveLength(1);
  return { json, weights: json.weightsManifest[0]!.weights as unknown as Entry[] };
};

/** Stock TF.js, no RepNets handler: the artifacts as a browser fetch would hand them over. */
async function stockLoad(files: ModelFolderFiles): Promise<tf.LayersModel> {
  const { json, weights } = manifestOf(files);
  const bin = files['weights.bin'];
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: weights as unknown as tf.io.WeightsManifestEntry[],
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
    }),
  );
}

/** The largest error quantization may leave in one value. */
function allowed(entry: Entry, original: number): number {
  const q = entry.quantization;
  if (q?.dtype === 'uint8') {
    // Half a step, plus float32 rounding of `q * scale + min`.
    return (q.scale as number) / 2 + Math.abs(original) * 2 ** -23 + 1e-12;
  }
  // float16: half a unit in the last of its 11 significant bits; 2^-25 below its normals.
  return Math.max(Math.abs(original) * 2 ** -11, 2 ** -25);
}

/** Every weight of `loaded` against `original`, by manifest entry; the largest error in steps. */
function expectWithinStep(original: tf.LayersModel, loaded: tf.LayersModel, entries: Entry[]) {
  const before = original.getWeights();
  const after = loaded.getWeights();
  expect(after).toHaveLength(entries.length);
  for (const [i, entry] of entries.entries()) {
    const a = before[i]!;
    const b = after[i]!;
    expect(b.shape, entry.name).toEqual(entry.shape);
    expect(b.shape, entry.name).toEqual(a.shape);
    const x = a.dataSync();
    const y = b.dataSync();
    for (let j = 0; j < x.length; j++) {
      const err = Math.abs((y[j] as number) - (x[j] as number));
      if (err > allowed(entry, x[j] as number)) {
        expect.fail(`${entry.name}[${j}]: ${x[j]} came back as ${y[j]}`);
      }
    }
  }
}

const logitsOf = (model: tf.LayersModel, x: tf.Tensor) =>
  tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const NAME = 'repvgg_a0';
const FORMS = ['deploy', 'train'] as const;
const DTYPES: readonly WeightQuantization[] = ['uint8', 'float16'];

describe('quantized model folders', () => {
  for (const form of FORMS) {
    for (const dtype of DTYPES) {
      it(`${NAME} in ${form} form as ${dtype}: standard manifest, stock and RepNets loads, within one step`, async () => {
        const opts = smallOptions(NAME);
        const model = createModel(NAME, { ...opts, form, seed: 3 }) as tf.LayersModel;
        const plain = await modelFolderFilesOf(model);
        const files = await modelFolderFilesOf(model, { quantize: dtype });
        const { weights } = manifestOf(files);
        const { weights: plainWeights } = manifestOf(plain);
        expect(weights.map((w) => [w.name, w.shape, w.dtype])).toEqual(
          plainWeights.map((w) => [w.name, w.shape, w.dtype]),
        );
        for (const w of weights) {
          expect(w.dtype, w.name).toBe('float32');
          expect(w.quantization?.dtype, w.name).toBe(dtype);
          expect(w.quantization?.original_dtype, w.name).toBe('float32');
          if (dtype === 'uint8') {
            expect(Number.isFinite(w.quantization?.min), w.name).toBe(true);
            expect(w.quantization?.scale, w.name).toBeGreaterThan(0);
            // The grid holds 0 exactly: min is a whole number of steps below it.
            const steps = -(w.quantization?.min as number) / (w.quantization?.scale as number);
            expect(Math.abs(steps - Math.round(steps)), w.name).toBeLessThan(1e-6);
          } else {
            expect(Object.keys(w.quantization ?? {}).sort(), w.name).toEqual([
              'dtype',
              'original_dtype',
            ]);
          }
        }
        // Every weight is float32, so the bytes shrink by exactly 4x (uint8) or 2x (float16).
        const factor = dtype === 'uint8' ? 4 : 2;
        expect(files['weights.bin'].byteLength * factor).toBe(plain['weights.bin'].byteLength);

        const dir = join(root, `${form}-${dtype}`);
        await model.save(fileSystem(dir, { quantize: dtype }));
        expect(readFileSync(join(dir, 'model.json'), 'utf8')).toBe(files['model.json']);
        expect(new Uint8Array(readFileSync(join(dir, 'weights.bin')))).toEqual(
          files['weights.bin'],
        );

        const stock = await stockLoad(files);
        const ours = await loadLayersModelFile(dir);
        expectWithinStep(model, stock, weights);
        for (const [i, w] of ours.getWeights().entries()) {
          expect(w.dataSync(), weights[i]?.name).toEqual(stock.getWeights()[i]?.dataSync());
        }

        const x = tf.randomUniform(
          [2, opts.inputSize as number, opts.inputSize as number, 3],
          -1,
          1,
          'float32',
          7,
        );
        const want = logitsOf(model, x);
        const got = logitsOf(ours, x);
        const rel = relativeError(got, want);
        console.log(
          `${NAME} ${form} ${dtype}: weights.bin ${plain['weights.bin'].byteLength} -> ${files['weights.bin'].byteLength} bytes, max |logit difference| ${maxDiff(got, want).toExponential(2)} (${rel.toExponential(2)} of the largest logit)`,
        );
        expect(rel).toBeLessThan(dtype === 'uint8' ? 0.1 : 2e-3);
        tf.dispose([x]);
        for (const m of [model, stock, ours]) m.dispose();
      }, 60_000);
    }
  }

  it('every zoo name in deploy form round-trips through uint8 (stock load, each weight within half a step)', async () => {
    for (const name of listModels()) {
      const opts = smallOptions(name);
      const model = createModel(name, { ...opts, form: 'deploy', seed: 11 }) as tf.LayersModel;
      const files = await modelFolderFilesOf(model, { quantize: 'uint8' });
      const { weights } = manifestOf(files);
      expect(
        weights.every((w) => w.quantization?.dtype === 'uint8'),
        name,
      ).toBe(true);
      const stock = await stockLoad(files);
      expectWithinStep(model, stock, weights);
      const x = tf.randomUniform(
        [1, opts.inputSize as number, opts.inputSize as number, 3],
        -1,
        1,
        'float32',
        5,
      );
      const rel = relativeError(logitsOf(stock, x), logitsOf(model, x));
      expect(rel, name).toBeLessThan(0.2);
      tf.dispose(x);
      model.dispose();
      stock.dispose();
      await breathe();
    }
  }, 120_000);
});

describe('quantized manifests that cannot be read are refused naming the weight', () => {
  async function savedUint8(label: string) {
    const dir = join(root, label);
    const model = createModel('simplenet', { ...smallOptions('simplenet'), seed: 1 });
    await (model as tf.LayersModel).save(fileSystem(dir, { quantize: 'uint8' }));
    model.dispose();
    const json = join(dir, 'model.json');
    const artifacts = JSON.parse(readFileSync(json, 'utf8')) as tf.io.ModelJSON;
    const entries = artifacts.weightsManifest[0]!.weights as unknown as Entry[];
    return { dir, json, artifacts, entries, bin: join(dir, 'weights.bin') };
  }

  it('a uint8 entry without a scale, or with a min that is not a number', async () => {
    const { dir, json, artifacts, entries } = await savedUint8('no-scale');
    const victim = entries[1]!;
    delete victim.quantization?.scale;
    writeFileSync(json, JSON.stringify(artifacts));
    await expect(loadLayersModelFile(dir)).rejects.toThrow(
      `fileSystem: '${json}' quantizes the weight '${victim.name}' as uint8 without a finite 'scale' (it holds none)`,
    );
    (victim.quantization as { scale: unknown }).scale = 0.5;
    (victim.quantization as { min: unknown }).min = '-1';
    writeFileSync(json, JSON.stringify(artifacts));
    await expect(loadLayersModelFile(dir)).rejects.toThrow(
      `quantizes the weight '${victim.name}' as uint8 without a finite 'min' (it holds "-1")`,
    );
  });

  it('a float32 weights.bin under a uint8 manifest, and a cut one, name the weight where they part', async () => {
    const { dir, json, artifacts, entries, bin } = await savedUint8('sizes');
    const stored = readFileSync(bin);
    writeFileSync(bin, Buffer.concat([stored, stored, stored, stored]));
    await expect(loadLayersModelFile(dir)).rejects.toThrow(
      `lists ${stored.length} (${stored.length * 3} bytes too many): it is not the weights file this model.json was saved with; the data goes on after the last weight '${entries.at(-1)?.name}'`,
    );
    writeFileSync(bin, stored.subarray(0, 3));
    expect(entries[0]!.shape.reduce((p, d) => p * d, 1)).toBeGreaterThan(3);
    await expect(loadLayersModelFile(dir)).rejects.toThrow(
      `(${stored.length - 3} bytes missing: truncated?); the data ends inside the weight '${entries[0]!.name}'`,
    );
    expect(json).toContain(dir);
    expect(artifacts.weightsManifest).toHaveLength(1);
  });

  it('weights float16 cannot hold, and non-finite weights, are refused by name when saving', async () => {
    const model = createModel('simplenet', {
      ...smallOptions('simplenet'),
      seed: 2,
    }) as tf.LayersModel;
    const target = model.weights[0]!;
    const values = target.read().dataSync().slice();
    values[2] = 1e6;
    target.write(tf.tensor(values, target.shape as number[]));
    const saved = (target as unknown as { originalName?: string }).originalName ?? target.name;
    await expect(modelFolderFilesOf(model, { quantize: 'float16' })).rejects.toThrow(
      `quantize: the weight '${saved}' holds 1000000 (value 2 of ${values.length}), beyond float16's largest value 65504: use uint8, or keep float32`,
    );
    // uint8 stretches its grid to hold it.
    await expect(modelFolderFilesOf(model, { quantize: 'uint8' })).resolves.toBeDefined();
    values[2] = Number.NaN;
    target.write(tf.tensor(values, target.shape as number[]));
    await expect(modelFolderFilesOf(model, { quantize: 'uint8' })).rejects.toThrow(
      `quantize: the weight '${saved}' holds NaN (value 2 of ${values.length}), which uint8 cannot store`,
    );
    await expect(
      modelFolderFilesOf(model, { quantize: 'int4' as WeightQuantization }),
    ).rejects.toThrow(
      "quantize: 'int4' is not a weight quantization; expected one of uint8, float16",
    );
    model.dispose();
  });
});
