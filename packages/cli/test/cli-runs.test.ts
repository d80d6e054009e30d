/**
 * A run folder belongs to one `repnets train` at a time and holds only what
 * it wrote: --overwrite never deletes another program's files, a second
 * process is refused while the first holds the folder, a diverging run
 * exports nothing, and a finished run whose models were lost gets them back
 * from its checkpoint (`train --resume`, `export tfjs`). Each case runs the
 * CLI in child processes and checks the files on disk before and after.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadLayersModelFile } from '@repnets/blocks';
import { loadCheckpoint, saveCheckpoint } from '@repnets/train';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, repnets, startRepnets } from './helpers/cli.js';
import { deadPid, oneLine, snapshot } from './helpers/files.js';

const dir = join(import.meta.dirname, '.tmp', 'cli-runs');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOCK = '.repnets-train.lock';

const tiny = ['--train-size', '96', '--test-size', '32', '--epochs', '1', '--batch-size', '32'];
const wasm = ['--backend', 'wasm'];

/** A trained tiny run in `out`. */
async function trained(out: string, ...more: string[]): Promise<void> {
  const r = await repnets('train', ...tiny, ...wasm, '--out', out, ...more);
  expect(r.code, r.err).toBe(0);
}

/** The files of another program, at paths that look like a run's. */
const FOREIGN = {
  'checkpoints/model_best.pth.tar': 'PyTorch checkpoint',
  'train/train.py': 'import torch',
  'notes.txt': 'my notes',
};
function addForeign(out: string): void {
  for (const [f, text] of Object.entries(FOREIGN)) {
    mkdirSync(join(out, f, '..'), { recursive: true });
    writeFileSync(join(out, f), text);
  }
}

describe('train --overwrite removes only what repnets train wrote', () => {
  it('foreign files in checkpoints/, train/ and the folder survive; the run is replaced', async () => {
    const out = join(dir, 'mixed');
    await trained(out, '--seed', '7');
    addForeign(out);
    const r = await repnets('train', ...tiny, ...wasm, '--seed', '5', '--out', out, '--overwrite');
    expect(r.code, r.err).toBe(0);
    for (const [f, text] of Object.entries(FOREIGN)) {
      expect(readFileSync(join(out, f), 'utf8'), f).toBe(text);
    }
    expect((await loadCheckpoint(join(out, 'checkpoints', 'last.ckpt'))).seed).toBe(5);
    for (const f of ['train/model.json', 'train/weights.bin', 'deploy/model.json'])
      expect(existsSync(join(out, f)), f).toBe(true);
  }, 120_000);

  it("a folder holding only another program's files is not a run: refused, even with --overwrite", async () => {
    const out = join(dir, 'pytorch-project');
    addForeign(out);
    const before = snapshot(out);
    const plain = await repnets('train', ...tiny, '--out', out);
    expect(plain.code).toBe(2);
    expect(oneLine(plain.err, 2)).toBe(
      `repnets: train: '${out}' is not empty (3 entries, none of them a RepNets run: checkpoints, notes.txt, train); pick an empty or new --out`,
    );
    const o = await repnets('train', ...tiny, '--out', out, '--overwrite');
    expect(o.code).toBe(2);
    expect(oneLine(o.err, 2)).toBe(
      `repnets: train: '${out}' holds no RepNets run to replace (3 entries of other programs: checkpoints, notes.txt, train); --overwrite replaces only what repnets train wrote: pick an empty or new --out`,
    );
    expect(snapshot(out)).toEqual(before);
  });

  it("another program's file at a name repnets train writes is refused by name, nothing removed", async () => {
    const out = join(dir, 'lightning');
    await trained(out);
    // PyTorch Lightning writes checkpoints/last.ckpt too.
    writeFileSync(join(out, 'checkpoints', 'last.ckpt'), 'PK\x03\x04 lightning');
    const before = snapshot(out);
    for (const flag of ['--overwrite', '--resume']) {
      const r = await repnets('train', ...tiny, '--out', out, flag);
      expect(r.code, flag).toBe(2);
      expect(oneLine(r.err, 2)).toBe(
        `repnets: train: '${join(out, 'checkpoints', 'last.ckpt')}' was not written by repnets train (not a RepNets checkpoint); ${flag} would ${flag === '--overwrite' ? 'replace' : 'read'} it: move it away or pick another --out`,
      );
    }
    expect(snapshot(out)).toEqual(before);
  }, 120_000);
});

async function until(what: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('one run folder, one repnets train', () => {
  it("a second process into the same --out is refused naming the first one's pid; the first run is intact", async () => {
    const out = join(dir, 'contended');
    const first = startRepnets(
      [
        ...['train', '--train-size', '512', '--test-size', '32', '--epochs', '2'],
        ...['--batch-size', '32', ...wasm, '--seed', '3', '--out', out],
      ],
      { cwd: dir },
    );
    await until(() => existsSync(join(out, LOCK)));
    for (const flag of [[], ['--overwrite'], ['--resume']]) {
      const second = await repnets('train', ...tiny, '--seed', '9', '--out', out, ...flag);
      expect(second.code, flag.join()).toBe(1);
      expect(oneLine(second.err, 1)).toBe(
        `repnets: train: '${out}' is in use by repnets train (process ${first.child.pid}, lock ${join(out, LOCK)}); wait for it to end or stop it, or pick another --out`,
      );
    }
    const r = await first.done;
    expect(r.code, r.err).toBe(0);
    expect((await loadCheckpoint(join(out, 'checkpoints', 'last.ckpt'))).seed).toBe(3);
    expect(existsSync(join(out, 'deploy', 'model.json'))).toBe(true);
    // Released when the run ends.
    expect(existsSync(join(out, LOCK))).toBe(false);
  }, 180_000);

  it('a stale lock of a process that no longer runs is taken over, said in one line', async () => {
    const out = join(dir, 'stale');
    mkdirSync(out);
    const pid = deadPid();
    writeFileSync(
      join(out, LOCK),
      JSON.stringify({ pid, host: (await import('node:os')).hostname() }),
    );
    const r = await repnets('train', ...tiny, ...wasm, '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n').filter((l) => l.includes(LOCK))).toEqual([
      `took over ${join(out, LOCK)} from process ${pid}, which no longer runs`,
    ]);
    expect(existsSync(join(out, LOCK))).toBe(false);
  }, 120_000);

  it('the lock is released when the command fails after taking it', async () => {
    const out = join(dir, 'fails');
    const r = await repnets('train', ...tiny, '--img-size', '1', '--out', out);
    expect(r.code).toBe(2);
    expect(existsSync(join(out, LOCK))).toBe(false);
  }, 120_000);
});

describe('divergence', () => {
  it('a learning rate that diverges stops with epoch, step and a lower --lr; no model is exported', async () => {
    const out = join(dir, 'diverged');
    const r = await repnets('train', ...tiny, ...wasm, '--lr', '1e30', '--out', out);
    expect(r.code).toBe(1);
    expect(oneLine(r.err, 1)).toMatch(
      /^repnets: train: the loss became (NaN|Infinity) at epoch 1, step \d \(batch \d of 3; learning rate [^)]+\): training diverged; train again with a lower --lr \(try --lr 1e\+29, with --overwrite\)\. No checkpoint was written: no epoch ended with finite weights$/,
    );
    expect(existsSync(join(out, 'train'))).toBe(false);
    expect(existsSync(join(out, 'deploy'))).toBe(false);
  }, 120_000);
});

describe('a finished run that lost its models', () => {
  it('--resume writes the missing train/ and deploy/ from the checkpoint', async () => {
    const out = join(dir, 'lost');
    await trained(out);
    const full = snapshot(out);
    rmSync(join(out, 'deploy'), { recursive: true });
    // A save cut short by a full disk: the weights file is shorter than its manifest.
    writeFileSync(join(out, 'train', 'weights.bin'), Buffer.alloc(10));
    const r = await repnets('train', ...tiny, ...wasm, '--out', out, '--resume');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(
      `wrote its missing models from ${join(out, 'checkpoints', 'last.ckpt')}: ${join(out, 'train')}, ${join(out, 'deploy')}`,
    );
    expect(snapshot(out)).toEqual(full);
  }, 120_000);

  it("--resume removes the temp files killed saves of the run's own files left, nothing else", async () => {
    const out = join(dir, 'killed-saves');
    await trained(out);
    const dead = deadPid();
    const temp = (folder: string, name: string) =>
      join(out, folder, `.${name}.${dead}.0123456789ab.tmp`);
    const stale = [
      temp('checkpoints', 'last.ckpt'),
      temp('train', 'model.json'),
      temp('deploy', 'weights.bin'),
    ];
    const kept = [temp('checkpoints', 'model_best.pth.tar'), temp('train', 'notes.txt')];
    for (const f of [...stale, ...kept]) writeFileSync(f, 'partial');
    const r = await repnets('train', ...tiny, ...wasm, '--out', out, '--resume');
    expect(r.code, r.err).toBe(0);
    for (const f of stale) expect(existsSync(f), f).toBe(false);
    for (const f of kept) expect(existsSync(f), f).toBe(true);
  }, 120_000);

  it('with its models in place, --resume has nothing to do and changes nothing', async () => {
    const out = join(dir, 'complete');
    await trained(out);
    const before = snapshot(out);
    const r = await repnets('train', ...tiny, ...wasm, '--out', out, '--resume');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(
      `nothing to do: its models are in ${join(out, 'train')} and ${join(out, 'deploy')}\n`,
    );
    expect(snapshot(out)).toEqual(before);
  }, 120_000);
});

describe('repnets export tfjs CKPT --out DIR', () => {
  const run = join(dir, 'to-export');
  beforeAll(async () => {
    await trained(run, '--model', 'simplenet');
  }, 120_000);

  it('writes the train and deploy forms the run itself wrote', async () => {
    const out = join(dir, 'exported');
    const ckpt = join(run, 'checkpoints', 'last.ckpt');
    const r = await repnets('export', 'tfjs', ckpt, '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    expect(json(r.out)).toMatchObject({
      format: 'tfjs',
      input: ckpt,
      model: 'simplenet',
      epoch: 1,
      train: join(out, 'train'),
      deploy: join(out, 'deploy'),
    });
    const ran = snapshot(run);
    const exported = snapshot(out);
    for (const f of ['train/weights.bin', 'deploy/weights.bin', 'train/model.json'])
      expect(exported[join(out, f)], f).toBe(ran[join(run, f)]);
  }, 120_000);

  it('--quantize uint8 stores the deploy form as uint8, loadable; the train form as the run wrote it', async () => {
    const out = join(dir, 'exported-uint8');
    const ckpt = join(run, 'checkpoints', 'last.ckpt');
    const r = await repnets('export', 'tfjs', ckpt, '--out', out, '--quantize', 'uint8', '--json');
    expect(r.code, r.err).toBe(0);
    expect(json(r.out)).toMatchObject({ format: 'tfjs', quantize: 'uint8' });
    const ran = snapshot(run);
    const exported = snapshot(out);
    for (const f of ['train/weights.bin', 'train/model.json'])
      expect(exported[join(out, f)], f).toBe(ran[join(run, f)]);
    const manifest = JSON.parse(readFileSync(join(out, 'deploy', 'model.json'), 'utf8'));
    const weights = manifest.weightsManifest[0].weights as { quantization?: { dtype: string } }[];
    expect(weights.every((w) => w.quantization?.dtype === 'uint8')).toBe(true);
    expect(statSync(join(out, 'deploy', 'weights.bin')).size * 4).toBe(
      statSync(join(run, 'deploy', 'weights.bin')).size,
    );
    await tf.setBackend('cpu');
    const model = await loadLayersModelFile(join(out, 'deploy'));
    expect(model.countParams()).toBeGreaterThan(0);
    model.dispose();
  }, 120_000);

  it('writes both models or neither: a deploy folder it cannot make leaves no train model', async () => {
    const ckpt = join(run, 'checkpoints', 'last.ckpt');
    const out = join(dir, 'half-exported');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'deploy'), 'a file where the deploy folder goes');
    const before = snapshot(out);
    const r = await repnets('export', 'tfjs', ckpt, '--out', out);
    expect(r.code).toBe(1);
    expect(oneLine(r.err, 1).startsWith(`repnets: cannot write '${join(out, 'deploy')}`)).toBe(
      true,
    );
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(out)).toEqual(['deploy']);
  }, 120_000);

  it('refuses outputs that exist, other flags, and checkpoints it cannot rebuild', async () => {
    const ckpt = join(run, 'checkpoints', 'last.ckpt');
    const taken = await repnets('export', 'tfjs', ckpt, '--out', run);
    expect(taken.code).toBe(2);
    expect(oneLine(taken.err, 2)).toBe(
      `repnets: export: '${join(run, 'train', 'model.json')}' exists; export into another --out (a run's own missing models come back with train --resume)`,
    );
    const opset = await repnets('export', 'tfjs', ckpt, '--out', join(dir, 'x'), '--opset', '13');
    expect(opset.code).toBe(2);
    expect(oneLine(opset.err, 2)).toBe('repnets: export: --opset is for onnx, not tfjs');

    // Written by train() with a runConfig of its own: no zoo model to rebuild.
    const c = await loadCheckpoint(ckpt);
    const other = join(dir, 'api.ckpt');
    await saveCheckpoint(other, { ...c, run: { ...c.run, runConfig: { imgSize: 8 } } });
    const api = await repnets('export', 'tfjs', other, '--out', join(dir, 'y'));
    expect(api.code).toBe(1);
    expect(oneLine(api.err, 1)).toBe(
      `repnets: export: checkpoint '${other}' names no zoo model (runConfig.model): it was not written by repnets train; rebuild your model and restore it with train({ resume: '${other}' }) of @repnets/train`,
    );

    // Diverged weights are never exported.
    const nan = join(dir, 'nan.ckpt');
    const weights = c.weights.map((w, i) =>
      i === 0 ? { ...w, values: w.values.map((v, j) => (j === 0 ? Number.NaN : v)) } : w,
    );
    await saveCheckpoint(nan, { ...c, weights });
    const bad = await repnets('export', 'tfjs', nan, '--out', join(dir, 'z'));
    expect(bad.code).toBe(1);
    expect(oneLine(bad.err, 1)).toMatch(
      /^repnets: export: checkpoint '.*nan\.ckpt' holds non-finite weights \(the weight '.*' holds NaN\): its run had diverged; export an earlier checkpoint$/,
    );
    expect(existsSync(join(dir, 'z'))).toBe(false);
  }, 120_000);
});

describe('flags that would be ignored are errors', () => {
  it.each([
    [
      ['--data-dir', 'somewhere'],
      'train: --data-dir is read only with --dataset cifar10, cifar100 or folder (MNIST is embedded); add --dataset, or leave --data-dir out',
    ],
    [
      ['--dataset', 'mnist', '--data-dir', 'somewhere'],
      'train: --data-dir is read only with --dataset cifar10, cifar100 or folder (MNIST is embedded); add --dataset, or leave --data-dir out',
    ],
  ])('%j exits 2', async (flags, message) => {
    const r = await repnets('train', ...flags, '--out', join(dir, 'never'));
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toBe(`repnets: ${message}`);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('--train-size and --test-size beyond the data exit 2 saying how many there are', async () => {
    for (const [flag, n, have, split] of [
      ['--train-size', '8001', 8000, 'mnist/train'],
      ['--test-size', '2001', 2000, 'mnist/test'],
    ] as const) {
      const r = await repnets('train', flag, n, ...wasm, '--out', join(dir, 'sizes'));
      expect(r.code, flag).toBe(2);
      expect(oneLine(r.err, 2)).toBe(
        `repnets: train: ${flag} ${n} is more than the ${have} examples of '${split}'; ask for at most ${have}, or leave ${flag} out to use them all`,
      );
    }
    expect(existsSync(join(dir, 'sizes', 'checkpoints'))).toBe(false);
  }, 120_000);

  it('--workers above the cores runs and says what it costs', async () => {
    const workers = availableParallelism() + 1;
    const out = join(dir, 'oversubscribed');
    const r = await repnets('train', ...tiny, ...wasm, '--workers', String(workers), '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      new RegExp(
        `workers: ${workers} is more than the ${availableParallelism()} cores here: .*measured: .*keep it only to repeat a run trained with ${workers} workers bit for bit`,
      ),
    );
  }, 120_000);
});
