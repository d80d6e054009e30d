/**
 * Node-only file helpers for safetensors. Kept out of the package's main entry
 * so the core stays free of `node:` imports (it also runs in browsers and
 * workers); import them from `@repnets/fuse/node`.
 */

import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FuseError } from '../errors.js';
import {
  readSafetensors,
  type SafeTensors,
  type TensorToWrite,
  type WriteSafetensorsOptions,
  writeSafetensors,
} from './safetensors.js';

/** Reads and parses a .safetensors file; errors name the file. */
export async function loadSafetensorsFile(path: string): Promise<SafeTensors> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new FuseError(
      'loadSafetensorsFile',
      'path',
      `'${path}' cannot be read: ${(e as Error).message}`,
    );
  }
  return readSafetensors(bytes, { source: path });
}

/**
 * Writes a .safetensors file atomically: the bytes go to a temporary file in
 * the same directory (same file system, so the rename cannot degrade to a
 * copy), are flushed to disk, and then renamed over `path`. A crash or an
 * encoding error leaves any previous file at `path` untouched and no partial
 * file behind.
 */
export async function saveSafetensorsFile(
  path: string,
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
  options?: WriteSafetensorsOptions,
): Promise<void> {
  // Encode first: a bad tensor must fail before anything touches the disk.
  const bytes = writeSafetensors(tensors, metadata, options);
  const tmp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new FuseError(
      'saveSafetensorsFile',
      'path',
      `'${path}' cannot be written: ${(e as Error).message}`,
    );
  }
}
