import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { exportOnnx, type OnnxExportOptions } from './export.js';

/**
 * Exports `model` (see {@link exportOnnx}) and writes it to `path` in Node:
 * to a temp file next to it, then renamed, so a crash never leaves a truncated
 * .onnx behind for a runtime to choke on. Returns the number of bytes written.
 */
export async function saveOnnx(
  model: tf.LayersModel,
  path: string,
  options: OnnxExportOptions = {},
): Promise<number> {
  const bytes = await exportOnnx(model, options);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new Error(`saveOnnx: cannot write '${path}': ${(e as Error).message}`);
  }
  return bytes.length;
}
