/**
 * `fromPretrained` in Node: a hub repo id through huggingface_hub's cache
 * (`HF_HOME`, `HF_ENDPOINT`, `HF_HUB_OFFLINE`, `HF_TOKEN`), a local folder laid
 * out like a repo, or a lone `.safetensors` / `.pth` file.
 */
import { type HubDownloadOptions, hubModelFiles } from '@repnets/fuse/hub';
import { readRegularFile } from '@repnets/fuse/node';
import {
  type PretrainedModel,
  type PretrainedModelOptions,
  pretrainedModel,
} from './pretrained-model.js';

export interface FromPretrainedOptions extends PretrainedModelOptions, HubDownloadOptions {}

/**
 * A RepNets model with a checkpoint's weights, as timm's
 * `create_model(name, pretrained=True)`: `fromPretrained('timm/mobileone_s0.apple_in1k')`
 * downloads `config.json` and `model.safetensors` (or reads them from the
 * cache) and builds the train form (default) or the deploy form, with the
 * checkpoint's preprocessing and class names beside it. `newHead: true` with
 * `numClasses` starts a fresh classifier for fine-tuning on other classes.
 */
export async function fromPretrained(
  id: string,
  options: FromPretrainedOptions = {},
): Promise<PretrainedModel> {
  const files = await hubModelFiles(id, options);
  const weights = await readRegularFile(files.weightsPath);
  return pretrainedModel(
    {
      id,
      ...(files.revision ? { revision: files.revision } : {}),
      config: files.config,
      weights,
      weightsFormat: files.weightsFormat,
    },
    options,
  );
}
