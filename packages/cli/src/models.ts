/** Reading and writing TF.js models for the CLI (file:// through @repnets/blocks). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  isReparameterizable,
  loadLayersModelFile,
  MODEL_JSON,
  type ModelFolderOptions,
  modelFolderFilesOf,
  WEIGHTS_BIN,
  type WeightQuantization,
} from '@repnets/blocks';
import type { AtomicFile } from '@repnets/fuse/node';
import * as tf from '@tensorflow/tfjs';
import { isDirectory } from './path-kind.js';

/** A model.json path, or a directory holding one. */
export function modelJsonPath(path: string): string | undefined {
  const p = resolve(path);
  if (isDirectory(p)) {
    const json = join(p, MODEL_JSON);
    return existsSync(json) ? json : undefined;
  }
  return p.endsWith('.json') && existsSync(p) ? p : undefined;
}

export async function loadModel(path: string): Promise<tf.LayersModel> {
  const json = modelJsonPath(path);
  if (!json)
    throw new Error(`no TF.js model at '${path}' (expected a model.json or a folder holding one)`);
  // Commands that do not pick a backend (info, export) still need one initialized.
  await tf.ready();
  // Every check of a model folder (regular files, sizes, dtypes, layer classes, no graph model).
  return loadLayersModelFile(json);
}

export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(`file://${resolve(dir)}`);
}

/** Whether a model still has multi-branch blocks to fold. */
export function isTrainForm(model: tf.LayersModel): boolean {
  return model.layers.some((l) => isReparameterizable(l));
}

/** The values of `--quantize`, the weight storage of a written TF.js model folder. */
export const QUANTIZE_VALUES: readonly WeightQuantization[] = ['uint8', 'float16'];

/**
 * The files `model` saved into `dir` consists of (weights.bin, then
 * model.json), as bytes to write together with other outputs.
 */
export async function modelFolderOutputs(
  model: tf.LayersModel,
  dir: string,
  options: ModelFolderOptions = {},
): Promise<AtomicFile[]> {
  const files = await modelFolderFilesOf(model, options);
  return [
    { path: join(dir, WEIGHTS_BIN), data: files[WEIGHTS_BIN] },
    { path: join(dir, MODEL_JSON), data: files[MODEL_JSON] },
  ];
}
