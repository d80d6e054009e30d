/**
 * What a careless or hostile user does to the CLI: each case checks the exit
 * code, the one-line message, and the files on disk before and after.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, officialCheckpoint, repnets, repnetsClosedStdout } from './helpers/cli.js';
import { oneLine, snapshot } from './helpers/files.js';

const dir = join(import.meta.dirname, '.tmp', 'cli-hardening');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tiny = ['--train-size', '96', '--test-size', '32', '--epochs', '1', '--batch-size', '32'];
const run = join(dir, 'run');
const ckpt = join(dir, 'official.safetensors');

beforeAll(async () => {
  officialCheckpoint(ckpt);
  const t = await repnets('train', ...tiny, '--seed', '7', '--backend', 'wasm', '--out', run);
  expect(t.code, t.err).toBe(0);
}, 240_000);

describe('outputs never replace inputs', () => {
  it('fuse X.safetensors --out X.safetensors', async () => {
    const before = snapshot(ckpt);
    const r = await repnets('fuse', ckpt, '--from', 'official', '--out', ckpt);
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toBe(
      `repnets: fuse: the output '${ckpt}' would replace the input '${ckpt}'; write somewhere else`,
    );
    expect(snapshot(ckpt)).toEqual(before);
  });

  it('fuse DIR --from repnets --out DIR, also through another spelling of the path', async () => {
    const train = join(run, 'train');
    const before = snapshot(train);
    for (const out of [train, join(run, 'deploy', '..', 'train')]) {
      const r = await repnets('fuse', train, '--from', 'repnets', '--out', out);
      expect(r.code).toBe(2);
      expect(oneLine(r.err, 2)).toMatch(/would replace the input '.*train\/model\.json'/);
    }
    expect(snapshot(train)).toEqual(before);
  });

  it('export onnx M --out M/model.json', async () => {
    const train = join(run, 'train');
    const before = snapshot(train);
    const r = await repnets('export', 'onnx', train, '--out', join(train, 'model.json'));
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toMatch(/export: the output '.*model\.json' would replace the input/);
    expect(snapshot(train)).toEqual(before);
  });
});

describe('train --out', () => {
  it('refuses a finished run without --resume or --overwrite; --overwrite starts afresh', async () => {
    const before = snapshot(run);
    const r = await repnets('train', ...tiny, '--seed', '5', '--out', run);
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toBe(
      `repnets: train: '${run}' is not empty (a run: checkpoints, train, deploy); continue it with --resume, or replace it with --overwrite`,
    );
    expect(snapshot(run)).toEqual(before);

    const copy = join(dir, 'replaced');
    const first = await repnets(
      'train',
      ...tiny,
      '--seed',
      '7',
      '--backend',
      'wasm',
      '--out',
      copy,
    );
    expect(first.code, first.err).toBe(0);
    const o = await repnets(
      'train',
      ...tiny,
      '--seed',
      '5',
      '--backend',
      'wasm',
      '--out',
      copy,
      '--overwrite',
    );
    expect(o.code, o.err).toBe(0);
    const info = json(
      (await repnets('info', join(copy, 'checkpoints', 'last.ckpt'), '--json')).out,
    );
    expect(info).toMatchObject({ epoch: 1, seed: 5 });
    const both = await repnets('train', '--out', copy, '--resume', '--overwrite');
    expect(both.code).toBe(2);
    expect(oneLine(both.err, 2)).toMatch(/--resume and --overwrite exclude each other/);
  }, 240_000);

  it('an unwritable --out is refused before the backend starts, naming the path', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await repnets('train', ...tiny, '--out', join(file, 'run'));
    expect(r.code).toBe(1);
    expect(r.out).not.toMatch(/backend:/);
    expect(oneLine(r.err, 1)).toBe(
      `repnets: train: cannot write '${join(file, 'run')}': '${file}' is a file, not a folder`,
    );
  });

  it("--out '' is refused instead of writing into the current folder", async () => {
    const r = await repnets('train', '--out', '');
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toBe('repnets: train: --out must not be empty');
  });
});

describe('nothing hangs on an output location that cannot exist', () => {
  it('fuse --out /proc/x/y.safetensors ends at once with one line', async () => {
    const r = await repnets('fuse', ckpt, '--from', 'official', '--out', '/proc/x/y.safetensors');
    expect(r.code).toBe(1);
    expect(oneLine(r.err, 1)).toMatch(
      /^repnets: fuse: cannot write '\/proc\/x\/y\.safetensors': '\/proc' is not writable/,
    );
  });
});

describe('fuse writes all its outputs or none', () => {
  it('a --tfjs folder that cannot be written leaves no .safetensors behind', async () => {
    const out = join(dir, 'fused.safetensors');
    const file = join(dir, 'blocker');
    writeFileSync(file, 'x');
    const r = await repnets(
      'fuse',
      ckpt,
      '--from',
      'official',
      '--out',
      out,
      '--tfjs',
      join(file, 'tfjs'),
    );
    expect(r.code).toBe(1);
    expect(oneLine(r.err, 1)).toMatch(
      /fuse: cannot write into '.*blocker\/tfjs'|'.*blocker' is a file/,
    );
    expect(existsSync(out)).toBe(false);
  });
});

describe('a closed stdout', () => {
  it('info | head -1 ends quietly', async () => {
    const r = await repnetsClosedStdout('info', join(run, 'train'));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('train | head -1 keeps training and writes every output', async () => {
    const out = join(dir, 'piped');
    const r = await repnetsClosedStdout('train', ...tiny, '--backend', 'wasm', '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const f of ['train/model.json', 'deploy/model.json', 'checkpoints/last.ckpt'])
      expect(existsSync(join(out, f)), f).toBe(true);
  }, 240_000);
});

describe('flags', () => {
  it.each([
    [['--lr', 'Infinity'], "train: --lr must be a positive finite number, got 'Infinity'"],
    [['--lr', '1e999'], "train: --lr must be a positive finite number, got '1e999'"],
    [['--seed', '1e300'], "train: --seed must be an integer from 0 to 4294967295, got '1e300'"],
    [['--epochs', '-1'], "train: --epochs must be an integer >= 1, got '-1'"],
    [['--batch-size', '-0.5'], "train: --batch-size must be an integer >= 1, got '-0.5'"],
  ])('%j exits 2 naming the flag', async (flags, message) => {
    const r = await repnets('train', ...flags);
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toBe(`repnets: ${message}`);
  });

  it('--img-size smaller than the network takes is refused, naming the smallest', async () => {
    const r = await repnets('train', ...tiny, '--img-size', '1', '--out', join(dir, 'small'));
    expect(r.code).toBe(2);
    expect(oneLine(r.err, 2)).toBe(
      'repnets: train: --img-size 1 is too small for repvgg_compact: it shrinks images by 16, so the smallest input it takes is 16',
    );
    expect(existsSync(join(dir, 'small', 'checkpoints'))).toBe(false);
  }, 120_000);

  it('bench A B refuses two models that are not two forms of one network', async () => {
    const other = join(dir, 'other');
    const t = await repnets(
      'train',
      ...tiny,
      '--model',
      'simplenet',
      '--backend',
      'wasm',
      '--out',
      other,
    );
    expect(t.code, t.err).toBe(0);
    const r = await repnets(
      'bench',
      join(run, 'train'),
      join(other, 'deploy'),
      '--backend',
      'wasm',
      '--runs',
      '10',
    );
    expect(r.code).toBe(1);
    expect(oneLine(r.err, 1)).toMatch(
      /^repnets: bench: '.*other\/deploy' is not the folded form of '.*run\/train': /,
    );
    const same = await repnets(
      'bench',
      join(run, 'train'),
      join(run, 'deploy'),
      '--backend',
      'wasm',
      '--runs',
      '10',
      '--json',
    );
    expect(same.code, same.err).toBe(0);
    expect(json(same.out).top1Agreement).toBeGreaterThan(0.9);
  }, 240_000);
});

describe('--resume resumes the same run or says why not', () => {
  it('a changed flag that shapes the weights is refused naming it; more epochs continue', async () => {
    const out = join(dir, 'resumed');
    const first = await repnets('train', ...tiny, '--backend', 'wasm', '--out', out);
    expect(first.code, first.err).toBe(0);
    const before = snapshot(out);
    const base = ['--train-size', '96', '--test-size', '32', '--epochs', '1', '--batch-size', '32'];
    // Two epochs, so that only the changed flag stands between the checkpoint and the run.
    const withFlag = (flag: string, value: string) => {
      const args = [...base];
      args[args.indexOf('--epochs') + 1] = '2';
      const at = args.indexOf(flag);
      if (at >= 0) args[at + 1] = value;
      else args.push(flag, value);
      return args;
    };
    for (const [flag, value, field] of [
      ['--batch-size', '16', /batchSize 32, this run asks for 16/],
      ['--lr', '0.5', /optimizer\.lr .*0\.5/],
      ['--img-size', '32', /runConfig\.img-size null, this run asks for 32/],
      ['--train-size', '64', /train-size 96, this run asks for 64/],
    ] as const) {
      const r = await repnets(
        'train',
        ...withFlag(flag, value),
        '--backend',
        'wasm',
        '--out',
        out,
        '--resume',
      );
      expect(r.code, flag).toBe(1);
      expect(oneLine(r.err, 1)).toMatch(field);
    }
    // As many epochs as it finished: nothing to train, its models are there, nothing changes.
    const none = await repnets('train', ...base, '--backend', 'wasm', '--out', out, '--resume');
    expect(none.code, none.err).toBe(0);
    expect(none.out).toMatch(/has finished its 1 epoch: nothing left to train/);
    expect(none.out).toMatch(/nothing to do: its models are in /);
    expect(snapshot(out)).toEqual(before);
    const r = await repnets(
      'train',
      ...withFlag('--epochs', '2'),
      '--backend',
      'wasm',
      '--out',
      out,
      '--resume',
      '--json',
    );
    expect(r.code, r.err).toBe(0);
    expect(json(r.out).epochs).toBe(2);
  }, 240_000);
});
