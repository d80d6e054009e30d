/**
 * Several files written as one, for commands whose outputs belong together (a
 * folded .safetensors and its TF.js model, a model.json and its weights.bin):
 * all of them are replaced, or none is.
 *
 * Every file is first written in full, and flushed, to a hidden temporary file
 * next to its target (the names of {@link tempPathFor}, so a killed run's
 * leftovers are found by `removeStaleTempFiles`). Only when all are on disk are
 * they renamed into place, one by one. Before a target is replaced, its old
 * file gets a second name (a hard link, or a copy where the file system has
 * none), so that a rename failing half-way can put back every file already
 * replaced. A kill during the renames themselves (microseconds) is the one
 * moment that can leave some files new and some old.
 */
import * as fsp from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  type AtomicWriteData,
  AtomicWriteError,
  chunksOf,
  syncDirectory,
  tempPathFor,
  type WriteFileAtomicOptions,
  writeNewFileSynced,
} from './atomic-write.js';

/** One file of a {@link writeFilesAtomic} call. */
export interface AtomicFile {
  readonly path: string;
  readonly data: AtomicWriteData;
}

const code = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code;

/**
 * A second name for the file at `path` (under a temporary name next to it),
 * so it can be put back; `undefined` when there is nothing at `path`. A folder
 * at `path` cannot be replaced by a file: refused.
 */
async function keepOld(path: string): Promise<string | undefined> {
  let isDir: boolean;
  try {
    isDir = (await fsp.lstat(path)).isDirectory();
  } catch (e) {
    if (code(e) === 'ENOENT') return undefined;
    throw e;
  }
  if (isDir) throw new Error('it is a folder');
  const backup = tempPathFor(path);
  try {
    await fsp.link(path, backup);
  } catch {
    // No hard links here (FAT, some network file systems): a copy does.
    await fsp.copyFile(path, backup, fsp.constants.COPYFILE_EXCL);
  }
  return backup;
}

const removeQuietly = (path: string) => fsp.rm(path, { force: true }).catch(() => undefined);

/**
 * Writes every file of `files` or none of them (see the module comment). On
 * failure every target holds what it held before (or stays absent), no
 * temporary file is left, folders this call created are removed again, and an
 * {@link AtomicWriteError} names the file that could not be written. Options
 * as {@link WriteFileAtomicOptions}, for every file.
 */
export async function writeFilesAtomic(
  files: readonly AtomicFile[],
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const targets = files.map((f) => resolve(f.path));
  const twice = targets.find((t, i) => targets.indexOf(t) !== i);
  if (twice !== undefined)
    throw new AtomicWriteError(twice, new Error('the same file is listed twice'));

  const created: string[] = [];
  const staged: { path: string; temp: string }[] = [];
  let current = '';
  const undoStaging = async () => {
    for (const s of staged) await removeQuietly(s.temp);
    // Deepest first; a folder that is not empty (someone else's file) stays.
    const deepestFirst = [...created].sort((a, b) => b.length - a.length);
    for (const d of deepestFirst) await fsp.rmdir(d).catch(() => undefined);
  };
  try {
    for (const f of files) {
      current = f.path;
      if (options.mkdir ?? true) {
        const first = await fsp.mkdir(dirname(f.path), { recursive: true });
        if (first !== undefined) {
          for (let d = resolve(dirname(f.path)); ; d = dirname(d)) {
            created.push(d);
            if (d === resolve(first) || dirname(d) === d) break;
          }
        }
      }
      const temp = tempPathFor(f.path);
      staged.push({ path: f.path, temp });
      await writeNewFileSynced(temp, chunksOf(f.data), options.mode ?? 0o666);
    }
  } catch (e) {
    await undoStaging();
    throw new AtomicWriteError(current, e);
  }

  const replaced: { path: string; old: string | undefined }[] = [];
  try {
    for (const s of staged) {
      current = s.path;
      const old = await keepOld(s.path);
      try {
        await fsp.rename(s.temp, s.path);
      } catch (e) {
        if (old !== undefined) await removeQuietly(old);
        throw e;
      }
      replaced.push({ path: s.path, old });
    }
  } catch (e) {
    // Put back what was replaced, newest first.
    for (const r of replaced.reverse()) {
      if (r.old !== undefined) await fsp.rename(r.old, r.path).catch(() => undefined);
      else await removeQuietly(r.path);
    }
    await undoStaging();
    throw new AtomicWriteError(current, e);
  }
  for (const r of replaced) if (r.old !== undefined) await removeQuietly(r.old);
  // Every file is in place; a folder that cannot be flushed cannot undo that.
  for (const d of new Set(staged.map((s) => dirname(s.path)))) {
    await syncDirectory(d).catch(() => undefined);
  }
}
