/**
 * Readers open only regular files and read no more than their size: a device
 * (/dev/zero never ends), a FIFO (blocks until a writer comes), a folder or a
 * socket is refused naming the path and what it is. The readers run in child
 * processes killed after a timeout, so a regression fails instead of hanging.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  makeSpecialFiles,
  runModuleInChild,
  type SpecialFiles,
  SPECIAL_FILE_WORDS as WORDS,
} from '@repnets/devkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSafetensors } from '../src/index.js';
import { readRegularFile, readRegularFileSync } from '../src/io/node.js';

const NODE_ENTRY = pathToFileURL(join(import.meta.dirname, '..', 'src', 'io', 'node.ts')).href;
const dir = mkdtempSync(join(tmpdir(), 'fuse-regular-'));
let special: SpecialFiles;
const posix = process.platform !== 'win32';

beforeAll(async () => {
  if (!posix) return;
  special = await makeSpecialFiles(dir, 'input', '.safetensors');
  symlinkSync('/dev/zero', join(dir, 'link-to-zero.safetensors'));
});
afterAll(async () => {
  await special?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Calls `call` (an expression over the module `m`) in a child; returns the error message or 'ok'. */
async function inChild(call: string): Promise<string> {
  const r = await runModuleInChild(
    `const m = await import(${JSON.stringify(NODE_ENTRY)});
     try { await ${call}; console.log('ok'); }
     catch (e) { console.log(String(e.message).split('\\n')[0]); }`,
    { timeoutMs: 20_000 },
  );
  expect(r.timedOut, `${call} hung (killed after 20 s)`).toBe(false);
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

describe.skipIf(!posix)('readers refuse what is not a regular file', () => {
  it.each(Object.keys(WORDS))('loadSafetensorsFile refuses a %s, naming it', async (kind) => {
    const path = special.paths[kind]!;
    expect(await inChild(`m.loadSafetensorsFile(${JSON.stringify(path)})`)).toBe(
      `loadSafetensorsFile: argument 'path' '${path}' is ${WORDS[kind]}, not a regular file`,
    );
  });

  it('a symlink is followed and named by what it points to', async () => {
    const link = join(dir, 'link-to-zero.safetensors');
    expect(await inChild(`m.loadSafetensorsFile(${JSON.stringify(link)})`)).toBe(
      `loadSafetensorsFile: argument 'path' '${link}' is a character device, not a regular file`,
    );
  });

  it.each(Object.keys(WORDS))('readRegularFile and its sync twin refuse a %s', async (kind) => {
    const path = special.paths[kind]!;
    const message = `'${path}' is ${WORDS[kind]}, not a regular file`;
    expect(await inChild(`m.readRegularFile(${JSON.stringify(path)})`)).toBe(message);
    expect(await inChild(`m.readRegularFileSync(${JSON.stringify(path)})`)).toBe(message);
  });

  it('a refusal is a NotARegularFileError carrying the path and the kind', async () => {
    const path = special.paths.FIFO!;
    expect(
      await inChild(
        `m.readRegularFile(${JSON.stringify(path)}).catch((e) => { throw new Error(e instanceof m.NotARegularFileError ? e.path + ' | ' + e.kind : 'other'); })`,
      ),
    ).toBe(`${path} | FIFO (named pipe)`);
  });
});

describe('reading a regular file', () => {
  it('returns exactly its bytes, async and sync', async () => {
    const path = join(dir, 'plain.safetensors');
    const bytes = writeSafetensors({ w: { shape: [3], data: new Float32Array([1, 2, 3]) } });
    writeFileSync(path, bytes);
    expect(new Uint8Array(await readRegularFile(path))).toEqual(bytes);
    expect(new Uint8Array(readRegularFileSync(path))).toEqual(bytes);
  });

  it('a missing file keeps the system error (ENOENT), naming the path', async () => {
    const path = join(dir, 'missing.bin');
    await expect(readRegularFile(path)).rejects.toThrow(/ENOENT.*missing\.bin/);
    expect(() => readRegularFileSync(path)).toThrow(/ENOENT.*missing\.bin/);
  });
});
