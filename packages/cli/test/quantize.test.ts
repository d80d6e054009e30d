/**
 * `repnets quantize`: a deploy-form model calibrated on MNIST digits, written
 * as int8 ONNX that onnxruntime runs close to the TF.js model; and the refusals.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, fileSystem } from '@repnets/blocks';
import { decodeOnnx } from '@repnets/blocks/onnx';
import { batches, namedDataset } from '@repnets/train';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, UsageError } from '../src/index.js';
import { saturationWarning } from '../src/quantize.js';
import { json, repnets } from './helpers/cli.js';
import { oneLine } from './helpers/files.js';

const dir = join(import.meta.dirname, '.tmp', 'quantize');
const deploy = join(dir, 'deploy');
const train = join(dir, 'train');
const opts = { widthMultipliers: [0.25, 0.25], inputSize: 28, channels: 1, numClasses: 10 };

beforeAll(async () => {
  // Importing @repnets/train registers the wasm backend; this process needs none of it.
  await tf.setBackend('cpu');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const d = createModel('simplenet', { ...opts, form: 'deploy', seed: 3 });
  await d.save(fileSystem(deploy));
  d.dispose();
  const t = createModel('simplenet', { ...opts, seed: 3 });
  await t.save(fileSystem(train));
  t.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('repnets quantize', () => {
  it('writes an int8 QDQ model calibrated on MNIST that onnxruntime runs close to TF.js', async () => {
    const out = join(dir, 'm.int8.onnx');
    const r = await repnets(
      'quantize',
      deploy,
      '--calib-dataset',
      'mnist',
      '--calib-size',
      '32',
      '--reduce-range',
      '--out',
      out,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(
      /^wrote .*m\.int8\.onnx \(\d+ bytes\): 4 layers int8, 0 float, minmax calibration on 32 mnist images$/m,
    );
    expect(r.err).toMatch(/lowest SQNR: \S+: weights [\d.]+ dB, input [\d.]+ dB/);
    const summary = json(r.out);
    expect(summary).toMatchObject({
      calibrationImages: 32,
      method: 'minmax',
      reduceRange: true,
      skipped: [],
    });
    expect(summary.layers).toHaveLength(4);
    for (const l of summary.layers) expect(l.weightSqnrDb).toBeGreaterThan(20);

    const bytes = readFileSync(out);
    expect(decodeOnnx(bytes).graph.node.map((n) => n.op_type)).toContain('QuantizeLinear');
    // MNIST test digits (the calibration came from the training split).
    const test = (await namedDataset({ dataset: 'mnist', testSize: 8 })).test;
    let x = new Float32Array(0);
    for await (const b of batches(test, { batchSize: 8 })) x = Float32Array.from(b.images);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const got = (await session.run({ input: new ort.Tensor('float32', x, [8, 28, 28, 1]) })).output!
      .data as Float32Array;
    await session.release();
    const model = await tf.loadLayersModel(fileSystem(deploy));
    const want = tf.tidy(() =>
      (model.predict(tf.tensor4d(x, [8, 28, 28, 1])) as tf.Tensor).dataSync(),
    );
    model.dispose();
    let diff = 0;
    let scale = 0;
    for (const [i, v] of want.entries()) {
      diff = Math.max(diff, Math.abs(got[i]! - v));
      scale = Math.max(scale, Math.abs(v));
    }
    console.log(
      `repnets quantize: simplenet on MNIST calibration, max |logit error| / max |logit| ${(diff / scale).toExponential(2)}`,
    );
    expect(diff).toBeGreaterThan(0);
    expect(diff / scale).toBeLessThan(0.1);
  });

  it('refuses in one line: a train-form model, no data set, a data set of other channels, no --out', async () => {
    const out = join(dir, 'x.onnx');
    const trainForm = await repnets('quantize', train, '--calib-dataset', 'mnist', '--out', out);
    expect(oneLine(trainForm.err, trainForm.code)).toMatch(
      /^repnets: quantize: '.*train' is in train form; fold it first: repnets fuse .*train --out DEPLOY_DIR$/,
    );
    const noData = await repnets('quantize', deploy, '--out', out);
    expect(noData.code).toBe(2);
    expect(noData.err).toMatch(
      /^repnets: quantize: --calib is required: a folder of images, or a data set \(one of mnist, cifar10, cifar100\)/,
    );
    const noOut = await repnets('quantize', deploy, '--calib-dataset', 'mnist');
    expect(noOut.code).toBe(2);
    expect(noOut.err).toMatch(/^repnets: quantize: --out FILE\.onnx is required/);
    const badMethod = await repnets(
      'quantize',
      deploy,
      '--calib-dataset',
      'mnist',
      '--method',
      'kl',
      '--out',
      out,
    );
    expect(badMethod.code).toBe(2);
    expect(badMethod.err).toMatch(/--method must be one of minmax, percentile, mse; got 'kl'/);
    const noDir = await repnets('quantize', deploy, '--calib-dataset', 'cifar10', '--out', out);
    expect(oneLine(noDir.err, noDir.code)).toMatch(/cifar10' needs a data directory/);
  });
});

describe('repnets quantize --calib DIR', () => {
  const images = join(dir, 'calib-images');
  beforeAll(() => {
    // Nine PNGs in two levels (labels ignored): three fixtures, each copied three times.
    mkdirSync(join(images, 'more'), { recursive: true });
    const fixtures = join(import.meta.dirname, '..', '..', 'fuse', 'test', 'fixtures', 'image');
    for (const [i, name] of ['gray', 'rgb', 'rgba'].entries()) {
      for (const where of ['', 'more']) {
        copyFileSync(join(fixtures, `${name}.png`), join(images, where, `${name}-${i}.png`));
      }
      copyFileSync(join(fixtures, `${name}.png`), join(images, `${name}-copy.png`));
    }
  });

  it('calibrates on images of a folder, spread over its files, resized to the model', async () => {
    const out = join(dir, 'folder.int8.onnx');
    const r = await repnets(
      'quantize',
      deploy,
      '--calib',
      images,
      '--calib-size',
      '8',
      '--out',
      out,
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/^calibrating on 8 of the 9 images in .*calib-images$/m);
    expect(r.err).toMatch(/calibration on 8 images from .*calib-images$/m);
    expect(json(r.out)).toMatchObject({ calibFolder: images, calibrationImages: 8 });
    expect(readFileSync(out).length).toBeGreaterThan(0);
  });

  it('refuses in one line: neither a folder nor a name, a file, two sources, --data-dir with a folder', async () => {
    const q = COMMANDS.find((c) => c.name === 'quantize')!;
    const out = join(dir, 'never.onnx');
    for (const [args, message] of [
      [
        ['--calib', join(dir, 'nowhere')],
        /^quantize: --calib '.*nowhere' is neither a folder nor a data set name \(mnist, cifar10, cifar100\)$/,
      ],
      [
        ['--calib', join(images, 'rgb-1.png')],
        /^quantize: --calib '.*rgb-1\.png' is a file; give a folder of images or a data set name/,
      ],
      [
        ['--calib', images, '--calib-dataset', 'mnist'],
        /^quantize: give --calib or --calib-dataset, not both$/,
      ],
      [
        ['--calib', images, '--data-dir', dir],
        /^quantize: --data-dir goes with --calib cifar10\|cifar100, not a folder$/,
      ],
    ] as const) {
      const run = q.run([deploy, ...args, '--out', out]);
      await expect(run, args.join(' ')).rejects.toThrow(UsageError);
      await expect(run, args.join(' ')).rejects.toThrow(message);
    }
  });
});

describe('the saturation warning', () => {
  const cpu = (found: string[], avx2: boolean) => ({ found, avx2, note: '' });
  it('speaks on an AVX2 CPU without VNNI unless --reduce-range is given, and nowhere else', () => {
    expect(saturationWarning(false, cpu([], true))).toMatch(
      /^note: this CPU has AVX2 but no integer dot-product instructions \(VNNI\).*--reduce-range/,
    );
    expect(saturationWarning(true, cpu([], true))).toBeUndefined();
    expect(saturationWarning(false, cpu(['avx512_vnni'], true))).toBeUndefined();
    expect(saturationWarning(false, cpu([], false))).toBeUndefined();
    expect(saturationWarning(false, null)).toBeUndefined();
  });
});
