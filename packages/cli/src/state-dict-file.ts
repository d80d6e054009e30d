/**
 * A PyTorch state dict read from a file, whichever of the two formats it is in:
 * a safetensors file or a torch.save `.pth` zip archive. The file's first bytes
 * decide, not its name, so a `.pth` saved as `model.safetensors` (or the other
 * way round) is still read.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { StateDict } from '@repnets/fuse';
import { loadSafetensorsFile, readTorchFile } from '@repnets/fuse/node';
import { statOf } from './path-kind.js';

/** What a state dict file is, by its first bytes. */
export type StateDictFormat = 'safetensors' | 'pth';

/** A state dict as the CLI's commands use it. */
export interface StateDictFile {
  readonly format: StateDictFormat;
  readonly tensors: StateDict;
  /** The safetensors `__metadata__`; a `.pth` has none, so it is empty. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * The format of the regular file at `path` by its first 9 bytes, or undefined
 * when they say neither (or there is no regular file to read). A zip archive is
 * a torch.save checkpoint; a pickle (0x80, protocol 2-5) not followed by a JSON
 * header at byte 8 is a legacy torch.save, which the `.pth` reader refuses with
 * its advice, so it counts as `.pth` here; safetensors is an 8-byte length and
 * then `{`.
 */
export function sniffStateDict(path: string): StateDictFormat | undefined {
  // Asked before opening, so a FIFO or device is never opened (it could block).
  if (statOf(path)?.isFile() !== true) return undefined;
  const head = new Uint8Array(9);
  let got: number;
  try {
    const fd = openSync(path, 'r');
    try {
      got = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const [b0, b1, b2, b3] = head;
  if (got >= 4 && b0 === 0x50 && b1 === 0x4b && b2 === 0x03 && b3 === 0x04) return 'pth';
  const jsonAt8 = got === 9 && head[8] === 0x7b;
  if (jsonAt8) return 'safetensors';
  if (got >= 2 && b0 === 0x80 && b1 !== undefined && b1 >= 2 && b1 <= 5) return 'pth';
  return undefined;
}

/**
 * Reads the state dict at `path`: a torch.save archive (or legacy pickle) with
 * `readTorchFile`, anything else with the safetensors reader, whose errors say
 * what is wrong with it. Errors name the file.
 */
export async function loadStateDictFile(path: string): Promise<StateDictFile> {
  if (sniffStateDict(path) === 'pth') {
    return { format: 'pth', tensors: await readTorchFile(path), metadata: {} };
  }
  const { tensors, metadata } = await loadSafetensorsFile(path);
  return { format: 'safetensors', tensors, metadata };
}
