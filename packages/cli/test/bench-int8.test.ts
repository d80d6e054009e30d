/**
 * `repnets bench --int8`: the deploy form in float32 and int8 side by side,
 * calibrated and evaluated on MNIST digits, end to end in a child process;
 * and the flag mistakes, refused in one line before any work.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, fileSystem } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, UsageError } from '../src/index.js';
import { json, repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'bench-int8');
const model = join(dir, 'train');
const rgb = join(dir, 'rgb');

beforeAll(async () => {
  // Importing the CLI registers the wasm backend; this process needs none of it.
  await tf.setBackend('cpu');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const opts = { widthMultipliers: [0.25, 0.25], inputSize: 28, numClasses: 10, seed: 3 };
  const m = createModel('simplenet', { ...opts, channels: 1 });
  await m.save(fileSystem(model));
  m.dispose();
  const c = createModel('simplenet', { ...opts, channels: 3 });
  await c.save(fileSystem(rgb));
  c.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Both forms on TF.js's wasm backend alone, the fewest timed runs bench takes. */
const QUICK = ['--backend', 'wasm', '--runs', '10', '--runtime', 'tfjs'];

describe('repnets bench --int8', () => {
  it('--json carries the int8 section: ORT rows, sizes, accuracy on the test digits, every layer', async () => {
    const r = await repnets(
      'bench',
      model,
      ...QUICK,
      '--int8',
      '--calib-dataset',
      'mnist',
      '--calib-size',
      '16',
      '--eval-dataset',
      'mnist',
      '--eval-size',
      '40',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const report = json(r.out);
    expect(report.runtimes).toBeUndefined();
    const q = report.int8;
    expect(q).toMatchObject({ method: 'minmax', reduceRange: false, calibrationImages: 16 });
    expect(q.onnxruntime.rows.length).toBeGreaterThanOrEqual(1);
    expect(q.onnxruntime.rows[0].threads).toBe(1);
    expect(q.sizes.onnxInt8).toBeLessThan(q.sizes.onnxFp32);
    expect(q.sizes.tfjsUint8 * 4).toBe(q.sizes.tfjsFloat32);
    // The same 40 test digits, prepared the same way, as the deploy form's own accuracy.
    expect(q.accuracy.images).toBe(40);
    expect(q.accuracy.tfjsFloat32).toBe(report.deploy.accuracy);
    expect(Math.abs(q.accuracy.onnxFp32 - q.accuracy.tfjsFloat32)).toBeLessThanOrEqual(1 / 40);
    expect(q.accuracy.int8Agreement).toBeGreaterThan(0);
    expect(q.layers.length).toBe(4);
    const out = join(dir, 'report');
    const human = await repnets(
      'bench',
      model,
      ...QUICK,
      '--int8',
      '--calib-dataset',
      'mnist',
      '--calib-size',
      '16',
      '--method',
      'percentile',
      '--reduce-range',
      '--out',
      out,
    );
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(
      /int8: weights per channel \(7-bit, reduce range\), activations percentile on 16 calibration images; 4 layers int8, 0 float/,
    );
    expect(human.out).toMatch(/int8 QDQ \.onnx\s+1\s/);
    expect(human.out).toMatch(/lowest SQNR, 3 of 4 int8 layers/);
    expect(human.out).toMatch(/accuracy needs labelled data: these images had no labels/);
    expect(human.out).toMatch(
      /^fp32 vs int8: int8 top-1 = fp32 top-1 on \d+ of 32 images \| \.onnx /m,
    );
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch('## float32 vs int8');
    expect(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')).int8.method).toBe(
      'percentile',
    );
  });

  it('--eval-dataset alone gives both forms top-1 on the test digits, and no int8 section', async () => {
    const r = await repnets(
      'bench',
      model,
      ...QUICK,
      '--eval-dataset',
      'mnist',
      '--eval-size',
      '20',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    const report = json(r.out);
    expect(report.dataset).toBe('mnist/test[20]');
    expect(report.int8).toBeUndefined();
    // Accuracy over 20 digits: a whole number of them.
    for (const form of ['train', 'deploy']) {
      expect(Number.isInteger(report[form].accuracy * 20), form).toBe(true);
    }
  });

  it('refuses flag mistakes in one line naming the flag, before any work', async () => {
    const bench = COMMANDS.find((c) => c.name === 'bench')!;
    for (const [args, message] of [
      [
        ['--int8'],
        /^bench: --int8 needs --calib \(a folder of images, or one of mnist, cifar10, cifar100\)/,
      ],
      [['--method', 'mse'], /^bench: --method goes with --int8$/],
      [['--reduce-range'], /^bench: --reduce-range goes with --int8$/],
      [['--calib-dataset', 'mnist'], /^bench: --calib-dataset goes with --int8$/],
      [['--calib', dir], /^bench: --calib goes with --int8$/],
      [
        ['--int8', '--calib', dir, '--calib-dataset', 'mnist'],
        /^bench: give --calib or --calib-dataset, not both$/,
      ],
      [['--calib-size', '8'], /^bench: --calib-size goes with --int8$/],
      [['--percentile', '99.9'], /^bench: --percentile goes with --int8$/],
      [
        ['--int8', '--calib', 'mnist', '--percentile', '99.9'],
        /^bench: --percentile goes with --method percentile$/,
      ],
      [
        ['--int8', '--calib-dataset', 'mnist', '--method', 'kl'],
        /^bench: --method must be one of minmax, percentile, mse; got 'kl'$/,
      ],
      [['--int8', '--calib-dataset', 'imagenet'], /^bench: --calib-dataset must be one of/],
      [['--eval-size', '10'], /^bench: --eval-size goes with --eval-dataset$/],
      [['--data-dir', dir], /^bench: --data-dir goes with --eval-dataset or --calib$/],
      [['--eval-dataset', 'svhn'], /^bench: --eval-dataset must be one of/],
    ] as const) {
      const run = bench.run([join(dir, 'nowhere'), ...args]);
      await expect(run, args.join(' ')).rejects.toThrow(UsageError);
      await expect(run, args.join(' ')).rejects.toThrow(message);
    }
  });

  it('refuses a data set whose images the model cannot take, naming both', async () => {
    const r = await repnets(
      'bench',
      rgb,
      '--backend',
      'wasm',
      '--runtime',
      'tfjs',
      '--int8',
      '--calib-dataset',
      'mnist',
      '--calib-size',
      '8',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /bench: '.*rgb' takes 3-channel images, mnist has 1; calibrate on the data set it was trained on/,
    );
  });
});
