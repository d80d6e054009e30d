/**
 * A pretrained checkpoint's bytes and config.json as a RepNets model: the
 * platform-free half of `fromPretrained` (each entry brings its own way to get
 * the files: the hub cache and local paths in Node, fetch and the Cache API in
 * a browser).
 */
import {
  architecture,
  type LayoutName,
  type NetworkRecord,
  readSafetensors,
  readTorchCheckpoint,
  type StateDict,
} from '@repnets/fuse';
import type { HubModelConfig } from '@repnets/fuse/hub';
import {
  type EvalTransformConfig,
  IMAGENET_CLASSES,
  parsePretrainedCfg,
} from '@repnets/fuse/image';
import type * as tf from '@tensorflow/tfjs';
import { type ImportStateDictOptions, importStateDict } from '../interop/import-state-dict.js';
import type { Form } from '../zoo/from-record.js';

/** How `fromPretrained` builds the model (the hub options are the entry's own). */
export type PretrainedModelOptions = Pick<
  ImportStateDictOptions,
  'form' | 'numClasses' | 'newHead' | 'inputSize' | 'stemStride' | 'eps' | 'name' | 'model'
>;

/** What `fromPretrained` gives: the model, and what a user needs to feed it and read it. */
export interface PretrainedModel {
  readonly model: tf.LayersModel;
  /** The record it was built from (the checkpoint's architecture at the chosen input size). */
  readonly record: NetworkRecord;
  readonly form: Form;
  /** The checkpoint's key layout: export back with `toStateDict(model, { layout, counters })`. */
  readonly layout: LayoutName;
  readonly counters: ReadonlyMap<string, number>;
  /**
   * The checkpoint's eval preprocessing (timm's `pretrained_cfg`), for
   * `classify(model, image, { config })`; undefined for a lone weights file.
   */
  readonly config: EvalTransformConfig | undefined;
  /**
   * Class names: the config's, else ImageNet-1k's for a 1000-class head; undefined
   * for a new head (its classes are the user's) or when nothing says.
   */
  readonly labels: readonly string[] | undefined;
  /** config.json as read; undefined for a lone weights file. */
  readonly hubConfig: HubModelConfig | undefined;
  /** Where it came from: the hub repo id, a folder or a file, with the revision when from the hub. */
  readonly source: { readonly id: string; readonly revision?: string };
}

export interface PretrainedFiles {
  readonly id: string;
  readonly revision?: string;
  readonly config: HubModelConfig | undefined;
  readonly weights: Uint8Array;
  /** 'pytorch': a torch.save zip (`pytorch_model.bin`, `.pth`). */
  readonly weightsFormat: 'safetensors' | 'pytorch';
}

/** The weights file's tensors, with its name in every error. */
function readWeights(files: PretrainedFiles): StateDict {
  return files.weightsFormat === 'pytorch'
    ? readTorchCheckpoint(files.weights, { source: files.id })
    : readSafetensors(files.weights).tensors;
}

/** Builds the model of `files` as options say; errors name the source. */
export function pretrainedModel(
  files: PretrainedFiles,
  options: PretrainedModelOptions = {},
): PretrainedModel {
  const { config } = files;
  const stateDict = readWeights(files);
  const transform = config ? parsePretrainedCfg(config.pretrainedCfg) : undefined;
  // The checkpoint's own input size unless the user asks for another: a model
  // fine-tuned at 160 px still loads weights trained at 224.
  const inputSize = options.inputSize ?? transform?.inputSize.slice(1);
  let imported: ReturnType<typeof importStateDict>;
  try {
    imported = importStateDict(stateDict, {
      ...options,
      // The config's architecture as a record, so that any zoo name works, not
      // only those with published checkpoints.
      ...(options.model === undefined && config
        ? {
            model: architecture(config.architecture, {
              numClasses: config.numClasses,
              ...(options.stemStride !== undefined ? { stemStride: options.stemStride } : {}),
            }),
          }
        : {}),
      ...(inputSize !== undefined ? { inputSize: inputSize as readonly [number, number] } : {}),
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(`fromPretrained('${files.id}'): ${message}`, { cause: e });
  }
  const classes = imported.record.numClasses;
  const labels = options.newHead
    ? undefined
    : ((config?.labelNames?.length === classes ? config.labelNames : undefined) ??
      (classes === IMAGENET_CLASSES.length ? IMAGENET_CLASSES : undefined));
  return {
    model: imported.model,
    record: imported.record,
    form: imported.form,
    layout: imported.layout,
    counters: imported.counters,
    config: transform,
    labels,
    hubConfig: config,
    source: { id: files.id, ...(files.revision ? { revision: files.revision } : {}) },
  };
}
