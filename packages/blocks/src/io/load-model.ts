/**
 * Loading a layers model from a folder on disk with every check of the
 * `file://` handler, plus the one the router cannot make: a graph model given
 * where a layers model is expected is refused by name, instead of TF.js
 * printing the whole graph as an "Improper config format".
 */
import * as tf from '@tensorflow/tfjs';
import { fileSystem } from './file-system.js';

/**
 * Loads the TF.js layers model in `path` (a folder holding model.json, or the
 * model.json itself). Refuses, in one line naming the file: anything that is
 * not a regular file, a graph model, a model.json without weights manifest, a
 * weights file longer or shorter than its manifest (quantized weights counted
 * at their stored size), a weight whose dtype is not float32, a uint8 or
 * uint16 weight without a finite min and scale, and a layer class that is not
 * registered (saying how to register it).
 */
export function loadLayersModelFile(path: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(fileSystem(path, { expect: 'layers-model' }));
}
