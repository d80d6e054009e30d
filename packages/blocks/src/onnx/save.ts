import { AtomicWriteError, writeFileAtomic } from '@repnets/fuse/node';
import type * as tf from '@tensorflow/tfjs';
import { exportOnnx, type OnnxExportOptions } from './export.js';

/**
 * Exports `model` (see {@link exportOnnx}) and writes it to `path` in Node:
 * to a temp file next to it, flushed, then renamed (`writeFileAtomic` of
 * @repnets/fuse/node), so a crash never leaves a truncated .onnx behind for a
 * runtime to choke on. Creates the directory. Returns the number of bytes written.
 */
export async function saveOnnx(
  model: tf.LayersModel,
  path: string,
  options: OnnxExportOptions = {},
): Promise<number> {
  const bytes = await exportOnnx(model, options);
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    const reason = e instanceof AtomicWriteError ? e.reason : (e as Error).message;
    throw new Error(`saveOnnx: cannot write '${path}': ${reason}`, { cause: e });
  }
  return bytes.length;
}
