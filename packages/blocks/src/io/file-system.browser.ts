/**
 * The browser build's stand-in for `file-system.ts`: the same exports, so both
 * entries of @repnets/blocks have one set of types, without node:fs in the
 * browser graph. Pages save and load with TF.js's own schemes.
 */
import type * as tf from '@tensorflow/tfjs';

export function fileSystem(path: string): tf.io.IOHandler {
  throw new Error(
    `fileSystem('${path}'): model folders on disk need Node; in a browser use model.save('indexeddb://name'), 'downloads://name' or tf.io.browserFiles, and tf.loadLayersModel(url)`,
  );
}

/** Nothing to route in a browser: `file://` URLs are Node's. */
export function registerFileSystemRouter(): void {}
