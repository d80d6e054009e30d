/**
 * `repnets fuse` without --from reads what the checkpoint's name says it is
 * (a .safetensors state dict, layout from its keys; a RepNets model folder or
 * .json), refuses a name that says neither, and flags that a RepNets model
 * would ignore are refused rather than dropped.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createModel } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, officialCheckpoint, repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'fuse-from');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ckpt = join(dir, 'official.safetensors');
const trainModel = join(dir, 'train-model');

beforeAll(async () => {
  officialCheckpoint(ckpt);
  await tf.setBackend('cpu');
  const net = createModel('repvgg_compact', { numClasses: 3, inputSize: 16, channels: 1 });
  await net.save(`file://${trainModel}`);
  net.dispose();
}, 60_000);

describe('repnets fuse without --from', () => {
  it('folds a .safetensors state dict in the layout its keys have', async () => {
    const out = join(dir, 'deploy.safetensors');
    const r = await repnets('fuse', ckpt, '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    expect(json(r.out)).toMatchObject({ from: 'official', layout: 'official-repvgg' });
    expect(existsSync(out)).toBe(true);
  });

  it('folds a RepNets model folder, and its model.json', async () => {
    for (const [input, name] of [
      [trainModel, 'from-folder'],
      [join(trainModel, 'model.json'), 'from-json'],
    ] as const) {
      const out = join(dir, name);
      const r = await repnets('fuse', input, '--out', out);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^folded 5 blocks/);
      expect(existsSync(join(out, 'model.json'))).toBe(true);
    }
  });

  it('refuses a name that says neither, naming both choices', async () => {
    const r = await repnets('fuse', join(dir, 'model.pth'), '--out', join(dir, 'x.safetensors'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^repnets: fuse: cannot tell what '.*model\.pth' is from its name: pass --from timm\|official .* or --from repnets/,
    );
  });
});

describe('repnets fuse of a RepNets model', () => {
  it.each([
    [['--tfjs', 'x'], '--tfjs is'],
    [['--model', 'repvgg_a0'], '--model is'],
    [['--img-size', '32'], '--img-size is'],
    [['--dtype', 'f16'], '--dtype is'],
    [['--stem-stride', '1'], '--stem-stride is'],
    [['--tfjs', 'x', '--dtype', 'f16'], '--tfjs, --dtype are'],
  ])('refuses %j, which it would ignore', async (flags, named) => {
    const out = join(dir, `ignored-${flags.join('')}`);
    const r = await repnets('fuse', trainModel, '--from', 'repnets', '--out', out, ...flags);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`repnets: fuse: ${named} read only for a PyTorch state dict`);
    expect(existsSync(out)).toBe(false);
  });
});
