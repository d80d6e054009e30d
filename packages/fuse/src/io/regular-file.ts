/**
 * Opening input files so that nothing a user names can hang a reader or fill
 * its memory: only regular files are opened (following symlinks), and a
 * reader asks for no more than the size the file had when it was opened.
 * `/dev/zero` never ends, a FIFO blocks until some writer appears, a folder or
 * a socket is not data: each is refused with one line naming the path and
 * what it is. Every RepNets reader of checkpoints, safetensors and model
 * folders goes through here.
 */
import * as fs from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';

/** What a path is, in the words error messages use. */
export function fileKind(s: fs.Stats): string {
  if (s.isFile()) return 'regular file';
  if (s.isDirectory()) return 'folder';
  if (s.isFIFO()) return 'FIFO (named pipe)';
  if (s.isSocket()) return 'socket';
  if (s.isCharacterDevice()) return 'character device';
  if (s.isBlockDevice()) return 'block device';
  if (s.isSymbolicLink()) return 'symbolic link';
  return 'special file';
}

const article = (kind: string) => (/^[aeiou]/i.test(kind) ? 'an' : 'a');

/** A path that exists but is not a regular file: `'<path>' is a FIFO (named pipe), not a regular file`. */
export class NotARegularFileError extends Error {
  override readonly name = 'NotARegularFileError';
  readonly path: string;
  /** What it is instead: 'folder', 'FIFO (named pipe)', 'socket', 'character device', ... */
  readonly kind: string;

  constructor(path: string, kind: string) {
    super(`'${path}' is ${article(kind)} ${kind}, not a regular file`);
    this.path = path;
    this.kind = kind;
  }
}

/**
 * Opening for reading must not wait: a FIFO swapped in between the check and
 * the open would block on O_RDONLY alone. O_NONBLOCK changes nothing for
 * regular files; Windows has no FIFOs and no such flag.
 */
const READ_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function refuseUnlessRegular(path: string, s: fs.Stats): void {
  if (!s.isFile()) throw new NotARegularFileError(path, fileKind(s));
}

/** A regular file opened for reading, and its size when it was opened. */
export interface OpenedRegularFile {
  readonly handle: FileHandle;
  readonly size: number;
}

/**
 * Opens `path` for reading if it is a regular file: checked before the open
 * (a device or FIFO is never opened) and again on the open handle (a path
 * swapped in between is caught). Errors of the file system (ENOENT, EACCES)
 * come through unchanged; the caller closes the handle.
 */
export async function openRegularFile(path: string): Promise<OpenedRegularFile> {
  refuseUnlessRegular(path, await stat(path));
  const handle = await open(path, READ_FLAGS);
  try {
    const s = await handle.stat();
    refuseUnlessRegular(path, s);
    return { handle, size: s.size };
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw e;
  }
}

/** Node refuses one read of 2 GiB or more: bigger files are read in pieces. */
const CHUNK = 2 ** 30;

function shrank(path: string, got: number, size: number): Error {
  return new Error(
    `'${path}' ended at byte ${got}, but was ${size} bytes when opened (is something writing it?)`,
  );
}

/**
 * The bytes of a regular file: exactly as many as its size when opened, never
 * more (a file that grows meanwhile is read to that size; one that shrinks is
 * an error). Refuses anything else with a {@link NotARegularFileError}.
 */
export async function readRegularFile(path: string): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path);
  try {
    const out = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await handle.read(out, got, Math.min(CHUNK, size - got), got);
      if (bytesRead === 0) throw shrank(path, got, size);
      got += bytesRead;
    }
    return out;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** {@link readRegularFile}, synchronously. */
export function readRegularFileSync(path: string): Buffer {
  refuseUnlessRegular(path, fs.statSync(path));
  const fd = fs.openSync(path, READ_FLAGS);
  try {
    const s = fs.fstatSync(fd);
    refuseUnlessRegular(path, s);
    const out = Buffer.allocUnsafe(s.size);
    let got = 0;
    while (got < s.size) {
      const n = fs.readSync(fd, out, got, Math.min(CHUNK, s.size - got), got);
      if (n === 0) throw shrank(path, got, s.size);
      got += n;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether `path` is a regular file, without opening it: its size if so, a
 * {@link NotARegularFileError} if it is something else. For callers that hand
 * the path to another reader (and for checks before any work starts).
 */
export function checkRegularFile(path: string): number {
  const s = fs.statSync(path);
  refuseUnlessRegular(path, s);
  return s.size;
}
