/**
 * `repnets train --pretrained ID|PATH`: the run starts from a checkpoint's
 * weights (a hub repo id through the Hugging Face cache, a folder laid out like
 * a repo, or a lone .safetensors / .pth file) instead of random ones, with a
 * new head when the data has another class count, as timm's
 * `create_model(name, pretrained=True, num_classes=N)` does.
 */
import { fromPretrained, type ModelOptions, resetHead, type ZooName } from '@repnets/blocks';
import { architecture, parseStateDict } from '@repnets/fuse';
import { hubModelFiles } from '@repnets/fuse/hub';
import type { LayersModel } from '@tensorflow/tfjs';
import { UsageError } from './common.js';
import { loadStateDictFile } from './state-dict-file.js';

/**
 * The architecture of a pretrained checkpoint: its config.json's, else the
 * published model whose keys and shapes its state dict has.
 */
export async function pretrainedArchitecture(id: string): Promise<ZooName> {
  const files = await hubModelFiles(id);
  if (files.config) return files.config.architecture;
  const { tensors: stateDict } = await loadStateDictFile(files.weightsPath);
  let name: string | undefined;
  try {
    name = parseStateDict(stateDict, { strict: false }).model?.name;
  } catch (e) {
    throw new Error(`train: --pretrained '${id}': ${e instanceof Error ? e.message : String(e)}`);
  }
  if (name === undefined)
    throw new UsageError(
      `train: --pretrained '${id}' matches no published architecture and has no config.json: name its architecture with --model`,
    );
  return name as ZooName;
}

/**
 * The model a run starts from: `name` built as the recipe builds it (input,
 * channels, stem stride) with the checkpoint's weights, and a fresh head of
 * the data's classes when the checkpoint has another count.
 */
export async function pretrainedModel(
  id: string,
  name: ZooName,
  options: ModelOptions,
  say: (line: string) => void,
): Promise<LayersModel> {
  const record = architecture(name, options);
  const p = await fromPretrained(id, { model: record, inputSize: options.inputSize ?? 224 });
  const classes = p.record.numClasses;
  const wanted = options.numClasses ?? classes;
  const from = `${id} (${p.record.name}, ${p.layout} layout)`;
  if (classes === wanted) {
    say(`pretrained: ${from}, its ${classes}-class head kept`);
    return p.model;
  }
  say(`pretrained: ${from}, a new ${wanted}-class head (the checkpoint's has ${classes})`);
  return resetHead(p.model, wanted, options.seed !== undefined ? { seed: options.seed } : {});
}
