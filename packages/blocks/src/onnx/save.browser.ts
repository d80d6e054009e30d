import type * as tf from '@tensorflow/tfjs';
import type { OnnxExportOptions } from './export.js';

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
