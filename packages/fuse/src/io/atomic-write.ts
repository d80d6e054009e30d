/**
 * Atomic file writes for Node: the one implementation the RepNets packages use
 * for every file they save (safetensors, checkpoints, model folders, ONNX
 * files, reports). The bytes go to a hidden temporary file in the target's
 * directory (same file system, so the rename cannot degrade to a copy), are
 * flushed to disk, and the temporary file is renamed over the target; then the
 * directory is flushed so the rename itself survives a power cut. Readers see
 * the old file or the new one, whole, never a mix or a prefix.
 *
 * Temporary files are named `.<basename>.<pid>.<12 hex digits>.tmp`: hidden,
 * unique per write (two writers of one path never share one), and carrying the
 * writer's process id, so {@link removeStaleTempFiles} can tell those that
 * killed processes left from those of writes still under way.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** What {@link writeFileAtomic} writes: text (as UTF-8), bytes, or byte chunks in order. */
export type AtomicWriteData = string | Uint8Array | readonly Uint8Array[];

export interface WriteFileAtomicOptions {
  /** Create the target's directory (and its parents) first. Default `true`. */
  readonly mkdir?: boolean;
  /** Permission bits of a newly written file, before the umask. Default `0o666`. */
  readonly mode?: number;
}

/**
 * A write that failed. The message names the target (`cannot write '<path>':
 * <reason>`); `reason` is the underlying error's message, `code` its errno
 * code (`ENOENT`, `EACCES`, ...) when it had one, and `cause` the error itself.
 * The target is untouched and no temporary file is left behind.
 */
export class AtomicWriteError extends Error {
  override readonly name = 'AtomicWriteError';
  readonly path: string;
  readonly reason: string;
  readonly code: string | undefined;

  constructor(path: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`cannot write '${path}': ${reason}`, { cause });
    this.path = path;
    this.reason = reason;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** The part of a temporary file's name after the target's basename and pid. */
const RANDOM_HEX = 12;
/** `.<basename>.<pid>.<12 hex>.tmp`, the name {@link writeFileAtomic} writes to. */
const TEMP = new RegExp(`^\\.(.+)\\.([1-9]\\d*)\\.[0-9a-f]{${RANDOM_HEX}}\\.tmp$`);
/**
 * `.<basename>.<pid>.tmp`, the name @repnets/train's checkpoints used before
 * this helper; still recognized so their leftovers are cleaned up too. It is
 * tried after the current form, and a pid has at most 10 digits, so no name of
 * this older form passes for one of the current form.
 */
const LEGACY_TEMP = /^\.(.+)\.([1-9]\d*)\.tmp$/;

/** The temporary file's path for one write of `path`: same directory, hidden, unique. */
export function tempPathFor(path: string): string {
  const random = randomBytes(RANDOM_HEX / 2).toString('hex');
  return join(dirname(path), `.${basename(path)}.${process.pid}.${random}.tmp`);
}

/** A temporary file's name split into the target's basename and the writer's pid. */
export interface TempFileName {
  readonly target: string;
  readonly pid: number;
}

/**
 * Parses a file name (no directory) written by {@link tempPathFor} (or the
 * older `.<basename>.<pid>.tmp`); `undefined` for any other name.
 */
export function parseTempName(name: string): TempFileName | undefined {
  const m = TEMP.exec(name) ?? LEGACY_TEMP.exec(name);
  if (!m) return undefined;
  const pid = Number(m[2]);
  return Number.isSafeInteger(pid) ? { target: m[1]!, pid } : undefined;
}

/** `data` as byte chunks in order (see {@link AtomicWriteData}). */
export function chunksOf(data: AtomicWriteData): readonly Uint8Array[] {
  if (typeof data === 'string') return [Buffer.from(data, 'utf8')];
  if (data instanceof Uint8Array) return [data];
  if (Array.isArray(data)) return data;
  throw new TypeError(
    `data must be a string, a Uint8Array or an array of Uint8Arrays, got ${data === null ? 'null' : typeof data}`,
  );
}

function checkChunk(chunk: unknown, i: number): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(
    `data[${i}] must be a Uint8Array, got ${chunk === null ? 'null' : typeof chunk}`,
  );
}

/**
 * Errors of a directory fsync that mean "not possible here" rather than "failed":
 * Windows cannot open a directory (EISDIR, EPERM), some file systems refuse
 * fsync on one (EINVAL, ENOTSUP, EBADF), and a directory may be writable without
 * being readable (EACCES). The file itself was flushed before the rename.
 */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'ENOTSUP', 'EBADF', 'EACCES']);

const unsupported = (e: unknown) =>
  DIR_SYNC_UNSUPPORTED.has((e as NodeJS.ErrnoException | undefined)?.code ?? '');

/** fsync of a directory, skipped where the platform does not allow it. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(dir, 'r');
  } catch (e) {
    if (unsupported(e)) return;
    throw e;
  }
  try {
    await handle.sync();
  } catch (e) {
    if (!unsupported(e)) throw e;
  } finally {
    await handle.close();
  }
}

function syncDirectorySync(dir: string): void {
  let fd: number;
  try {
    fd = fs.openSync(dir, 'r');
  } catch (e) {
    if (unsupported(e)) return;
    throw e;
  }
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    if (!unsupported(e)) throw e;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Creates `path` (which must not exist yet: a temporary name of
 * {@link tempPathFor}), writes `chunks` to it in order and flushes it to disk.
 * The first step of every atomic write, single-file or several at once.
 */
export async function writeNewFileSynced(
  path: string,
  chunks: readonly Uint8Array[],
  mode: number,
): Promise<void> {
  const handle = await fsp.open(path, 'wx', mode);
  try {
    let position = 0;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = checkChunk(chunks[i], i);
      for (let done = 0; done < chunk.byteLength; ) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `path` atomically: to a temporary file in the same directory
 * (see {@link tempPathFor}), fsync, rename over `path`, fsync of the directory
 * (skipped where the platform does not allow it). On any failure the temporary
 * file is removed, `path` keeps what it held (or stays absent), and an
 * {@link AtomicWriteError} naming `path` is thrown. Concurrent writes of one
 * path each complete; the file then holds one of them, whole.
 */
export async function writeFileAtomic(
  path: string,
  data: AtomicWriteData,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const dir = dirname(path);
  let tmp: string | undefined;
  try {
    const chunks = chunksOf(data);
    if (options.mkdir ?? true) await fsp.mkdir(dir, { recursive: true });
    tmp = tempPathFor(path);
    await writeNewFileSynced(tmp, chunks, options.mode ?? 0o666);
    await fsp.rename(tmp, path);
    tmp = undefined;
    await syncDirectory(dir);
  } catch (e) {
    if (tmp !== undefined) await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw new AtomicWriteError(path, e);
  }
}

/** {@link writeFileAtomic} for synchronous callers: the same steps, names and guarantees. */
export function writeFileAtomicSync(
  path: string,
  data: AtomicWriteData,
  options: WriteFileAtomicOptions = {},
): void {
  const dir = dirname(path);
  let tmp: string | undefined;
  try {
    const chunks = chunksOf(data);
    if (options.mkdir ?? true) fs.mkdirSync(dir, { recursive: true });
    tmp = tempPathFor(path);
    const fd = fs.openSync(tmp, 'wx', options.mode ?? 0o666);
    try {
      let position = 0;
      for (let i = 0; i < chunks.length; i++) {
        const chunk = checkChunk(chunks[i], i);
        for (let done = 0; done < chunk.byteLength; ) {
          const n = fs.writeSync(fd, chunk, done, chunk.byteLength - done, position);
          done += n;
          position += n;
        }
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
    tmp = undefined;
    syncDirectorySync(dir);
  } catch (e) {
    if (tmp !== undefined) {
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // Best effort: the write's own error is the one to report.
      }
    }
    throw new AtomicWriteError(path, e);
  }
}

/** Whether process `pid` runs (on this machine): only ESRCH says it does not. */
function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

export interface StaleTempOptions {
  /** Only the temporary files of this target (a basename in the directory, or a path in it). */
  readonly target?: string;
  /**
   * Decides whether a dead process's temporary file is the caller's to remove,
   * e.g. by its first bytes. Default: every one. A filter that throws keeps the file.
   */
  readonly filter?: (path: string) => boolean | Promise<boolean>;
}

/**
 * The temporary files in `dir` (regular files only) that writes of processes
 * which no longer run left behind; those of live processes, this one included,
 * are not listed. A directory that cannot be read lists nothing.
 */
export async function staleTempFiles(
  dir: string,
  options: StaleTempOptions = {},
): Promise<string[]> {
  const target = options.target === undefined ? undefined : basename(options.target);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  const stale: string[] = [];
  for (const name of names.sort()) {
    const temp = parseTempName(name);
    if (!temp || (target !== undefined && temp.target !== target) || alive(temp.pid)) continue;
    const path = join(dir, name);
    try {
      if (!(await fsp.lstat(path)).isFile()) continue;
      if (options.filter && !(await options.filter(path))) continue;
    } catch {
      continue;
    }
    stale.push(path);
  }
  return stale;
}

/**
 * Removes what {@link staleTempFiles} lists and returns the paths removed.
 * Best effort: a file that is already gone (another process cleaned up) or
 * cannot be removed is left out of the result, never an error.
 */
export async function removeStaleTempFiles(
  dir: string,
  options: StaleTempOptions = {},
): Promise<string[]> {
  const removed: string[] = [];
  for (const path of await staleTempFiles(dir, options)) {
    try {
      await fsp.rm(path);
      removed.push(path);
    } catch {
      // Gone already or not ours to touch.
    }
  }
  return removed;
}
