/**
 * `repnets classify MODEL IMAGE...`: the answer `classify` gives in-process
 * on the same pixels, one-line errors for what is missing or wrong.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { classify, createModel, fromPretrained, toStateDict } from '@repnets/blocks';
import { writeSafetensors } from '@repnets/fuse';
import { parsePretrainedCfg } from '@repnets/fuse/image';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'classify');

/** An 8-bit RGB PNG of `pixels` (no filtering; the decoder is the point, not the size). */
function png(width: number, height: number, pixels: Uint8Array): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, no filter method, no interlace
  const rows = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    rows.set(pixels.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const width = 21;
const height = 15;
const pixels = Uint8Array.from(
  { length: width * height * 3 },
  (_, i) => (i * 37 + (i % 3) * 90) % 256,
);
const image = { data: pixels, width, height, channels: 3 as const };
const cfgJson = { input_size: [3, 8, 8], crop_pct: 1, interpolation: 'bilinear' };

describe('repnets classify', () => {
  const model = join(dir, 'model');
  const picture = join(dir, 'picture.png');

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    await tf.setBackend('cpu');
    const net = createModel('simplenet', { numClasses: 3, inputSize: 8, seed: 2 });
    await net.save(`file://${model}`);
    net.dispose();
    writeFileSync(picture, png(width, height, pixels));
    writeFileSync(join(dir, 'labels.txt'), 'cat\ndog\nfox\n');
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        pretrained_cfg: { input_size: [3, 8, 8], crop_pct: 1, interpolation: 'bilinear' },
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints what classify gives in-process, with labels and a config.json', async () => {
    const net = await tf.loadLayersModel(`file://${join(model, 'model.json')}`);
    const config = parsePretrainedCfg(cfgJson);
    const labels = ['cat', 'dog', 'fox'];
    const want = await classify(net, image, { topK: 2, labels, config });
    const wantDefault = await classify(net, image, { topK: 2 });
    net.dispose();

    const args = ['--top-k', '2', '--backend', 'cpu'];
    const r = await repnets(
      'classify',
      model,
      picture,
      ...args,
      '--json',
      '--labels',
      join(dir, 'labels.txt'),
      '--config',
      join(dir, 'config.json'),
    );
    expect(r.err).not.toMatch(/repnets:/);
    expect(r.code).toBe(0);
    expect(json(r.out)).toEqual([{ image: picture, classes: want }]);
    // Another config gives other numbers, so the comparison above can fail.
    expect(wantDefault.map((c) => c.probability)).not.toEqual(want.map((c) => c.probability));

    const human = await repnets('classify', model, picture, ...args);
    expect(human.code).toBe(0);
    expect(human.out.split('\n').slice(1, 4)).toEqual([
      picture,
      ...wantDefault.map((c) => `  ${c.probability.toFixed(4)}  class ${c.index} (${c.index})`),
    ]);
  });

  it('names what is missing or wrong in one line', async () => {
    const missing = await repnets('classify', model, join(dir, 'none.png'), '--backend', 'cpu');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/^repnets: .*none\.png/);
    const topK = await repnets('classify', model, picture, '--top-k', '0');
    expect(topK.code).toBe(2);
    expect(topK.err).toMatch(/^repnets: classify: --top-k must be an integer >= 1, got '0'/);
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({ pretrained_cfg: { input_size: [224, 224] } }),
    );
    const cfg = await repnets('classify', model, picture, '--config', join(dir, 'bad.json'));
    expect(cfg.code).toBe(1);
    expect(cfg.err).toMatch(
      /^repnets: parsePretrainedCfg: argument 'input_size' must be \[channels, height, width\]/,
    );
  });

  it('takes pretrained weights: a folder laid out like a hub repo, with its config and names', async () => {
    const repo = join(dir, 'repo');
    mkdirSync(repo, { recursive: true });
    const net = createModel('simplenet', { numClasses: 3, inputSize: 8, seed: 6 });
    writeFileSync(
      join(repo, 'model.safetensors'),
      writeSafetensors(toStateDict(net, { layout: 'timm' })),
    );
    net.dispose();
    writeFileSync(
      join(repo, 'config.json'),
      JSON.stringify({
        architecture: 'simplenet',
        num_classes: 3,
        pretrained_cfg: cfgJson,
        label_names: ['ant', 'bee', 'cow'],
      }),
    );
    const p = await fromPretrained(repo, { form: 'deploy' });
    const want = await classify(p.model, image, { topK: 3, config: p.config, labels: p.labels });
    p.model.dispose();
    const r = await repnets(
      'classify',
      repo,
      picture,
      '--top-k',
      '3',
      '--backend',
      'cpu',
      '--json',
    );
    expect(r.err).not.toMatch(/repnets:/);
    expect(r.code).toBe(0);
    expect(json(r.out)).toEqual([{ image: picture, classes: want }]);
    expect(want.map((c) => c.label).sort()).toEqual(['ant', 'bee', 'cow']);
    const none = await repnets('classify', join(dir, 'no-such-model'), picture);
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/^repnets: no TF\.js model at '[^']*no-such-model'/);
  });
});
