/**
 * Where a command may write, checked before any work starts: a path that
 * cannot be written is found in a second, not after an epoch, and a path that
 * would replace one of the command's own inputs is refused instead of
 * destroying it.
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  openSync,
  readdirSync,
  realpathSync,
  rmSync,
  type Stats,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseTempName, readRegularFileSync } from '@repnets/fuse/node';
import { UsageError } from './common.js';
import { isDirectory, statOf } from './path-kind.js';

/** An absolute path with every existing part resolved through symlinks. */
function canonical(path: string): string {
  const abs = resolve(path);
  let head = abs;
  const tail: string[] = [];
  while (!existsSync(head)) {
    const up = dirname(head);
    if (up === head) break;
    tail.unshift(head.slice(up.length).replace(/^[\\/]/, ''));
    head = up;
  }
  return join(realpathSync(head), ...tail);
}

/** The closest part of `path` that exists (the path itself when it does), and what it is. */
function existingAncestor(path: string): { path: string; stats: Stats } {
  let p = resolve(path);
  let stats = statOf(p);
  while (!stats) {
    p = dirname(p);
    stats = statOf(p);
  }
  return { path: p, stats };
}

/**
 * Refuses `path` (a file to write, or a folder to write into, per `kind`)
 * unless this process can create it: the closest existing ancestor must be a
 * writable folder, which is tried by creating a file there (access(2) says yes
 * to root on a read-only mount or under /proc). `flag` names the option; a
 * file path that ends with a slash is refused, suggesting `exampleName` in it.
 */
export function checkWritable(
  command: string,
  flag: string,
  path: string,
  kind: 'file' | 'dir',
  exampleName = 'output',
): void {
  if (path.trim() === '') throw new UsageError(`${command}: --${flag} must not be empty`);
  // resolve() drops a trailing slash: 'newdir/' would become a file named newdir.
  if (kind === 'file' && /[\\/]$/.test(path)) {
    throw new UsageError(
      `${command}: --${flag} '${path}' ends with a slash, so it names a folder; give the file's name, e.g. '${join(path, exampleName)}'`,
    );
  }
  const abs = resolve(path);
  const existing = statOf(abs);
  if (existing) {
    const isDir = existing.isDirectory();
    if (kind === 'file' && isDir)
      throw new Error(`${command}: cannot write '${path}': it is a folder`);
    if (kind === 'dir' && !isDir)
      throw new Error(`${command}: cannot write into '${path}': it is a file`);
  }
  const { path: base, stats } = existingAncestor(kind === 'file' && existing ? dirname(abs) : abs);
  if (!stats.isDirectory()) {
    throw new Error(`${command}: cannot write '${path}': '${base}' is a file, not a folder`);
  }
  const probe = join(base, `.repnets-write-probe-${process.pid}`);
  try {
    accessSync(base, constants.W_OK);
    closeSync(openSync(probe, 'wx'));
    rmSync(probe, { force: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new Error(`${command}: cannot write '${path}': '${base}' is not writable (${code})`);
  }
}

/**
 * The files a TF.js model folder or model.json consists of: the JSON and the
 * weight files its manifest names. Unreadable parts are left out (loading
 * reports them).
 */
export function modelFiles(jsonPath: string): string[] {
  const files = [jsonPath];
  try {
    // Only a regular file, only its size: a FIFO or /dev/zero here would never end.
    const manifest = (
      JSON.parse(readRegularFileSync(jsonPath).toString('utf8')) as {
        weightsManifest?: { paths?: unknown[] }[];
      }
    ).weightsManifest;
    for (const group of manifest ?? []) {
      for (const p of group.paths ?? []) {
        if (typeof p === 'string') files.push(resolve(dirname(jsonPath), p));
      }
    }
  } catch {
    // Not JSON: loading the model says so, naming the file.
  }
  return files;
}

/** What a model saved into `dir` writes. */
export const savedModelFiles = (dir: string): string[] => [
  join(dir, 'model.json'),
  join(dir, 'weights.bin'),
];

/**
 * Refuses to run when an output would replace an input: the same file
 * (through symlinks too), or an output folder that is an input.
 */
export function refuseOverwritingInputs(
  command: string,
  inputs: readonly string[],
  outputs: readonly string[],
): void {
  const ins = new Map(inputs.map((p) => [canonical(p), p]));
  for (const out of outputs) {
    const hit = ins.get(canonical(out));
    if (hit !== undefined) {
      throw new UsageError(
        `${command}: the output '${out}' would replace the input '${hit}'; write somewhere else`,
      );
    }
  }
}

/**
 * Treats an existing output folder as `repnets train` does: one that holds
 * anything (hidden temp files of earlier writes aside) is refused unless
 * `overwrite`, which replaces only `writes` (file names in it) and keeps
 * everything else. An absent or empty folder is fine.
 */
export function checkOutputFolder(
  command: string,
  dir: string,
  writes: readonly string[],
  overwrite: boolean,
): void {
  if (overwrite || !isDirectory(dir)) return;
  const entries = readdirSync(dir)
    .filter((e) => parseTempName(e) === undefined)
    .sort();
  if (entries.length === 0) return;
  const shown = entries.length > 5 ? [...entries.slice(0, 5), '...'] : entries;
  throw new UsageError(
    `${command}: '${dir}' is not empty (${shown.join(', ')}); replace its ${writes.join(' and ')} with --overwrite, or write somewhere else`,
  );
}
