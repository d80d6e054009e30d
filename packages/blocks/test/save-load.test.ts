import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, fileSystem, reparameterize } from '../src/index.js';
import { randomizeBatchNorm } from './helpers/random-bn.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'repnets-save-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 4);
const out = (m: tf.LayersModel) => Array.from((m.predict(x) as tf.Tensor).dataSync());

async function trained(name: 'simplenet' | 'repvgg_b1g2' | 'mobileone_s0') {
  const opts = name === 'simplenet' ? {} : { widthMultipliers: [0.25, 0.25, 0.25, 0.25] };
  const model = createModel(name, { numClasses: 10, inputSize: 16, ...opts });
  randomizeBatchNorm(model, 8);
  return model;
}

describe('save and load through file://', () => {
  it('train form round-trips with identical outputs and block classes', async () => {
    const model = await trained('mobileone_s0');
    await model.save(`file://${root}/train`);
    const loaded = await tf.loadLayersModel(`file://${root}/train/model.json`);
    expect(loaded.layers.map((l) => l.getClassName())).toEqual(
      model.layers.map((l) => l.getClassName()),
    );
    expect(out(loaded)).toEqual(out(model));
    // Still foldable after loading.
    const { folded } = await reparameterize(loaded);
    expect(folded.length).toBeGreaterThan(0);
  });

  it('deploy form round-trips with identical outputs', async () => {
    const { model: deploy } = await reparameterize(await trained('simplenet'));
    await deploy.save(`file://${root}/deploy`);
    const loaded = await tf.loadLayersModel(`file://${root}/deploy`);
    expect(out(loaded)).toEqual(out(deploy));
  });

  it('a groups == 1 deploy model loads in a process that has only stock TF.js', async () => {
    const { model: deploy } = await reparameterize(await trained('mobileone_s0'));
    await deploy.save(fileSystem(join(root, 'stock')));
    const classes = new Set(deploy.layers.map((l) => l.getClassName()));
    expect([...classes].sort()).toEqual(
      [
        'Conv2D',
        'Dense',
        'DepthwiseConv2D',
        'GlobalAveragePooling2D',
        'InputLayer',
        'ZeroPadding2D',
      ].sort(),
    );
    writeFileSync(join(root, 'x.json'), JSON.stringify(Array.from(x.dataSync())));
    // No @repnets import in the child: only @tensorflow/tfjs and the files.
    const script = `
      const tf = require('@tensorflow/tfjs');
      const fs = require('fs');
      const dir = ${JSON.stringify(join(root, 'stock'))};
      const json = JSON.parse(fs.readFileSync(dir + '/model.json', 'utf8'));
      const bin = fs.readFileSync(dir + '/weights.bin');
      const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
      tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }))
        .then((m) => {
          const x = tf.tensor(JSON.parse(fs.readFileSync(${JSON.stringify(join(root, 'x.json'))}, 'utf8')), [2, 16, 16, 3]);
          process.stdout.write(JSON.stringify(Array.from(m.predict(x).dataSync())));
        });
    `;
    const stdout = execFileSync(process.execPath, ['-e', script], {
      cwd: join(here, '..'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const theirs = JSON.parse(stdout) as number[];
    const ours = out(deploy);
    expect(theirs).toHaveLength(ours.length);
    const worst = theirs.reduce((m, v, j) => Math.max(m, Math.abs(v - ours[j]!)), 0);
    expect(worst).toBeLessThan(1e-5);
  });

  it('a grouped deploy model (GroupConv2D) loads once @repnets/blocks is imported', async () => {
    const { model: deploy } = await reparameterize(await trained('repvgg_b1g2'));
    expect(deploy.layers.some((l) => l.getClassName() === 'GroupConv2D')).toBe(true);
    await deploy.save(`file://${root}/grouped`);
    const loaded = await tf.loadLayersModel(`file://${root}/grouped`);
    expect(out(loaded)).toEqual(out(deploy));
  });

  it('missing, corrupt or truncated files give errors that name the file', async () => {
    await expect(tf.loadLayersModel(fileSystem(join(root, 'nope')))).rejects.toThrow(
      /cannot read .*nope\/model\.json/,
    );
    const model = await trained('simplenet');
    await model.save(`file://${root}/broken`);
    const bin = join(root, 'broken', 'weights.bin');
    truncateSync(bin, 100);
    await expect(tf.loadLayersModel(`file://${root}/broken`)).rejects.toThrow(
      /broken\/weights\.bin' has 100 bytes, but the weights manifest of '.*broken\/model\.json' lists \d+ \(\d+ bytes missing: truncated\?\)/,
    );
    writeFileSync(join(root, 'broken', 'model.json'), '{ not json');
    await expect(tf.loadLayersModel(`file://${root}/broken`)).rejects.toThrow(
      /broken\/model\.json is not valid JSON/,
    );
    expect(readFileSync(bin).byteLength).toBe(100);
  });

  it('a model.json that is not an object, or a malformed manifest, is refused naming the file', async () => {
    const dir = join(root, 'odd');
    const json = join(dir, 'model.json');
    await (await trained('simplenet')).save(`file://${dir}`);
    const good = readFileSync(json, 'utf8');
    for (const [text, why] of [
      ['null', /odd\/model\.json is not a TF\.js model\.json \(it holds null\)/],
      ['[1, 2]', /odd\/model\.json is not a TF\.js model\.json \(it holds an array\)/],
      [
        JSON.stringify({ ...JSON.parse(good), weightsManifest: [null] }),
        /odd\/model\.json: 'weightsManifest' must be an array of/,
      ],
    ] as const) {
      writeFileSync(json, text);
      await expect(tf.loadLayersModel(`file://${dir}`), text.slice(0, 20)).rejects.toThrow(why);
    }
  });

  it('weights paths in a manifest stay inside the model folder: ../ and absolute paths are never read', async () => {
    const dir = join(root, 'escape');
    const json = join(dir, 'model.json');
    await (await trained('simplenet')).save(`file://${dir}`);
    const artifacts = JSON.parse(readFileSync(json, 'utf8'));
    // A file that exists and has enough bytes, so that only the path rule can refuse it.
    const outside = join(root, 'outside.bin');
    writeFileSync(outside, new Uint8Array(readFileSync(join(dir, 'weights.bin')).byteLength));
    for (const path of ['../outside.bin', outside, 'sub/../../outside.bin']) {
      artifacts.weightsManifest[0].paths = [path];
      writeFileSync(json, JSON.stringify(artifacts));
      await expect(tf.loadLayersModel(`file://${dir}`), path).rejects.toThrow(
        /names the weights file .* which is outside the model's folder/,
      );
    }
  });
});
