/**
 * `repnets train --resume` (or `--overwrite`) into a run folder whose
 * checkpoint, or another file the run writes, is not a regular file (a FIFO, a
 * device such as /dev/zero, a socket, a folder; through a link too) says what
 * it is, in one line, before anything is read or removed: not that it is
 * "not a RepNets checkpoint". Each command runs in a child killed after a
 * timeout, so a reader that blocks on the FIFO fails the test instead of
 * hanging it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSpecialFiles, type SpecialFiles } from '@repnets/devkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRepnets } from './helpers/cli.js';
import { oneLine } from './helpers/files.js';

const dir = join(import.meta.dirname, '.tmp', 'train-resume-not-a-file');
const posix = process.platform !== 'win32';
let special: SpecialFiles;

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (posix) special = await makeSpecialFiles(join(dir, 'targets'));
});
afterAll(async () => {
  await special?.close();
  rmSync(dir, { recursive: true, force: true });
});

const WORDS: Record<string, string> = {
  'character device': 'a character device',
  FIFO: 'a FIFO (named pipe)',
  folder: 'a folder',
  socket: 'a socket',
};

/** `repnets train --backend wasm ...`, killed after 30 s: a reader that blocks fails the test. */
const train = (...args: string[]) =>
  runRepnets({ cwd: dir, killAfterMs: 30_000 }, 'train', '--backend', 'wasm', ...args);

/**
 * A run folder: a TF.js train/model.json (a file the run wrote) and, at
 * `file`, `kind`: a FIFO made there, or a link to /dev/zero, a folder or a socket.
 */
function runFolder(name: string, file: string, kind: string, withModel = true): string {
  const out = join(dir, name);
  mkdirSync(join(out, 'checkpoints'), { recursive: true });
  if (withModel) {
    mkdirSync(join(out, 'train'), { recursive: true });
    writeFileSync(
      join(out, 'train', 'model.json'),
      JSON.stringify({ modelTopology: {}, weightsManifest: [] }),
    );
  }
  const path = join(out, file);
  if (kind === 'FIFO') execFileSync('mkfifo', [path]);
  else symlinkSync(special.paths[kind]!, path);
  return out;
}

describe.skipIf(!posix)(
  'train --resume and --overwrite: run files that are not regular files',
  () => {
    it.each(
      Object.keys(WORDS).flatMap((kind) =>
        (['--resume', '--overwrite'] as const).map((flag) => [kind, flag] as const),
      ),
    )('checkpoints/last.ckpt as a %s with %s is named for what it is', async (kind, flag) => {
      const out = runFolder(
        `ckpt-${kind.replace(/ /g, '-')}${flag}`,
        'checkpoints/last.ckpt',
        kind,
      );
      const r = await train('--out', out, flag);
      expect(r.hung, 'train hung (killed after 30 s)').toBe(false);
      expect(r.code, r.err).toBe(2);
      expect(oneLine(r.err, 2)).toBe(
        `repnets: train: '${join(out, 'checkpoints', 'last.ckpt')}' is ${WORDS[kind]}, not a regular file; ${flag} would ${flag === '--resume' ? 'read' : 'replace'} it: move it away or pick another --out`,
      );
    });

    it('a FIFO checkpoint alone (no other file of the run) is named too, not "no RepNets run"', async () => {
      const out = runFolder('ckpt-alone', 'checkpoints/last.ckpt', 'FIFO', false);
      const r = await train('--out', out, '--resume');
      expect(r.hung).toBe(false);
      expect(oneLine(r.err, 2)).toBe(
        `repnets: train: '${join(out, 'checkpoints', 'last.ckpt')}' is a FIFO (named pipe), not a regular file; --resume would read it: move it away or pick another --out`,
      );
    });

    it('another file the run writes (deploy/weights.bin) as a FIFO is named as well', async () => {
      const out = runFolder('weights-fifo', 'checkpoints/last.ckpt', 'character device');
      rmSync(join(out, 'checkpoints', 'last.ckpt'));
      mkdirSync(join(out, 'deploy'));
      execFileSync('mkfifo', [join(out, 'deploy', 'weights.bin')]);
      for (const flag of ['--overwrite', '--resume']) {
        const r = await train('--out', out, flag);
        expect(r.hung).toBe(false);
        expect(oneLine(r.err, 2)).toBe(
          `repnets: train: '${join(out, 'deploy', 'weights.bin')}' is a FIFO (named pipe), not a regular file; ${flag} would replace it: move it away or pick another --out`,
        );
      }
    });
  },
);
