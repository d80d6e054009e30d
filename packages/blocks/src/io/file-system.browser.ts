/**
 * The browser build's stand-in for `file-system.ts`: the same exports, so both
 * entries of @repnets/blocks have one set of types, without node:fs in the
 * browser graph. Pages save and load with TF.js's own schemes.
 */
import type * as tf from '@tensorflow/tfjs';
import type { ModelFolderOptions } from './model-folder.js';

const NEEDS_NODE =
  "model folders on disk need Node; in a browser use model.save('indexeddb://name'), 'downloads://name' or tf.io.browserFiles, and tf.loadLayersModel(url)";

export interface FileSystemOptions extends ModelFolderOptions {
  readonly expect?: 'layers-model';
}

export function fileSystem(path: string, _options?: FileSystemOptions): tf.io.IOHandler {
  throw new Error(`fileSystem('${path}'): ${NEEDS_NODE}`);
}

export function loadLayersModelFile(path: string): Promise<tf.LayersModel> {
  return Promise.reject(new Error(`loadLayersModelFile('${path}'): ${NEEDS_NODE}`));
}
