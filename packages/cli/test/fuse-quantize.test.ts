/**
 * `repnets fuse ... --quantize uint8|float16`: the deploy folder it writes
 * stores its weights in the standard TF.js quantized manifest, 4x (2x)
 * smaller, and loads (stock TF.js decoding, RepNets' checks) to logits close
 * to the float32 fold of the same model, and counts as a whole saved model.
 * Flags in the wrong place are refused.
 */
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, loadLayersModelFile } from '@repnets/blocks';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { savedModelComplete } from '../src/run-folder.js';
import { json, officialCheckpoint, repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'fuse-quantize');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const train = join(dir, 'train');
const size = 16;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const model = createModel('repvgg_a0', {
    numClasses: 4,
    inputSize: size,
    widthMultipliers: [0.125, 0.125, 0.125, 0.125],
    seed: 4,
  });
  await model.save(`file://${train}`);
  model.dispose();
}, 60_000);

const manifest = (folder: string) =>
  (
    JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8')) as {
      weightsManifest: { weights: { name: string; quantization?: { dtype: string } }[] }[];
    }
  ).weightsManifest[0]!.weights;

describe('repnets fuse --quantize', () => {
  it('writes the folded model as float32, uint8 and float16; the quantized load close to float32', async () => {
    const outs = { float32: join(dir, 'f32'), uint8: join(dir, 'u8'), float16: join(dir, 'f16') };
    const plain = await repnets('fuse', train, '--from', 'repnets', '--out', outs.float32);
    expect(plain.code, plain.err).toBe(0);
    const x = tf.randomUniform([2, size, size, 3], -1, 1, 'float32', 1);
    const reference = await loadLayersModelFile(outs.float32);
    const want = (reference.predict(x) as tf.Tensor).dataSync();
    let largest = 0;
    for (const v of want) largest = Math.max(largest, Math.abs(v));
    const bytes = (folder: string) => statSync(join(folder, 'weights.bin')).size;
    for (const q of ['uint8', 'float16'] as const) {
      const r = await repnets(
        'fuse',
        train,
        '--from',
        'repnets',
        '--out',
        outs[q],
        '--quantize',
        q,
        '--json',
      );
      expect(r.code, r.err).toBe(0);
      expect(json(r.out).quantize).toBe(q);
      expect(r.err).toContain(`wrote ${outs[q]} (weights as ${q})`);
      const weights = manifest(outs[q]);
      expect(weights.length).toBeGreaterThan(0);
      expect(weights.every((w) => w.quantization?.dtype === q)).toBe(true);
      expect(bytes(outs[q]) * (q === 'uint8' ? 4 : 2)).toBe(bytes(outs.float32));
      // train --resume takes it for a whole saved model, not one to write again.
      expect(savedModelComplete(outs[q])).toBe(true);
      const loaded = await loadLayersModelFile(outs[q]);
      const got = (loaded.predict(x) as tf.Tensor).dataSync();
      let diff = 0;
      for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
      expect(largest).toBeGreaterThan(0);
      expect(diff / largest, q).toBeLessThan(q === 'uint8' ? 0.1 : 2e-3);
      loaded.dispose();
    }
    reference.dispose();
    x.dispose();
  }, 120_000);

  it('refuses a value it does not know and --quantize without a TF.js output; quantizes --tfjs', async () => {
    const bad = await repnets('fuse', train, '--out', join(dir, 'x'), '--quantize', 'int8');
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("fuse: --quantize must be one of uint8, float16; got 'int8'");
    const ckpt = join(dir, 'official.safetensors');
    officialCheckpoint(ckpt);
    const noTfjs = await repnets(
      'fuse',
      ckpt,
      '--out',
      join(dir, 'deploy.safetensors'),
      '--quantize',
      'uint8',
    );
    expect(noTfjs.code).toBe(2);
    expect(noTfjs.err).toContain(
      "fuse: --quantize uint8 is for the TF.js model of --tfjs DIR; the state dict's tensor type is --dtype f32|f16",
    );
    const tfjs = join(dir, 'from-official');
    const withTfjs = await repnets(
      'fuse',
      ckpt,
      '--out',
      join(dir, 'deploy.safetensors'),
      '--tfjs',
      tfjs,
      '--img-size',
      '32',
      '--quantize',
      'float16',
      '--json',
    );
    expect(withTfjs.code, withTfjs.err).toBe(0);
    expect(json(withTfjs.out).quantize).toBe('float16');
    expect(manifest(tfjs).every((w) => w.quantization?.dtype === 'float16')).toBe(true);
    expect(savedModelComplete(tfjs)).toBe(true);
    const onnx = await repnets(
      'export',
      'onnx',
      train,
      '--out',
      join(dir, 'm.onnx'),
      '--quantize',
      'uint8',
    );
    expect(onnx.code).toBe(2);
    expect(onnx.err).toContain('export: --quantize is for tfjs, not onnx');
  }, 120_000);
});
