/**
 * A checkpoint path that is not a regular file (a device that never ends, a
 * FIFO that blocks until a writer comes, a folder, a socket) is refused naming
 * the path and what it is; it is never read. The loader runs in a child
 * process killed after a timeout, so a regression fails instead of hanging.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
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

const CHECKPOINT = pathToFileURL(
  join(import.meta.dirname, '..', 'src', 'checkpoint', 'checkpoint.ts'),
).href;
const dir = mkdtempSync(join(tmpdir(), 'train-ckpt-special-'));
const posix = process.platform !== 'win32';
let special: SpecialFiles;

beforeAll(async () => {
  if (!posix) return;
  special = await makeSpecialFiles(dir, 'last', '.ckpt');
  symlinkSync('/dev/zero', join(dir, 'zero.ckpt'));
});
afterAll(async () => {
  await special?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function loadInChild(path: string): Promise<string> {
  const r = await runModuleInChild(
    `const { loadCheckpoint } = await import(${JSON.stringify(CHECKPOINT)});
     try { await loadCheckpoint(${JSON.stringify(path)}); console.log('loaded'); }
     catch (e) { console.log(String(e.message).split('\\n')[0]); }`,
    { timeoutMs: 20_000 },
  );
  expect(r.timedOut, `loadCheckpoint('${path}') hung (killed after 20 s)`).toBe(false);
  return r.stdout.trim();
}

describe.skipIf(!posix)('loadCheckpoint of something that is not a regular file', () => {
  it.each(Object.keys(WORDS))('refuses a %s, naming the path and what it is', async (kind) => {
    const path = special.paths[kind]!;
    expect(await loadInChild(path)).toBe(
      `checkpoint '${path}': it is ${WORDS[kind]}, not a regular file; refusing to load it`,
    );
  });

  it('follows a symlink and names what it points to', async () => {
    const link = join(dir, 'zero.ckpt');
    expect(await loadInChild(link)).toBe(
      `checkpoint '${link}': it is a character device, not a regular file; refusing to load it`,
    );
  });
});
