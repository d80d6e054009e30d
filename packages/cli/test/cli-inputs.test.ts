/**
 * What the CLI reads, and what it says about it. Every input that is not a
 * regular file (a device, a FIFO, a folder where a file belongs, a socket) is
 * refused by every command naming the path and what it is, and nothing hangs:
 * each child is killed after a short timeout, so a regression fails fast.
 * `info` speaks in words and names the published model a state dict matched;
 * `models` lists the zoo; `bench A B` refuses two models whose logits disagree
 * beyond rounding; a DataParallel state dict is folded with one line saying
 * its prefix was stripped.
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, reparameterize } from '@repnets/blocks';
import { makeSpecialFiles, type SpecialFiles } from '@repnets/devkit';
import { trainStateDictShapes, writeSafetensors } from '@repnets/fuse';
import { loadSafetensorsFile } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { officialCheckpoint, runRepnets } from './helpers/cli.js';
import { oneLine } from './helpers/files.js';

const dir = join(import.meta.dirname, '.tmp', 'cli-inputs');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const posix = process.platform !== 'win32';
let special: SpecialFiles | undefined;

afterAll(async () => {
  await special?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI in a child process, killed after `seconds`: a hang fails the test instead of stalling it. */
const cli = (seconds: number, ...args: string[]) =>
  runRepnets({ cwd: dir, killAfterMs: seconds * 1000 }, ...args);

const train = join(dir, 'train');
const deploy = join(dir, 'deploy');
const otherDeploy = join(dir, 'other-deploy');
const ckpt = join(dir, 'official.safetensors');

beforeAll(async () => {
  await tf.setBackend('cpu');
  // A small train form, its fold, and the fold of another training of the same network.
  const opts = { numClasses: 4, inputSize: 16, stemStride: 1 as const, seed: 1 };
  const model = createModel('simplenet', opts);
  await model.save(`file://${train}`);
  await (await reparameterize(model)).model.save(`file://${deploy}`);
  const other = createModel('simplenet', { ...opts, seed: 2 });
  await (await reparameterize(other)).model.save(`file://${otherDeploy}`);
  officialCheckpoint(ckpt);
  if (posix) special = await makeSpecialFiles(join(dir, 'special'), 'in');
}, 120_000);

const WORDS: Record<string, string> = {
  'character device': 'a character device',
  FIFO: 'a FIFO (named pipe)',
  folder: 'a folder',
  socket: 'a socket',
};

describe.skipIf(!posix)(
  'inputs that are not regular files: refused by every command, no hang',
  () => {
    /** A model folder whose model.json is `target`, and a same-named .safetensors / .ckpt link. */
    function linked(kind: string, target: string) {
      const folder = join(dir, `model-${kind.replace(' ', '-')}`);
      mkdirSync(folder, { recursive: true });
      const json = join(folder, 'model.json');
      rmSync(json, { force: true });
      symlinkSync(target, json);
      const sft = join(dir, `in-${kind.replace(' ', '-')}.safetensors`);
      const ck = join(dir, `in-${kind.replace(' ', '-')}.ckpt`);
      for (const p of [sft, ck]) {
        rmSync(p, { force: true, recursive: true });
        symlinkSync(target, p);
      }
      return { folder, json, sft, ck };
    }

    it.each(Object.keys(WORDS))(
      'a %s',
      async (kind) => {
        const target = special!.paths[kind]!;
        const words = `is ${WORDS[kind]}, not a regular file`;
        const { folder, json, sft, ck } = linked(kind, target);
        const cases: [string[], string][] = [
          [['info', sft], `'${sft}' ${words}`],
          [['info', ck], `checkpoint '${ck}': it ${words}`],
          [['info', folder], `'${json}' ${words}`],
          [
            ['fuse', sft, '--from', 'official', '--out', join(dir, 'x.safetensors')],
            `'${sft}' ${words}`,
          ],
          [
            ['fuse', folder, '--from', 'repnets', '--out', join(dir, 'x-deploy')],
            `'${json}' ${words}`,
          ],
          [['export', 'onnx', folder, '--out', join(dir, 'x.onnx')], `'${json}' ${words}`],
          [['bench', folder, '--backend', 'cpu'], `'${json}' ${words}`],
        ];
        if (kind !== 'folder') cases.push([['info', target], `info: '${target}' ${words}`]);
        for (const [args, message] of cases) {
          const r = await cli(30, ...args);
          expect(r.hung, `repnets ${args.join(' ')} hung`).toBe(false);
          expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(1);
          expect(oneLine(r.err, 1), args.join(' ')).toContain(message);
        }
      },
      300_000,
    );

    it('train --resume whose last.ckpt is a FIFO ends at once, naming it', async () => {
      const run = join(dir, 'fifo-run');
      mkdirSync(join(run, 'checkpoints'), { recursive: true });
      rmSync(join(run, 'checkpoints', 'last.ckpt'), { force: true });
      symlinkSync(special!.paths.FIFO!, join(run, 'checkpoints', 'last.ckpt'));
      const r = await cli(60, 'train', '--out', run, '--resume', '--backend', 'cpu');
      expect(r.hung, 'train --resume hung').toBe(false);
      // The run-folder check comes first, and says what the checkpoint is.
      expect(r.code).toBe(2);
      expect(oneLine(r.err, 2)).toBe(
        `repnets: train: '${join(run, 'checkpoints', 'last.ckpt')}' is a FIFO (named pipe), not a regular file; --resume would read it: move it away or pick another --out`,
      );
    }, 90_000);
  },
);

describe('model files that are not what they claim', () => {
  it('a graph model, a model without weights manifest, an unregistered layer', async () => {
    const edit = (name: string, f: (json: Record<string, unknown>) => void) => {
      const folder = join(dir, name);
      mkdirSync(folder, { recursive: true });
      const json = JSON.parse(readFileSync(join(train, 'model.json'), 'utf8'));
      f(json);
      writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
      writeFileSync(join(folder, 'weights.bin'), readFileSync(join(train, 'weights.bin')));
      return join(folder, 'model.json');
    };
    const graph = edit('graph', (j) => {
      j.format = 'graph-model';
      j.modelTopology = { node: [{ name: 'x', op: 'Placeholder' }], versions: {} };
      j.weightsManifest = [];
    });
    const bare = edit('bare', (j) => {
      delete j.weightsManifest;
    });
    const fancy = edit('fancy', (j) => {
      (j.modelTopology as { config: { layers: { class_name: string }[] } }).config
        .layers[1]!.class_name = 'FancyBlock';
    });
    for (const [json, words] of [
      [graph, 'is a TF.js graph model'],
      [bare, "has no 'weightsManifest', so its layers would get random initial weights"],
      [fancy, "import the module that registers the layer class 'FancyBlock'"],
    ] as const) {
      for (const args of [
        ['info', json],
        ['export', 'onnx', json, '--out', join(dir, 'y.onnx')],
      ]) {
        const r = await cli(60, ...args);
        expect(r.code, r.err).toBe(1);
        expect(oneLine(r.err, 1)).toContain(words);
      }
    }
  }, 120_000);
});

describe('info speaks in words', () => {
  it('a TF.js model, a state dict and a checkpoint: labelled lines, no JSON blobs', async () => {
    for (const path of [train, deploy, ckpt]) {
      const r = await cli(60, 'info', path);
      expect(r.code, r.err).toBe(0);
      expect(r.out).not.toMatch(/[{}[\]"]/);
    }
    const t = await cli(60, 'info', train);
    expect(t.out).toMatch(/^input +16x16x3 images\b/m);
    expect(t.out).toMatch(/^form +train \(\d+ blocks to fold\)/m);
  }, 120_000);

  it('names the published model a state dict matched, in words and in --json', async () => {
    const path = join(dir, 'mobileone_s0.safetensors');
    const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const [key, shape] of trainStateDictShapes('official-mobileone', 'mobileone_s0')) {
      const n = shape.reduce((p, d) => p * d, 1);
      tensors[key] = { shape: [...shape], data: new Float32Array(n).fill(0.5) };
    }
    writeFileSync(path, writeSafetensors(tensors));
    const words = await cli(60, 'info', path);
    expect(words.code, words.err).toBe(0);
    expect(words.out).toMatch(/^model +mobileone_s0 \(a published official-mobileone model\)$/m);
    const json = await cli(60, 'info', path, '--json');
    expect(JSON.parse(json.out)).toMatchObject({
      model: 'mobileone_s0',
      layout: 'official-mobileone',
    });
    const custom = await cli(60, 'info', ckpt, '--json');
    expect(JSON.parse(custom.out).model).toBeNull();
  }, 120_000);
});

describe('a DataParallel state dict', () => {
  it('fuse strips module. with one line on stderr, and writes keys without it', async () => {
    const ddp = join(dir, 'ddp.safetensors');
    const { tensors } = await loadSafetensorsFile(ckpt);
    writeFileSync(
      ddp,
      writeSafetensors(
        Object.fromEntries([...tensors].map(([k, t]) => [`module.${k}`, t])) as never,
      ),
    );
    const out = join(dir, 'ddp-deploy.safetensors');
    const r = await cli(60, 'fuse', ddp, '--from', 'official', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err.trim()).toBe(
      `repnets: fuse: every key of '${ddp}' starts with 'module.' (saved from DataParallel): read without it, as timm does`,
    );
    const keys = [...(await loadSafetensorsFile(out)).tensors.keys()];
    expect(keys.some((k) => k.startsWith('module.'))).toBe(false);
    const info = await cli(60, 'info', ddp);
    expect(info.out).toMatch(
      /^keys +'module\.' stripped from \d+ keys \(saved from DataParallel\)$/m,
    );
  }, 120_000);
});

describe('repnets models', () => {
  it('lists every zoo name with its family and parameters, and as JSON', async () => {
    const r = await cli(60, 'models');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^repvgg_a0 +RepVGG +8\.31M +\d/m);
    expect(r.out).toMatch(/^mobileone_s4 +MobileOne +/m);
    expect(r.out).toMatch(/^simplenet +SimpleNet +/m);
    const json = await cli(60, 'models', '--json');
    const list = JSON.parse(json.out) as { name: string; family: string; params: unknown }[];
    expect(list.find((m) => m.name === 'repvgg_a0')).toEqual({
      name: 'repvgg_a0',
      family: 'repvgg',
      blocks: 22,
      params: { train: expect.any(Number), deploy: 8309384 },
      input: 224,
      classes: 1000,
    });
    expect(list.map((m) => m.name)).toContain('repshufflenetv2_x1_0');
  });
});

describe('weights that are not numbers (a diverged run)', () => {
  it('fuse --from repnets, export onnx and bench refuse them naming the layer and weight', async () => {
    const nan = join(dir, 'nan-train');
    const model = createModel('simplenet', {
      numClasses: 4,
      inputSize: 16,
      stemStride: 1,
      seed: 3,
    });
    const head = model.getLayer('head_fc');
    const [kernel, bias] = head.getWeights();
    const values = kernel!.dataSync().slice();
    values[2] = Number.NaN;
    head.setWeights([tf.tensor(values, kernel!.shape), bias!]);
    await model.save(`file://${nan}`);
    const words = "layer 'head_fc' holds NaN in its weight 'head_fc/kernel' (value 2 of";
    for (const args of [
      ['fuse', nan, '--from', 'repnets', '--out', join(dir, 'nan-deploy')],
      ['export', 'onnx', nan, '--out', join(dir, 'nan.onnx')],
      ['bench', nan, '--backend', 'cpu', '--runs', '10'],
    ]) {
      const r = await cli(120, ...args);
      expect(r.code, r.err).toBe(1);
      expect(oneLine(r.err, 1)).toContain(words);
      expect(oneLine(r.err, 1)).toMatch(/train again with a lower learning rate/);
    }
  }, 300_000);
});

describe('bench A B', () => {
  it('refuses two models whose logits disagree far beyond rounding, with the numbers', async () => {
    const r = await cli(120, 'bench', train, otherDeploy, '--backend', 'cpu', '--runs', '10');
    expect(r.code, r.err).toBe(1);
    expect(oneLine(r.err, 1)).toMatch(
      new RegExp(
        `^repnets: bench: '${otherDeploy}' is not the folded form of '${train}': their logits differ by up to [\\d.e+-]+ on 8 random images, beyond the [\\d.e+-]+ rounding allows \\(1e-3 of the largest logit, at least 1e-3\\); bench the train model alone \\(it folds it\\), or pass the deploy model folded from it$`,
      ),
    );
    expect(r.out).not.toMatch(/speed-up|latency/i);
  }, 150_000);
});
