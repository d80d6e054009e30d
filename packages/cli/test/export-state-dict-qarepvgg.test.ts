/**
 * `repnets export state-dict` of a QARepVGG: cxxgtxy/QARepVGG's layout
 * (`--layout official`) is what toStateDict gives in-process, and it reads
 * back as that layout; timm's, which has no QARepVGG, is refused in one line
 * saying so.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, toStateDict } from '@repnets/blocks';
import { detectLayout, readSafetensors } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'export-state-dict-qarepvgg');
const saved = join(dir, 'qarepvgg');

describe('repnets export state-dict of a QARepVGG', () => {
  let net: tf.LayersModel;
  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await tf.setBackend('cpu');
    // The model's name is its architecture: the CLI finds its record by it.
    net = createModel('qarepvgg_a0', { numClasses: 4, inputSize: 32, seed: 6 });
    await net.save(`file://${saved}`);
  });
  afterAll(() => {
    net.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("--layout official writes toStateDict's tensors in cxxgtxy/QARepVGG's keys", async () => {
    const out = join(dir, 'official.safetensors');
    const r = await repnets(
      'export',
      'state-dict',
      saved,
      '--out',
      out,
      '--layout',
      'official',
      '--json',
    );
    expect(r.err).not.toMatch(/repnets:/);
    expect(r.code).toBe(0);
    const want = toStateDict(net, { layout: 'official' });
    expect(json(r.out)).toMatchObject({ layout: 'official', form: 'train', tensors: want.size });
    const file = readSafetensors(readFileSync(out));
    expect([...file.tensors.keys()]).toEqual([...want.keys()]);
    expect(file.tensors.has('stage1.1.rbr_1x1.weight')).toBe(true);
    expect(detectLayout(file.tensors)).toBe('official-qarepvgg');
  }, 240_000);

  it('--layout timm (the default) is refused: timm has no QARepVGG', async () => {
    const r = await repnets('export', 'state-dict', saved, '--out', join(dir, 'timm.safetensors'));
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(
      /^repnets: toStateDict: 'qarepvgg_a0' is a QARepVGG: timm has no QARepVGG .*use layout 'official'/,
    );
  }, 240_000);
});
