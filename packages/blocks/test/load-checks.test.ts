/**
 * Loading a model folder (file://, `loadLayersModelFile`) trusts nothing it
 * reads: every file must be a regular file and exactly what model.json says
 * it is, or loading stops with one line naming the file and what is wrong,
 * instead of hanging, reading a device forever, or building a model with
 * random or misread weights.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  makeSpecialFiles,
  runModuleInChild,
  SPECIAL_FILE_WORDS,
  type SpecialFiles,
} from '@repnets/devkit';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, loadLayersModelFile, reparameterize } from '../src/index.js';

const root = mkdtempSync(join(tmpdir(), 'repnets-load-checks-'));
const posix = process.platform !== 'win32';
let special: SpecialFiles | undefined;
afterAll(async () => {
  await special?.close();
  rmSync(root, { recursive: true, force: true });
});

/** A small saved train-form model: its folder, model.json text and weights bytes. */
async function saved(name: string): Promise<{ dir: string; json: string; bin: string }> {
  const dir = join(root, name);
  const model = createModel('simplenet', { numClasses: 3, inputSize: 8, seed: 1 });
  await model.save(`file://${dir}`);
  model.dispose();
  return { dir, json: join(dir, 'model.json'), bin: join(dir, 'weights.bin') };
}

const jsonOf = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe.skipIf(!posix)('files that are not regular files are refused, never read', () => {
  const BLOCKS = pathToFileURL(join(import.meta.dirname, '..', 'src', 'index.ts')).href;
  const cases: [string, string, string][] = [];

  beforeAll(async () => {
    special = await makeSpecialFiles(join(root, 'special'), 'model', '.json');
    // model.json itself, given by path.
    for (const [kind, path] of Object.entries(special.paths)) {
      cases.push([`model.json is ${kind}`, path, `'${path}' is ${SPECIAL_FILE_WORDS[kind]}`]);
    }
    // A model folder whose model.json is a FIFO; one whose model.json links to /dev/zero.
    const fifoDir = join(root, 'fifo-json');
    mkdirSync(fifoDir, { recursive: true });
    symlinkSync(special.paths.FIFO!, join(fifoDir, 'model.json'));
    cases.push(['a folder whose model.json is a FIFO', fifoDir, 'is a FIFO (named pipe)']);
    const zeroDir = join(root, 'zero-json');
    mkdirSync(zeroDir, { recursive: true });
    symlinkSync('/dev/zero', join(zeroDir, 'model.json'));
    cases.push(['a folder whose model.json links to /dev/zero', zeroDir, 'is a character device']);
    // A good model.json whose weights file is /dev/zero, a FIFO, a folder.
    for (const [kind, target] of [
      ['character device', '/dev/zero'],
      ['FIFO', special.paths.FIFO!],
      ['folder', special.paths.folder!],
    ] as const) {
      const { dir, bin } = await saved(`weights-${kind.replace(' ', '-')}`);
      rmSync(bin);
      symlinkSync(target, bin);
      cases.push([`weights.bin is a ${kind}`, dir, `'${bin}' is a`]);
    }
  });

  it('model.json or weights that are a device, a FIFO, a folder or a socket', async () => {
    // One child for every case, each printed as it finishes: a hang shows which case it was.
    const r = await runModuleInChild(
      `const { loadLayersModelFile } = await import(${JSON.stringify(BLOCKS)});
       const tf = await import('@tensorflow/tfjs');
       const { writeSync } = await import('node:fs');
       // Written at once (console.log to a pipe is buffered and lost when the child is killed).
       const say = (line) => writeSync(1, line + '\\n');
       await tf.setBackend('cpu');
       for (const [name, path] of ${JSON.stringify(cases.map(([n, p]) => [n, p]))}) {
         for (const load of [() => loadLayersModelFile(path), () => tf.loadLayersModel('file://' + path)]) {
           try { await load(); say(name + ' => loaded'); }
           catch (e) { say(name + ' => ' + String(e.message).split('\\n')[0]); }
         }
       }`,
      { timeoutMs: 60_000, cwd: join(import.meta.dirname, '..') },
    );
    const lines = r.stdout.trim().split('\n');
    expect(r.timedOut, `hung after:\n${r.stdout}`).toBe(false);
    expect(lines, r.stderr).toHaveLength(cases.length * 2);
    cases.forEach(([name, , words], i) => {
      for (const line of [lines[2 * i]!, lines[2 * i + 1]!]) {
        expect(line.startsWith(`${name} => fileSystem: `), line).toBe(true);
        expect(line, name).toContain(words);
        expect(line, name).toContain('not a regular file');
      }
    });
  }, 90_000);
});

describe('every file is what model.json says it is', () => {
  it('a weights file longer or shorter than its manifest is refused with both sizes', async () => {
    const { dir, bin } = await saved('sizes');
    const good = readFileSync(bin);
    writeFileSync(bin, Buffer.concat([good, Buffer.alloc(8)]));
    await expect(tf.loadLayersModel(`file://${dir}`)).rejects.toThrow(
      `fileSystem: '${bin}' has ${good.length + 8} bytes, but the weights manifest of '${join(dir, 'model.json')}' lists ${good.length} (8 bytes too many): it is not the weights file this model.json was saved with`,
    );
    writeFileSync(bin, good.subarray(0, good.length - 4));
    await expect(loadLayersModelFile(dir)).rejects.toThrow(
      `fileSystem: '${bin}' has ${good.length - 4} bytes, but the weights manifest of '${join(dir, 'model.json')}' lists ${good.length} (4 bytes missing: truncated?)`,
    );
  });

  it('sizes follow the dtype and quantization each manifest entry declares', async () => {
    const { dir, json, bin } = await saved('quantized');
    const artifacts = jsonOf(json);
    const weights = artifacts.weightsManifest[0].weights as {
      shape: number[];
      quantization?: unknown;
    }[];
    // Stored as uint8 (scale 1, min 0): one byte per value, dequantized to float32 on load.
    for (const w of weights) w.quantization = { dtype: 'uint8', scale: 1, min: 0 };
    const count = weights.reduce((n, w) => n + w.shape.reduce((p, d) => p * d, 1), 0);
    writeFileSync(json, JSON.stringify(artifacts));
    writeFileSync(bin, new Uint8Array(count).fill(1));
    const model = await loadLayersModelFile(dir);
    expect(model.getWeights()[0]!.dataSync()[0]).toBe(1);
    model.dispose();
    writeFileSync(bin, new Uint8Array(count * 4));
    await expect(loadLayersModelFile(dir)).rejects.toThrow(/bytes too many/);
  });

  it('a manifest dtype other than the layer weights’ float32 is refused naming the weight', async () => {
    const { dir, json } = await saved('dtype');
    const artifacts = jsonOf(json);
    const entry = artifacts.weightsManifest[0].weights[2];
    for (const dtype of ['int32', 'bool', 'complex64', 'string', 'float64']) {
      entry.dtype = dtype;
      writeFileSync(json, JSON.stringify(artifacts));
      await expect(tf.loadLayersModel(`file://${dir}`), dtype).rejects.toThrow(
        `fileSystem: '${json}' gives the weight '${entry.name}' the dtype ${dtype}, but every layer weight is float32: the manifest was edited or written for another model`,
      );
    }
  });

  it('a model.json without a weights manifest is refused instead of loading random weights', async () => {
    const { dir, json } = await saved('no-manifest');
    const artifacts = jsonOf(json);
    delete artifacts.weightsManifest;
    writeFileSync(json, JSON.stringify(artifacts));
    const message = `fileSystem: '${json}' has no 'weightsManifest', so its layers would get random initial weights: save the model with model.save(), which writes model.json and weights.bin together`;
    await expect(tf.loadLayersModel(`file://${dir}`)).rejects.toThrow(message);
    await expect(loadLayersModelFile(json)).rejects.toThrow(message);
  });

  it('a graph model is refused where a layers model is expected, saying what loads it', async () => {
    const dir = join(root, 'graph');
    mkdirSync(dir, { recursive: true });
    const json = join(dir, 'model.json');
    writeFileSync(
      json,
      JSON.stringify({
        format: 'graph-model',
        modelTopology: { node: [{ name: 'x', op: 'Placeholder' }], versions: {} },
        weightsManifest: [{ paths: [], weights: [] }],
      }),
    );
    await expect(loadLayersModelFile(dir)).rejects.toThrow(
      `fileSystem: '${json}' is a TF.js graph model (format 'graph-model'), not a layers model: load it with tf.loadGraphModel; RepNets reads layers models (saved with model.save)`,
    );
    // Without a format field, the topology tells: a GraphDef has nodes, not layers.
    const unlabelled = jsonOf(json);
    delete unlabelled.format;
    writeFileSync(json, JSON.stringify(unlabelled));
    await expect(loadLayersModelFile(json)).rejects.toThrow(/is a TF\.js graph model/);
  });

  it('an unregistered layer class is named with how to register it', async () => {
    const { dir, json } = await saved('custom');
    const artifacts = jsonOf(json);
    const layer = artifacts.modelTopology.config.layers[1];
    layer.class_name = 'FancyBlock';
    writeFileSync(json, JSON.stringify(artifacts));
    const message = `fileSystem: '${json}': import the module that registers the layer class 'FancyBlock' (layer '${layer.config.name}') before loading (tf.serialization.registerClass); RepNets' own layers register on import '@repnets/blocks', and @repnets/train's worker threads import the modules listed in its workerModules option`;
    await expect(tf.loadLayersModel(`file://${dir}`)).rejects.toThrow(message);
    await expect(loadLayersModelFile(dir)).rejects.toThrow(message);
  });

  it('a good model still loads the same, train and deploy form', async () => {
    const model = createModel('simplenet', { numClasses: 3, inputSize: 8, seed: 2 });
    const { model: deploy } = await reparameterize(model);
    const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 3);
    for (const [name, m] of [
      ['good-train', model],
      ['good-deploy', deploy],
    ] as const) {
      await m.save(`file://${join(root, name)}`);
      const back = await loadLayersModelFile(join(root, name));
      expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).toEqual(
        Array.from((m.predict(x) as tf.Tensor).dataSync()),
      );
    }
  });
});
