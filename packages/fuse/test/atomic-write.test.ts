import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AtomicWriteError,
  parseTempName,
  removeStaleTempFiles,
  staleTempFiles,
  tempPathFor,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../src/io/node.js';
import { freshDirs } from './helpers/fresh-dirs.js';

const freshDir = freshDirs('repnets-atomic-');
const temps = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

/** Chunks whose element `at` runs `act` when the writer reaches it (then yields `chunk`). */
function chunksWith(at: number, act: () => Uint8Array): Uint8Array[] {
  const parts = [Buffer.from('first part, '), Buffer.from('second part, '), Buffer.from('third')];
  Object.defineProperty(parts, at, { get: act });
  return parts;
}

function deadPid(): number {
  for (let pid = 2 ** 22 + 1234; ; pid++) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

const variants = [
  ['writeFileAtomic', writeFileAtomic],
  [
    'writeFileAtomicSync',
    async (...args: Parameters<typeof writeFileAtomicSync>) => writeFileAtomicSync(...args),
  ],
] as const;

describe.each(variants)('%s', (_name, write) => {
  it('writes text, bytes and chunks in order, creating the directory, leaving no temp file', async () => {
    const dir = freshDir();
    const path = join(dir, 'nested', 'deeper', 'a.txt');
    await write(path, 'héllo');
    expect(readFileSync(path, 'utf8')).toBe('héllo');
    await write(path, Uint8Array.from([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    const big = randomBytes(3 << 20);
    await write(path, [big.subarray(0, 5), new Uint8Array(0), big.subarray(5)]);
    expect(readFileSync(path).equals(big)).toBe(true);
    await write(path, []);
    expect(readFileSync(path).length).toBe(0);
    expect(readdirSync(join(dir, 'nested', 'deeper'))).toEqual(['a.txt']);
  });

  it('with mkdir: false, a missing directory fails naming the path, with its errno code', async () => {
    const path = join(freshDir(), 'missing', 'x.bin');
    const e = await write(path, 'x', { mkdir: false }).catch((e: unknown) => e);
    expect(e).toBeInstanceOf(AtomicWriteError);
    expect((e as AtomicWriteError).message).toMatch(new RegExp(`^cannot write '${path}': ENOENT`));
    expect((e as AtomicWriteError).code).toBe('ENOENT');
    expect((e as AtomicWriteError).path).toBe(path);
    expect(existsSync(join(path, '..'))).toBe(false);
  });

  it('data that throws mid-write leaves the old file intact and no temp file', async () => {
    const dir = freshDir();
    const path = join(dir, 'model.bin');
    await write(path, 'old contents');
    const failing = chunksWith(1, () => {
      // The temp file exists and holds the first chunk when this runs.
      expect(temps(dir)).toHaveLength(1);
      throw new Error('the producer broke');
    });
    await expect(write(path, failing)).rejects.toThrow(
      `cannot write '${path}': the producer broke`,
    );
    expect(readFileSync(path, 'utf8')).toBe('old contents');
    expect(readdirSync(dir)).toEqual(['model.bin']);
    // A chunk that is not bytes is refused the same way.
    await expect(write(path, ['text' as unknown as Uint8Array])).rejects.toThrow(
      /data\[0\] must be a Uint8Array, got string/,
    );
    await expect(write(path, 42 as unknown as string)).rejects.toThrow(
      /data must be a string, a Uint8Array or an array of Uint8Arrays, got number/,
    );
    expect(readFileSync(path, 'utf8')).toBe('old contents');
    expect(readdirSync(dir)).toEqual(['model.bin']);
  });

  it('a failed rename (a directory in the way) leaves it intact and no temp file', async () => {
    const dir = freshDir();
    const path = join(dir, 'taken');
    mkdirSync(path);
    writeFileSync(join(path, 'inside'), 'kept');
    await expect(write(path, 'new')).rejects.toThrow(new RegExp(`^cannot write '${path}': E`));
    expect(readdirSync(dir)).toEqual(['taken']);
    expect(readFileSync(join(path, 'inside'), 'utf8')).toBe('kept');
  });

  it('a directory that vanishes mid-write fails naming the path and is not recreated', async () => {
    const dir = freshDir();
    const path = join(dir, 'x.bin');
    const failing = chunksWith(2, () => {
      rmSync(dir, { recursive: true });
      return Buffer.from('third');
    });
    const e = await write(path, failing).catch((e: unknown) => e);
    expect(e).toBeInstanceOf(AtomicWriteError);
    expect((e as Error).message).toMatch(new RegExp(`^cannot write '${path}': ENOENT`));
    expect(existsSync(dir)).toBe(false);
  });

  it('writes to a hidden temp file named after the target and this process', async () => {
    const dir = freshDir();
    const path = join(dir, 'last.ckpt');
    let seen: string[] = [];
    await write(
      path,
      chunksWith(1, () => {
        seen = readdirSync(dir);
        return Buffer.from('!');
      }),
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(new RegExp(`^\\.last\\.ckpt\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
    expect(parseTempName(seen[0]!)).toEqual({ target: 'last.ckpt', pid: process.pid });
    expect(readdirSync(dir)).toEqual(['last.ckpt']);
  });
});

describe('concurrent writers', () => {
  it('to one path all finish, and the file is one of them, whole', async () => {
    const dir = freshDir();
    const path = join(dir, 'shared.bin');
    const payloads = Array.from({ length: 12 }, (_, i) => Buffer.alloc((1 << 20) + i, i + 1));
    await Promise.all(
      payloads.map((p, i) =>
        i % 3 === 0
          ? Promise.resolve().then(() => writeFileAtomicSync(path, p))
          : writeFileAtomic(path, i % 2 ? p : [p.subarray(0, 1000), p.subarray(1000)]),
      ),
    );
    const final = readFileSync(path);
    expect(payloads.some((p) => p.equals(final))).toBe(true);
    expect(readdirSync(dir)).toEqual(['shared.bin']);
  });

  it('each get their own temp file', () => {
    const names = new Set(Array.from({ length: 1000 }, () => tempPathFor('/x/y.bin')));
    expect(names.size).toBe(1000);
    for (const name of names) expect(name.startsWith(`/x/.y.bin.${process.pid}.`)).toBe(true);
  });
});

describe('temp file names', () => {
  it('parse into the target and pid, in the current and the older checkpoint form', () => {
    expect(parseTempName(`.a.b.42.0123456789ab.tmp`)).toEqual({ target: 'a.b', pid: 42 });
    // A random part of digits only is still the random part.
    expect(parseTempName(`.x.7.123456789012.tmp`)).toEqual({ target: 'x', pid: 7 });
    expect(parseTempName(`.last.ckpt.123.tmp`)).toEqual({ target: 'last.ckpt', pid: 123 });
    expect(parseTempName(`.epoch-001.ckpt.9.tmp`)).toEqual({ target: 'epoch-001.ckpt', pid: 9 });
    for (const other of ['a.1.tmp', '.a.0.tmp', '.a.tmp', '.a.1.tmp~', '.a.1.XYZ.tmp', 'notes.txt'])
      expect(parseTempName(other), other).toBeUndefined();
  });
});

describe('stale temp files', () => {
  it('of dead processes are listed and removed; live ones, other names and directories stay', async () => {
    const dir = freshDir();
    const dead = deadPid();
    const files = {
      stale: `.last.ckpt.${dead}.0123456789ab.tmp`,
      staleLegacy: `.last.ckpt.${dead}.tmp`,
      staleOther: `.report.json.${dead}.abcdefabcdef.tmp`,
      live: `.last.ckpt.${process.ppid}.0123456789ab.tmp`,
      own: `.last.ckpt.${process.pid}.0123456789ab.tmp`,
      notOurs: 'last.ckpt.1.tmp',
      target: 'last.ckpt',
    };
    for (const f of Object.values(files)) writeFileSync(join(dir, f), 'partial');
    mkdirSync(join(dir, `.sub.${dead}.tmp`));
    const at = (...names: string[]) => names.map((f) => join(dir, f)).sort();

    expect(await staleTempFiles(dir)).toEqual(at(files.stale, files.staleLegacy, files.staleOther));
    expect(await staleTempFiles(dir, { target: join(dir, 'last.ckpt') })).toEqual(
      at(files.stale, files.staleLegacy),
    );
    expect(await staleTempFiles(dir, { target: 'report.json' })).toEqual(at(files.staleOther));
    const filter = (p: string) => {
      if (p.endsWith(files.staleLegacy)) throw new Error('unreadable');
      return !p.endsWith(files.staleOther);
    };
    expect(await removeStaleTempFiles(dir, { filter })).toEqual(at(files.stale));
    expect(await removeStaleTempFiles(dir)).toEqual(at(files.staleLegacy, files.staleOther));
    expect(readdirSync(dir).sort()).toEqual(
      [files.live, files.own, files.notOurs, files.target, `.sub.${dead}.tmp`].sort(),
    );
    expect(await removeStaleTempFiles(join(dir, 'missing'))).toEqual([]);
  });
});
