/**
 * `repnets train --pretrained FILE`: the run starts from the checkpoint's
 * weights (its architecture found from the keys when --model is left out), a
 * new head when the data has another class count, and the frozen backbone
 * ends with exactly the checkpoint's weights.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, toStateDict } from '@repnets/blocks';
import { writeSafetensors } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'train-pretrained');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = ['--train-size', '64', '--test-size', '32', '--epochs', '1', '--batch-size', '32'];
const wasm = ['--backend', 'wasm', '--workers', '1'];

describe('repnets train --pretrained', () => {
  it('starts from the checkpoint, with a new head for the data, its frozen backbone unchanged', async () => {
    await tf.setBackend('cpu');
    // A 7-class network on MNIST's 28x28 grey digits, saved as timm would save it.
    const source = createModel('simplenet', {
      numClasses: 7,
      inputSize: 28,
      channels: 1,
      stemStride: 1,
      seed: 4,
    });
    const file = join(dir, 'simplenet.safetensors');
    writeFileSync(file, writeSafetensors(toStateDict(source, { layout: 'timm' })));
    const out = join(dir, 'run');
    const flags = ['--pretrained', file, '--model', 'simplenet', '--freeze', 'backbone'];
    const r = await repnets('train', ...tiny, ...wasm, ...flags, '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      /pretrained: .*simplenet\.safetensors \(simplenet, timm-repvgg layout\), a new 10-class head \(the checkpoint's has 7\)/,
    );
    const trained = await tf.loadLayersModel(`file://${join(out, 'train', 'model.json')}`);
    const blockWeights = (m: tf.LayersModel) =>
      m.layers
        .filter((l) => l.name !== 'head_fc')
        .flatMap((l) => l.getWeights().map((w) => w.dataSync()));
    expect(blockWeights(trained)).toEqual(blockWeights(source));
    expect(trained.outputs[0]?.shape).toEqual([null, 10]);
    trained.dispose();
    source.dispose();
  }, 180_000);

  it('refuses an empty flag, and names a checkpoint that matches no architecture', async () => {
    const empty = await repnets('train', '--pretrained', '');
    expect(empty.code).toBe(2);
    expect(empty.err).toMatch(/^repnets: train: --pretrained must not be empty/);
    const odd = join(dir, 'odd.safetensors');
    writeFileSync(odd, writeSafetensors({ 'w.weight': { shape: [2], data: [1, 2] } }));
    const r = await repnets('train', '--pretrained', odd, ...tiny, '--out', join(dir, 'odd'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(
      /^repnets: train: --pretrained '[^\n]*odd\.safetensors': [^\n]*no recognizable layout/,
    );
  }, 60_000);
});
