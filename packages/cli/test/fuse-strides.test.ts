/**
 * A state dict stores no stride. `repnets fuse` and `info` say in one line when
 * the stem's stride was assumed (no published model matched, no --model), with
 * the fix; `--stem-stride 1` states it, for a network trained at 32 px with a
 * stride-1 stem, and the TF.js model is then the one modelFromStateDict builds
 * with `stemStride: 1` (checked against a float64 forward of the checkpoint in
 * packages/blocks/test/checkpoint-stem-stride.test.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelFromStateDict } from '@repnets/blocks';
import { rng } from '@repnets/devkit';
import { writeSafetensors } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, repnetsIn } from './helpers/cli.js';
import { oneLine } from './helpers/files.js';
import { archConfigAt, trainCheckpoint } from './helpers/torch-checkpoint.js';

const dir = join(import.meta.dirname, '.tmp', 'fuse-strides');
const SIZE = 32;
const CLASSES = 5;
const ASSUMED =
  /^repnets: fuse: strides are not stored in a state dict: assumed stem stride 2 \('[^']+' matches no published model\); pass --model NAME or --stem-stride 1 if it was trained with a stride-1 stem$/;

const fuse = (...args: string[]) => repnetsIn(dir, 'fuse', ...args);

/** A RepVGG-A0 at 1/8 width trained at 32 px with a stride-1 stem: no published model has it. */
const cifar = archConfigAt('repvgg_a0', {
  numClasses: CLASSES,
  inputSize: SIZE,
  stemStride: 1,
  widthMultipliers: [0.125, 0.125, 0.125, 0.125],
});
const sd = trainCheckpoint('timm-repvgg', cifar, { classes: CLASSES, seed: 13 });

beforeAll(() => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'cifar.safetensors'), writeSafetensors(Object.fromEntries(sd)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('repnets fuse of a state dict no published model matches', () => {
  it('without --stem-stride: with --json or --tfjs, one stderr line says the stem stride was assumed, with the fix', async () => {
    const r = await fuse('cifar.safetensors', '--from', 'timm', '--out', 'a.safetensors', '--json');
    expect(r.code, r.err).toBe(0);
    // Under --json the human lines go to stderr too: exactly one of them is this.
    expect(r.err.split('\n').filter((l) => /strides/.test(l))).toHaveLength(1);
    expect(r.err).toMatch(new RegExp(ASSUMED.source, 'm'));
    const report = json(r.out);
    expect(report.strides).toMatchObject({
      from: 'inferred',
      stemStride: 2,
      stemStrideFrom: 'assumed',
    });
    expect(report.blocks[0]).toMatchObject({ name: 'stem', stride: 2 });
    // With --tfjs too; without either, nothing written depends on strides: nothing said.
    const tfjs = await fuse(
      ...['cifar.safetensors', '--from', 'timm', '--out', 'a.safetensors', '--overwrite'],
      ...['--tfjs', 'a-tfjs', '--img-size', String(SIZE)],
    );
    expect(tfjs.code, tfjs.err).toBe(0);
    expect(oneLine(tfjs.err, 0)).toMatch(ASSUMED);
    const plain = await fuse('cifar.safetensors', '--from', 'timm', '--out', 'a.safetensors');
    expect(plain.code, plain.err).toBe(0);
    expect(plain.err).toBe('');
  });

  it('--stem-stride 1 --tfjs: no such line, and the model modelFromStateDict builds with stemStride 1', async () => {
    const r = await fuse(
      ...['cifar.safetensors', '--from', 'timm', '--out', 'b.safetensors', '--stem-stride', '1'],
      ...['--tfjs', 'b-tfjs', '--img-size', String(SIZE), '--json'],
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).not.toMatch(/strides/);
    const report = json(r.out);
    expect(report.strides).toMatchObject({
      from: 'inferred',
      stemStride: 1,
      stemStrideFrom: 'option',
    });
    expect(report.blocks.map((b: { stride: number }) => b.stride)).toEqual(
      cifar.blocks.map((b) => b.stride),
    );
    const model = await tf.loadLayersModel(`file://${join(dir, 'b-tfjs', 'model.json')}`);
    const mine = modelFromStateDict(sd, { stemStride: 1, inputSize: SIZE }).model;
    const g = rng(5);
    const x = tf.tensor4d(
      Float32Array.from({ length: 2 * SIZE * SIZE * 3 }, () => 2 * g() - 1),
      [2, SIZE, SIZE, 3],
    );
    const got = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
    const want = tf.tidy(() => (mine.predict(x) as tf.Tensor).dataSync());
    const stride2 = tf.tidy(() =>
      (modelFromStateDict(sd, { inputSize: SIZE }).model.predict(x) as tf.Tensor).dataSync(),
    );
    for (const m of [model, mine]) m.dispose();
    x.dispose();
    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let d = 0;
      for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
      return d;
    };
    expect(maxDiff(got, want)).toBeLessThanOrEqual(1e-6 * Math.max(...want.map(Math.abs)));
    // What it wrote before --stem-stride: another network.
    expect(maxDiff(stride2, want)).toBeGreaterThan(1e-3 * Math.max(...want.map(Math.abs)));
  });

  it('a published model, or --model NAME: no line (the record gives the strides); info says whose', async () => {
    const s0 = archConfigAt('mobileone_s0', { numClasses: CLASSES });
    writeFileSync(
      join(dir, 's0.safetensors'),
      writeSafetensors(
        Object.fromEntries(
          trainCheckpoint('official-mobileone', s0, { classes: CLASSES, seed: 13 }),
        ),
      ),
    );
    for (const extra of [[], ['--model', 'mobileone_s0']]) {
      const r = await fuse(
        ...['s0.safetensors', '--from', 'official', '--out', 's0-deploy.safetensors', ...extra],
      );
      expect(r.code, r.err).toBe(0);
      expect(r.err).toBe('');
    }
    const info = await repnetsIn(dir, 'info', 's0.safetensors');
    expect(info.out).toMatch(
      /^strides +those of the published mobileone_s0 \(stem 2\), as a state dict stores none; fuse with --stem-stride 1 if it was trained with a stride-1 stem$/m,
    );
  }, 120_000);

  it.each([['3'], ['1.5'], ['']])('--stem-stride %j is refused, naming the flag', async (v) => {
    const r = await fuse(
      'cifar.safetensors',
      '--from',
      'timm',
      '--out',
      'c.safetensors',
      '--stem-stride',
      v,
    );
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toMatch(/fuse: --stem-stride must be one of 1, 2; got/);
  });

  it('--stem-stride with --from repnets is refused: a RepNets model stores its strides', async () => {
    const r = await fuse('model.json', '--from', 'repnets', '--out', 'd', '--stem-stride', '1');
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toMatch(
      /fuse: --stem-stride is read only for a PyTorch state dict \(--from timm\|official\): a RepNets model stores its own architecture/,
    );
  });
});

describe('repnets info of a state dict', () => {
  it('says which strides were assumed, and how to state them', async () => {
    const r = await repnetsIn(dir, 'info', 'cifar.safetensors');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      /^strides +not stored in a state dict: assumed stem stride 2 \(no published model matches\); fuse with --model NAME or --stem-stride 1 if it was trained with a stride-1 stem$/m,
    );
    const j = json((await repnetsIn(dir, 'info', 'cifar.safetensors', '--json')).out);
    expect(j.strides).toMatchObject({ from: 'inferred', stemStrideFrom: 'assumed' });
  });
});
