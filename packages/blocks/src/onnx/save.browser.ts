import type * as tf from '@tensorflow/tfjs';
import type { OnnxExportOptions } from './export.js';
import type { CalibrationSet, OnnxInt8Options, OnnxInt8Result } from './int8.js';

/** The browser build's `saveOnnx`: writing a path needs Node. */
export async function saveOnnx(
  _model: tf.LayersModel,
  path: string,
  _options: OnnxExportOptions = {},
): Promise<number> {
  throw new Error(
    `saveOnnx('${path}'): writing files needs Node; in a browser call exportOnnx(model) and save its bytes (a Blob download, IndexedDB, or onnxruntime-web's InferenceSession.create(bytes))`,
  );
}

/** The browser build's `saveOnnxInt8`: writing a path needs Node. */
export async function saveOnnxInt8(
  _model: tf.LayersModel,
  _calibration: CalibrationSet,
  path: string,
  _options: OnnxInt8Options = {},
): Promise<OnnxInt8Result> {
  throw new Error(
    `saveOnnxInt8('${path}'): writing files needs Node; in a browser call exportOnnxInt8(model, calibration) and save its bytes`,
  );
}
