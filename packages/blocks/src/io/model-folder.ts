/**
 * The two files of a TF.js layers model folder, as bytes: `model.json` (the
 * topology and the weights manifest) and `weights.bin` (every weight, in the
 * manifest's order). The standard format, so what is written also loads in
 * tfjs-node or the converter. Platform-free: Node's `fileSystem()` writes these,
 * and commands that write a model together with other files (`repnets fuse
 * --tfjs`) stage them with those files.
 */
import * as tf from '@tensorflow/tfjs';
import { quantizeWeights, type WeightQuantization } from './quantize-weights.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** TF.js's weight data (one buffer or several) as one byte array. */
export function concatWeightData(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  return out;
}

/** What a model folder holds, by file name. */
export interface ModelFolderFiles {
  readonly [MODEL_JSON]: string;
  readonly [WEIGHTS_BIN]: Uint8Array;
}

/** How a model folder is written. */
export interface ModelFolderOptions {
  /**
   * Store every float32 weight as uint8 (affine per tensor, 4x smaller) or
   * float16 (2x smaller), in the standard manifest's `quantization` entries:
   * stock `tf.loadLayersModel` dequantizes them on load. Default: float32.
   */
  readonly quantize?: WeightQuantization;
}

/** The files of a model folder for `artifacts` (what `model.save` hands a handler). */
export function modelFolderFiles(
  artifacts: tf.io.ModelArtifacts,
  options: ModelFolderOptions = {},
): ModelFolderFiles {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new Error('model folders hold JSON topologies; this model has a binary one');
  }
  let specs = artifacts.weightSpecs ?? [];
  let data = concatWeightData(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
  if (options.quantize !== undefined) {
    ({ specs, data } = quantizeWeights(specs, data, options.quantize));
  }
  const modelJson: tf.io.ModelJSON = {
    modelTopology: artifacts.modelTopology ?? {},
    weightsManifest: [{ paths: [`./${WEIGHTS_BIN}`], weights: specs }],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata
      ? { userDefinedMetadata: artifacts.userDefinedMetadata }
      : {}),
  };
  return {
    [MODEL_JSON]: JSON.stringify(modelJson),
    [WEIGHTS_BIN]: data,
  };
}

/** The files of `model`'s folder, without writing anything. */
export async function modelFolderFilesOf(
  model: tf.LayersModel,
  options: ModelFolderOptions = {},
): Promise<ModelFolderFiles> {
  let files: ModelFolderFiles | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      files = modelFolderFiles(artifacts, options);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  if (!files) throw new Error('model.save handed no artifacts to the handler');
  return files;
}
