/**
 * Node-only: a PyTorch checkpoint read from a file, through the regular-file
 * reader every RepNets reader uses (a device or FIFO is refused before it is
 * opened). The reading itself is the platform-free `readTorchCheckpoint`.
 */

import { FuseError } from '../errors.js';
import type { StateDict } from '../interop/state-dict.js';
import { NotARegularFileError, readRegularFile } from './regular-file.js';
import { type ReadTorchCheckpointOptions, readTorchCheckpoint } from './torch-checkpoint.js';

/**
 * `readTorchCheckpoint` of the file at `path` (a `torch.save` `.pth`/`.pt`);
 * errors name the file. The whole file is read into memory first.
 */
export async function readTorchFile(
  path: string,
  options: Omit<ReadTorchCheckpointOptions, 'source'> = {},
): Promise<StateDict> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(path);
  } catch (e) {
    const problem =
      e instanceof NotARegularFileError
        ? e.message
        : `'${path}' cannot be read: ${(e as Error).message}`;
    throw new FuseError('readTorchFile', 'path', problem);
  }
  return readTorchCheckpoint(bytes, { ...options, source: path });
}
