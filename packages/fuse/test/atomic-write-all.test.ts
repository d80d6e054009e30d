import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtomicWriteError, writeFilesAtomic } from '../src/io/node.js';
import { freshDirs } from './helpers/fresh-dirs.js';

const freshDir = freshDirs('repnets-atomic-all-');

/** Every path under `dir` (files and folders) with a file's text: the whole state of the disk there. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { recursive: true }) as string[]) {
    const p = join(dir, e);
    out[e] = statSync(p).isDirectory() ? '<dir>' : readFileSync(p, 'utf8');
  }
  return out;
}

describe('writeFilesAtomic', () => {
  it('writes every file, replacing old ones and creating folders, with no temp file left', async () => {
    const d = freshDir();
    writeFileSync(join(d, 'a.txt'), 'old a');
    await writeFilesAtomic([
      { path: join(d, 'a.txt'), data: 'new a' },
      { path: join(d, 'sub', 'b.bin'), data: [Buffer.from('new '), Buffer.from('b')] },
    ]);
    expect(tree(d)).toEqual({ 'a.txt': 'new a', sub: '<dir>', 'sub/b.bin': 'new b' });
  });

  it('a file that cannot be staged: no target changes, no temp file, no folder it created stays', async () => {
    const d = freshDir();
    writeFileSync(join(d, 'a.txt'), 'old a');
    writeFileSync(join(d, 'blocker'), 'a file');
    const before = tree(d);
    const e = await writeFilesAtomic([
      { path: join(d, 'a.txt'), data: 'new a' },
      { path: join(d, 'new', 'deeper', 'c.txt'), data: 'new c' },
      { path: join(d, 'blocker', 'b.txt'), data: 'new b' },
    ]).catch((x) => x);
    expect(e).toBeInstanceOf(AtomicWriteError);
    expect(e.path).toBe(join(d, 'blocker', 'b.txt'));
    expect(['EEXIST', 'ENOTDIR']).toContain(e.code);
    expect(tree(d)).toEqual(before);
  });

  it('bad data for a later file: the earlier ones are not replaced', async () => {
    const d = freshDir();
    writeFileSync(join(d, 'a.txt'), 'old a');
    const before = tree(d);
    const e = await writeFilesAtomic([
      { path: join(d, 'a.txt'), data: 'new a' },
      { path: join(d, 'b.txt'), data: 42 as never },
    ]).catch((x) => x);
    expect(e).toBeInstanceOf(AtomicWriteError);
    expect(e.message).toMatch(/cannot write '.*b\.txt': data must be a string/);
    expect(tree(d)).toEqual(before);
  });

  it('a target that is a folder fails the renames half-way: the files already replaced are put back', async () => {
    const d = freshDir();
    writeFileSync(join(d, 'a.txt'), 'old a');
    mkdirSync(join(d, 'model.json'));
    const before = tree(d);
    const e = await writeFilesAtomic([
      { path: join(d, 'a.txt'), data: 'new a' },
      { path: join(d, 'fresh.txt'), data: 'did not exist' },
      { path: join(d, 'model.json'), data: '{}' },
    ]).catch((x) => x);
    expect(e).toBeInstanceOf(AtomicWriteError);
    expect(e.message).toBe(`cannot write '${join(d, 'model.json')}': it is a folder`);
    expect(tree(d)).toEqual(before);
    expect(existsSync(join(d, 'fresh.txt'))).toBe(false);
  });

  it('the same file twice is refused before anything is written', async () => {
    const d = freshDir();
    const e = await writeFilesAtomic([
      { path: join(d, 'a.txt'), data: '1' },
      { path: join(d, '.', 'a.txt'), data: '2' },
    ]).catch((x) => x);
    expect(e).toBeInstanceOf(AtomicWriteError);
    expect(e.message).toMatch(/the same file is listed twice/);
    expect(tree(d)).toEqual({});
  });
});
