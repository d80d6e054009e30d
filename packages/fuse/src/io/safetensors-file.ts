/**
 * Node-only file helpers for safetensors. Kept out of the package's main entry
 * so the core stays free of `node:` imports (it also runs in browsers and
 * workers); import them from `@repnets/fuse/node`.
 */

import type { FileHandle } from 'node:fs/promises';
import { FuseError } from '../errors.js';
import { AtomicWriteError, writeFileAtomic } from './atomic-write.js';
import { NotARegularFileError, openRegularFile } from './regular-file.js';
import {
  checkHeaderLength,
  clip,
  decodeTensor,
  parseHeader,
  type SafeTensor,
  type SafeTensors,
  type SafetensorsHeader,
  type TensorToWrite,
  tensorBuffer,
  type WriteSafetensorsOptions,
  writeSafetensors,
} from './safetensors.js';

/**
 * The most bytes one read asks for. Node refuses a single read of 2 GiB or
 * more, so a bigger tensor is read in several positioned reads into its buffer.
 */
export const READ_CHUNK_BYTES = 2 ** 30;

/** Tensors under this size are read in runs through one staging buffer, not one read each. */
const SMALL_TENSOR_BYTES = 2 ** 16;
/** The staging buffer for runs of small tensors. */
const STAGE_BYTES = 2 ** 20;

class ReadFailure extends Error {}

/**
 * Fills `target` from the file at `position`, in reads of at most `chunkBytes`;
 * returns how many bytes the file had (fewer than asked only at its end).
 */
async function readAt(
  handle: FileHandle,
  target: Uint8Array,
  position: number,
  chunkBytes: number,
): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const length = Math.min(chunkBytes, target.length - done);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(target, done, length, position + done));
    } catch (e) {
      throw new ReadFailure((e as Error).message);
    }
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

function cannotRead(path: string, message: string): FuseError {
  return new FuseError('loadSafetensorsFile', 'path', `'${path}' cannot be read: ${message}`);
}

/**
 * `loadSafetensorsFile` with the size of one read as a parameter (tests lower
 * it to a few bytes to check that tensors read in pieces come out whole).
 */
export async function readSafetensorsFile(
  path: string,
  chunkBytes: number = READ_CHUNK_BYTES,
): Promise<SafeTensors> {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1 || chunkBytes > READ_CHUNK_BYTES) {
    throw new FuseError(
      'loadSafetensorsFile',
      'chunkBytes',
      `is ${chunkBytes}, expected an integer from 1 to ${READ_CHUNK_BYTES}`,
    );
  }
  const op = `readSafetensors(${path})`;
  let handle: FileHandle;
  try {
    // A device, FIFO, folder or socket is refused here, before any read.
    ({ handle } = await openRegularFile(path));
  } catch (e) {
    if (e instanceof NotARegularFileError) {
      throw new FuseError('loadSafetensorsFile', 'path', e.message);
    }
    throw cannotRead(path, (e as Error).message);
  }
  try {
    return await readOpen(op, path, handle, chunkBytes);
  } catch (e) {
    throw e instanceof ReadFailure ? cannotRead(path, e.message) : e;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The length field and the header, read and checked before anything else (a
 * function of its own so the header's bytes are garbage once it returns).
 */
async function readHeader(
  op: string,
  path: string,
  handle: FileHandle,
  size: number,
  chunkBytes: number,
): Promise<SafetensorsHeader & { dataStart: number }> {
  const prefix = new Uint8Array(8);
  const got = await readAt(handle, prefix, 0, chunkBytes);
  const headerLength = checkHeaderLength(op, prefix.subarray(0, got), got < 8 ? got : size);
  const headerBytes = new Uint8Array(headerLength);
  const gotHeader = await readAt(handle, headerBytes, 8, chunkBytes);
  if (gotHeader < headerLength) {
    throw cannotRead(path, `it ended at byte ${8 + gotHeader}, but was ${size} bytes when opened`);
  }
  const dataStart = 8 + headerLength;
  return { ...parseHeader(op, prefix, headerBytes, size - dataStart), dataStart };
}

async function readOpen(
  op: string,
  path: string,
  handle: FileHandle,
  chunkBytes: number,
): Promise<SafeTensors> {
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (e) {
    throw new ReadFailure((e as Error).message);
  }
  const { entries, metadata, dataStart } = await readHeader(op, path, handle, size, chunkBytes);

  const tensors = new Map<string, SafeTensor>();
  /** Reads the data bytes of a run of entries (contiguous) into `into`; refuses a file cut short. */
  const readData = async (run: readonly (typeof entries)[number][], into: Uint8Array) => {
    const [head] = run;
    if (head === undefined) return;
    const begin = head.begin;
    const n = await readAt(handle, into, dataStart + begin, chunkBytes);
    if (n < into.length) {
      const e = run.find((t) => t.end > begin + n) ?? head;
      throw new FuseError(
        op,
        clip(e.name),
        `has data_offsets [${e.begin}, ${e.end}], but the file ended at byte ${dataStart + begin + n} (it had ${size} bytes when opened)`,
      );
    }
  };
  let stage: Uint8Array | null = null;
  for (let i = 0; i < entries.length; ) {
    const first = entries[i]!;
    if (first.end - first.begin >= SMALL_TENSOR_BYTES) {
      const buf = tensorBuffer(op, first);
      await readData([first], new Uint8Array(buf));
      tensors.set(first.name, decodeTensor(op, first, buf));
      i++;
      continue;
    }
    // A run of small tensors (contiguous: the header has no holes) in one read.
    let j = i;
    while (
      j < entries.length &&
      entries[j]!.end - entries[j]!.begin < SMALL_TENSOR_BYTES &&
      entries[j]!.end - first.begin <= STAGE_BYTES
    ) {
      j++;
    }
    // j > i: `first` itself is small and within a stage.
    const runEnd = (entries[j - 1] ?? first).end;
    if (runEnd > first.begin) {
      stage ??= new Uint8Array(STAGE_BYTES);
      await readData(entries.slice(i, j), stage.subarray(0, runEnd - first.begin));
    }
    for (; i < j; i++) {
      const e = entries[i]!;
      const buf = tensorBuffer(op, e);
      if (buf.byteLength > 0) {
        new Uint8Array(buf).set(stage!.subarray(e.begin - first.begin, e.end - first.begin));
      }
      tensors.set(e.name, decodeTensor(op, e, buf));
    }
  }
  return { tensors, metadata };
}

/**
 * Reads and parses a .safetensors file; errors name the file. The 8-byte
 * length and the header are read and checked first, then each tensor's bytes
 * straight into its own buffer, so memory is bounded by the tensors read and a
 * file of any size loads as long as each tensor fits one typed array.
 */
export async function loadSafetensorsFile(path: string): Promise<SafeTensors> {
  return readSafetensorsFile(path);
}

/**
 * Writes a .safetensors file atomically with {@link writeFileAtomic}: the
 * bytes go to a temporary file in the same directory (same file system, so the
 * rename cannot degrade to a copy), are flushed to disk, and then renamed over
 * `path`. A crash or an encoding error leaves any previous file at `path`
 * untouched and no partial file behind. The directory must exist.
 */
export async function saveSafetensorsFile(
  path: string,
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
  options?: WriteSafetensorsOptions,
): Promise<void> {
  // Encode first: a bad tensor must fail before anything touches the disk.
  const bytes = writeSafetensors(tensors, metadata, options);
  try {
    await writeFileAtomic(path, bytes, { mkdir: false });
  } catch (e) {
    const reason = e instanceof AtomicWriteError ? e.reason : (e as Error).message;
    throw new FuseError('saveSafetensorsFile', 'path', `'${path}' cannot be written: ${reason}`);
  }
}
