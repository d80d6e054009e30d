/**
 * Dataset files that are not regular files are refused by name, never read:
 * a CIFAR binary, label list or image that is a FIFO (a read blocks until a
 * writer comes), a device such as /dev/zero (a read never ends), a socket or
 * a folder. Each reader runs in a child process killed after a timeout, so a
 * regression fails instead of hanging the test runner.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  makeSpecialFiles,
  runModuleInChild,
  type SpecialFiles,
  SPECIAL_FILE_WORDS as WORDS,
} from '@repnets/devkit';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DATA = pathToFileURL(join(import.meta.dirname, '..', 'src', 'data', 'files.ts')).href;
const tmp = mkdtempSync(join(tmpdir(), 'train-data-special-'));
const posix = process.platform !== 'win32';
let special: SpecialFiles;

beforeAll(async () => {
  if (posix) special = await makeSpecialFiles(join(tmp, 'targets'));
});
afterAll(async () => {
  await special?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** `kind` at `path`: a FIFO made there, or a symlink to /dev/zero, a folder or a socket. */
function place(path: string, kind: string): void {
  if (kind === 'FIFO') execFileSync('mkfifo', [path]);
  else symlinkSync(special.paths[kind]!, path);
}

/** Runs `call` (an expression over the module `data`) in a child; its first error line, or 'loaded'. */
async function inChild(call: string): Promise<string> {
  const r = await runModuleInChild(
    `const data = await import(${JSON.stringify(DATA)});
     try { await ${call}; console.log('loaded'); }
     catch (e) { console.log(String(e.message).split('\\n')[0]); }`,
    { timeoutMs: 30_000 },
  );
  expect(r.timedOut, `${call} hung (killed after 30 s)`).toBe(false);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
}

const RECORD = 1 + 3 * 1024;
const CIFAR10_FILES = [
  ...[1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`),
  'test_batch.bin',
  'batches.meta.txt',
];

/** A CIFAR-10 folder of one-record files, with `name` replaced by `kind`. */
function cifar10With(name: string, kind: string): string {
  const dir = join(tmp, `c10-${name}-${kind.replace(/ /g, '-')}`);
  mkdirSync(dir);
  for (const f of CIFAR10_FILES) {
    const path = join(dir, f);
    if (f === name) place(path, kind);
    else if (f.endsWith('.txt')) writeFileSync(path, 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n');
    else writeFileSync(path, new Uint8Array(RECORD));
  }
  return dir;
}

describe.skipIf(!posix)('CIFAR files that are not regular files', () => {
  it.each(
    CIFAR10_FILES.flatMap((name) =>
      Object.keys(WORDS)
        .filter(
          (kind) => kind === 'FIFO' || name === 'test_batch.bin' || kind === 'character device',
        )
        .map((kind) => [name, kind] as const),
    ),
  )('cifar10Dataset refuses %s as a %s, naming the path and what it is', async (name, kind) => {
    const dir = cifar10With(name, kind);
    const path = join(dir, name);
    expect(await inChild(`data.cifar10Dataset(${JSON.stringify(dir)})`)).toBe(
      `CIFAR-10: '${path}' is ${WORDS[kind]}, not a regular file: put the file from cifar-10-binary.tar.gz there`,
    );
  });

  it('cifar100Dataset refuses a FIFO train.bin the same way', async () => {
    const dir = join(tmp, 'c100');
    mkdirSync(dir);
    const names = (n: number) => `${Array.from({ length: n }, (_, i) => `c${i}`).join('\n')}\n`;
    writeFileSync(join(dir, 'fine_label_names.txt'), names(100));
    writeFileSync(join(dir, 'coarse_label_names.txt'), names(20));
    writeFileSync(join(dir, 'test.bin'), new Uint8Array(RECORD + 1));
    place(join(dir, 'train.bin'), 'FIFO');
    expect(await inChild(`data.cifar100Dataset(${JSON.stringify(dir)})`)).toBe(
      `CIFAR-100: '${join(dir, 'train.bin')}' is a FIFO (named pipe), not a regular file: put the file from cifar-100-binary.tar.gz there`,
    );
  });
});

async function png(path: string): Promise<void> {
  await sharp(Buffer.alloc(4, 128), { raw: { width: 2, height: 2, channels: 1 } })
    .png()
    .toFile(path);
}

describe.skipIf(!posix)('image-folder files that are not regular files', () => {
  it.each(
    ['FIFO', 'character device', 'socket'].flatMap((kind) =>
      (['throw', 'skip'] as const).map((onError) => [kind, onError] as const),
    ),
  )(
    'a %s named like an image is refused by name when the folder is listed (onError %s)',
    async (kind, onError) => {
      const root = join(tmp, `images-${kind.replace(/ /g, '-')}-${onError}`);
      mkdirSync(join(root, 'a'), { recursive: true });
      mkdirSync(join(root, 'b', 'deep'), { recursive: true });
      await png(join(root, 'a', '1.png'));
      await png(join(root, 'b', '2.png'));
      const bad = join(root, 'b', 'deep', 'x.png');
      place(bad, kind);
      const call = `data.imageFolderDataset(${JSON.stringify(root)}, { size: 2, onError: '${onError}' }).then((d) => Promise.all(d.files.map((_, i) => d.get(i))))`;
      expect(await inChild(call)).toBe(
        `imagefolder:${root}: '${bad}' is ${WORDS[kind]}, not a regular file: move it out of the class folder`,
      );
    },
  );

  it('a folder of regular images, one through a link, still loads: only what is not a file is refused', async () => {
    const root = join(tmp, 'images-fine');
    mkdirSync(join(root, 'a'), { recursive: true });
    mkdirSync(join(root, 'b'), { recursive: true });
    await png(join(root, 'a', '1.png'));
    await png(join(root, 'b', '2.png'));
    symlinkSync(join(root, 'b', '2.png'), join(root, 'b', 'link.png'));
    const call = `data.imageFolderDataset(${JSON.stringify(root)}, { size: 2 }).then(async (d) => { if (d.size !== 2) throw new Error('size ' + d.size); for (let i = 0; i < d.size; i++) await d.get(i); })`;
    expect(await inChild(call)).toBe('loaded');
  });
});
