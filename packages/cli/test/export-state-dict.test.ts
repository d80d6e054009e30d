/**
 * `repnets export state-dict`: a saved RepNets model as the PyTorch state dict
 * toStateDict gives in-process, the bytes PyTorch would load, and one-line
 * errors for flags that do not belong.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, importStateDict, toStateDict } from '@repnets/blocks';
import { readSafetensors } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'export-state-dict');
const run = join(dir, 'run');

describe('repnets export state-dict', () => {
  let net: tf.LayersModel;
  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(run, { recursive: true });
    await tf.setBackend('cpu');
    // As `repnets train` leaves it: a run folder with the train form in train/.
    net = createModel('mobileone_s0', { numClasses: 4, inputSize: 32, stemStride: 1, seed: 5 });
    await net.save(`file://${join(run, 'train')}`);
  });
  afterAll(() => {
    net.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes what toStateDict gives, in either layout and form, and it loads back', async () => {
    for (const [layout, form] of [
      ['timm', 'train'],
      ['official', 'deploy'],
    ] as const) {
      const out = join(dir, `${layout}-${form}.safetensors`);
      const r = await repnets(
        'export',
        'state-dict',
        run,
        '--out',
        out,
        '--layout',
        layout,
        '--form',
        form,
        '--json',
      );
      expect(r.err).not.toMatch(/repnets:/);
      expect(r.code).toBe(0);
      const want = toStateDict(net, { layout, form });
      expect(json(r.out)).toMatchObject({ format: 'state-dict', layout, form, tensors: want.size });
      const file = readSafetensors(readFileSync(out));
      expect(file.metadata).toEqual({ format: 'pt' });
      expect([...file.tensors.keys()]).toEqual([...want.keys()]);
      const bytes = (d: Float32Array | Float64Array) =>
        Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      const differ = [...want].filter(([key, t]) => {
        const got = file.tensors.get(key);
        return got?.shape.join() !== t.shape.join() || !bytes(got.data).equals(bytes(t.data));
      });
      expect(differ.map(([key]) => key)).toEqual([]);
      const back = importStateDict(file.tensors, {
        form,
        model: 'mobileone_s0',
        inputSize: 32,
        stemStride: 1,
      });
      expect(back.form).toBe(form);
      back.model.dispose();
    }
  }, 240_000);

  it('refuses flags of other formats and bad values in one line', async () => {
    const out = join(dir, 'x.safetensors');
    const layout = await repnets('export', 'state-dict', run, '--out', out, '--layout', 'keras');
    expect(layout.code).toBe(2);
    expect(layout.err).toMatch(/^repnets: export: --layout must be timm or official, got 'keras'/);
    const noOut = await repnets('export', 'state-dict', run);
    expect(noOut.code).toBe(2);
    expect(noOut.err).toMatch(/^repnets: export: --out FILE\.safetensors is required/);
    const onnx = await repnets('export', 'onnx', run, '--out', out, '--layout', 'timm');
    expect(onnx.code).toBe(2);
    expect(onnx.err).toMatch(/^repnets: export: --layout is for state-dict, not onnx/);
  });
});
