/**
 * `repnets fuse` and `repnets info` read a torch.save `.pth` wherever they read
 * a safetensors state dict, told apart by the file's first bytes (not its
 * name): the fold of a `.pth` is byte for byte the fold of the same state dict
 * saved as safetensors, and a legacy pickle or a checkpoint that would run code
 * is refused in one line naming the file and why.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '@repnets/fuse';
import { readTorchFile } from '@repnets/fuse/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, repnets } from './helpers/cli.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fuse', 'test', 'fixtures', 'pth');
const dir = join(import.meta.dirname, '.tmp', 'fuse-pth');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pth = join(dir, 'conv-bn.pth');
const safetensors = join(dir, 'conv-bn.safetensors');

beforeAll(async () => {
  copyFileSync(join(FIXTURES, 'conv-bn.pth'), pth);
  writeFileSync(safetensors, writeSafetensors(await readTorchFile(pth)));
});

/** Folds `input` to `<dir>/<name>.safetensors` and a TF.js model in `<dir>/<name>-tfjs`. */
async function fold(input: string, name: string, ...flags: string[]) {
  const out = join(dir, `${name}.safetensors`);
  const tfjs = join(dir, `${name}-tfjs`);
  const r = await repnets(
    'fuse',
    input,
    '--out',
    out,
    '--tfjs',
    tfjs,
    '--img-size',
    '32',
    ...flags,
    '--json',
  );
  expect(r.code, r.err).toBe(0);
  return {
    report: json(r.out),
    out: readFileSync(out),
    weights: readFileSync(join(tfjs, 'weights.bin')),
    model: readFileSync(join(tfjs, 'model.json'), 'utf8'),
  };
}

describe('repnets fuse of a .pth', () => {
  it('writes what the same state dict as safetensors gives, byte for byte', async () => {
    const fromPth = await fold(pth, 'from-pth');
    const fromSafetensors = await fold(safetensors, 'from-safetensors');
    expect(fromPth.report).toMatchObject({ from: 'official', layout: 'official-repvgg' });
    expect({ ...fromPth.report, input: '', out: '' }).toEqual({
      ...fromSafetensors.report,
      input: '',
      out: '',
    });
    expect(fromPth.out.equals(fromSafetensors.out)).toBe(true);
    expect(fromPth.weights.equals(fromSafetensors.weights)).toBe(true);
    expect(fromPth.model).toBe(fromSafetensors.model);
  });

  it('goes by the first bytes: renamed to .safetensors, or with no extension, it still folds', async () => {
    const reference = await fold(pth, 'reference', '--from', 'official');
    for (const name of ['renamed.safetensors', 'weights']) {
      const renamed = join(dir, name);
      copyFileSync(pth, renamed);
      const folded = await fold(renamed, `from-${name}`);
      expect(folded.out.equals(reference.out), name).toBe(true);
      expect(folded.weights.equals(reference.weights), name).toBe(true);
    }
  });
});

describe('repnets info of a .pth', () => {
  it('describes it as it describes the safetensors copy', async () => {
    const fromPth = await repnets('info', pth, '--json');
    expect(fromPth.code, fromPth.err).toBe(0);
    const fromSafetensors = await repnets('info', safetensors, '--json');
    expect(fromSafetensors.code, fromSafetensors.err).toBe(0);
    const p = json(fromPth.out);
    expect(p).toMatchObject({ kind: 'pth', layout: 'official-repvgg', form: 'train' });
    expect({ ...p, kind: 'safetensors' }).toEqual(json(fromSafetensors.out));
    const words = await repnets('info', pth);
    expect(words.code, words.err).toBe(0);
    expect(words.out).toMatch(/PyTorch \.pth state dict/);
  });

  it('reads a renamed one by its bytes', async () => {
    const renamed = join(dir, 'info-renamed.safetensors');
    copyFileSync(pth, renamed);
    const r = await repnets('info', renamed, '--json');
    expect(r.code, r.err).toBe(0);
    expect(json(r.out)).toMatchObject({ kind: 'pth', layout: 'official-repvgg' });
  });
});

describe('a .pth that is not read', () => {
  const cases = [
    ['legacy.pth', /is a legacy PyTorch checkpoint .*_use_new_zipfile_serialization=True/],
    ['evil.pth', /refuses global 'posix\.system'.*nothing in the file was run/],
  ] as const;

  it.each(cases)('%s is refused in one line naming the file and why', async (name, why) => {
    const file = join(dir, name);
    copyFileSync(join(FIXTURES, name), file);
    for (const args of [
      ['fuse', file, '--out', join(dir, `${name}.safetensors`)],
      ['fuse', file, '--from', 'official', '--out', join(dir, `${name}.safetensors`)],
      ['info', file],
    ]) {
      const r = await repnets(...args);
      expect(r.code, args.join(' ')).toBe(1);
      const lines = r.err.trim().split('\n');
      expect(lines, r.err).toHaveLength(1);
      expect(lines[0]).toContain(`readTorchCheckpoint(${file})`);
      expect(lines[0]).toMatch(why);
    }
  });
});
