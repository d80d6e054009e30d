/**
 * fromPretrained against a local server laid out as the Hugging Face hub: a
 * timm-layout MobileOne-S0 checkpoint (written here by toStateDict from a
 * seeded zoo model) with its config.json, fetched into a temporary HF_HOME.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HubServer, startHubServer } from '@repnets/devkit';
import { writeSafetensors } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { classify, createModel, fromPretrained, toStateDict } from '../src/index.js';

const SIZE = 32;
const CONFIG = {
  architecture: 'mobileone_s0',
  num_classes: 3,
  pretrained_cfg: {
    input_size: [3, SIZE, SIZE],
    interpolation: 'bicubic',
    crop_pct: 0.9,
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
  },
  label_names: ['cat', 'dog', 'fox'],
};
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

let source: tf.LayersModel;
let weights: Uint8Array;
let server: HubServer;
let home = '';
const x = tf.randomUniform([2, SIZE, SIZE, 3], -1, 1, 'float32', 7);

beforeAll(async () => {
  source = createModel('mobileone_s0', { numClasses: 3, inputSize: SIZE, seed: 3 });
  weights = writeSafetensors(toStateDict(source, { layout: 'timm' }));
  server = await startHubServer({
    repos: {
      'timm/mobileone_s0.test': {
        'config.json': { bytes: json(CONFIG) },
        'model.safetensors': { bytes: weights, lfs: true },
      },
      'timm/mislabelled': {
        'config.json': { bytes: json({ ...CONFIG, architecture: 'mobileone_s1' }) },
        'model.safetensors': { bytes: weights, lfs: true },
      },
    },
  });
});
afterAll(async () => {
  await server.close();
  source.dispose();
  x.dispose();
});
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'repnets-pretrained-'));
  vi.stubEnv('HF_HOME', home);
  vi.stubEnv('HF_HUB_CACHE', '');
  vi.stubEnv('HF_ENDPOINT', server.hubUrl);
  vi.stubEnv('HF_HUB_OFFLINE', '');
  vi.stubEnv('HF_TOKEN', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(home, { recursive: true, force: true });
});

const logits = (m: tf.LayersModel) => (m.predict(x) as tf.Tensor).dataSync();

describe('fromPretrained', () => {
  it('builds the train form of a hub checkpoint with its logits, preprocessing and names', async () => {
    const p = await fromPretrained('timm/mobileone_s0.test', { progressBar: false });
    expect(p.form).toBe('train');
    expect(p.layout).toBe('timm-mobileone');
    expect(p.record.name).toBe('mobileone_s0');
    expect(p.source).toEqual({ id: 'timm/mobileone_s0.test', revision: 'a'.repeat(40) });
    expect(p.labels).toEqual(['cat', 'dog', 'fox']);
    expect(p.config).toMatchObject({
      inputSize: [3, SIZE, SIZE],
      cropPct: 0.9,
      interpolation: 'bicubic',
    });
    expect(p.model.inputs[0]?.shape).toEqual([null, SIZE, SIZE, 3]);
    expect(logits(p.model)).toEqual(logits(source));
    const pixels = {
      data: new Uint8Array(40 * 40 * 3).map((_, i) => (i * 13) % 256),
      width: 40,
      height: 40,
      channels: 3 as const,
    };
    const top = await classify(p.model, pixels, { topK: 3, config: p.config, labels: p.labels });
    expect(top.map((t) => t.label).sort()).toEqual(['cat', 'dog', 'fox']);
    p.model.dispose();
  });

  it('the deploy form, and offline from a warm cache with no server', async () => {
    const warm = await fromPretrained('timm/mobileone_s0.test', { progressBar: false });
    warm.model.dispose();
    vi.stubEnv('HF_ENDPOINT', 'http://127.0.0.1:9'); // nothing listens there
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const p = await fromPretrained('timm/mobileone_s0.test', { form: 'deploy' });
    expect(p.form).toBe('deploy');
    const got = logits(p.model);
    const want = logits(source);
    // A fresh zoo model's logits are large (unconditioned BN): compare relative to the largest.
    const scale = Math.max(...want.map(Math.abs));
    const worst = Math.max(...want.map((w, i) => Math.abs(w - got[i]!)));
    expect(worst / scale).toBeLessThan(1e-5);
    expect(got).not.toEqual(want); // the fold did run: float sums in another order
    p.model.dispose();
  });

  it('a local folder and a lone weights file; a new head for other classes', async () => {
    const dir = join(home, 'repo');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), json(CONFIG));
    writeFileSync(join(dir, 'model.safetensors'), weights);
    const folder = await fromPretrained(dir);
    expect(folder.source).toEqual({ id: dir });
    expect(logits(folder.model)).toEqual(logits(source));
    folder.model.dispose();
    const file = await fromPretrained(join(dir, 'model.safetensors'), { inputSize: SIZE });
    expect(file.config).toBeUndefined();
    expect(file.hubConfig).toBeUndefined();
    expect(file.labels).toBeUndefined();
    expect(logits(file.model)).toEqual(logits(source));
    file.model.dispose();
    const fresh = await fromPretrained(dir, { newHead: true, numClasses: 7 });
    expect(fresh.labels).toBeUndefined();
    expect(fresh.model.outputs[0]?.shape).toEqual([null, 7]);
    fresh.model.dispose();
  });

  it("a QARepVGG folder in the authors' layout (cxxgtxy/QARepVGG keys, config names the architecture)", async () => {
    const qa = createModel('qarepvgg_a0', { numClasses: 3, inputSize: SIZE, seed: 5 });
    const dir = join(home, 'qarepvgg');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), json({ ...CONFIG, architecture: 'qarepvgg_a0' }));
    writeFileSync(
      join(dir, 'model.safetensors'),
      writeSafetensors(toStateDict(qa, { layout: 'official' })),
    );
    const p = await fromPretrained(dir);
    expect(p.record.name).toBe('qarepvgg_a0');
    expect(p.layout).toBe('official-qarepvgg');
    expect(p.form).toBe('train');
    expect(logits(p.model)).toEqual(logits(qa));
    p.model.dispose();
    qa.dispose();
  });

  it('names the source and the problem in one line', async () => {
    await expect(fromPretrained('timm/mislabelled', { progressBar: false })).rejects.toThrow(
      /^fromPretrained\('timm\/mislabelled'\): [^\n]*mobileone_s0[^\n]*$/,
    );
    await expect(
      fromPretrained('timm/mobileone_s0.test', { progressBar: false, numClasses: 10 }),
    ).rejects.toThrow(/^fromPretrained\('timm\/mobileone_s0.test'\): [^\n]*3[^\n]*10/);
    await expect(fromPretrained('timm/nothing-here', { progressBar: false })).rejects.toThrow(
      /timm\/nothing-here/,
    );
  });
});
