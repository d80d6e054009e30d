import { AtomicWriteError, writeFileAtomic } from '@repnets/fuse/node';
import type * as tf from '@tensorflow/tfjs';
import { exportOnnx, type OnnxExportOptions } from './export.js';
import {
  type CalibrationSet,
  exportOnnxInt8,
  type OnnxInt8Options,
  type OnnxInt8Result,
} from './int8.js';

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
  await write('saveOnnx', path, bytes);
  return bytes.length;
}

async function write(who: string, path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    const reason = e instanceof AtomicWriteError ? e.reason : (e as Error).message;
    throw new Error(`${who}: cannot write '${path}': ${reason}`, { cause: e });
  }
}

/**
 * Quantizes `model` (see {@link exportOnnxInt8}) and writes the int8 ONNX file
 * to `path` atomically, as {@link saveOnnx} does. Returns the exporter's result.
 */
export async function saveOnnxInt8(
  model: tf.LayersModel,
  calibration: CalibrationSet,
  path: string,
  options: OnnxInt8Options = {},
): Promise<OnnxInt8Result> {
  const result = await exportOnnxInt8(model, calibration, options);
  await write('saveOnnxInt8', path, result.bytes);
  return result;
}
