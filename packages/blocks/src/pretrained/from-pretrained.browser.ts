/**
 * `fromPretrained` in a browser: the hub's files through fetch and the Cache
 * API (`@repnets/fuse/hub`'s browser client), so a second visit downloads nothing.
 */
import { hubFetch, readHubConfig } from '@repnets/fuse/hub';
import type { FromPretrainedOptions } from './from-pretrained.js';
import { type PretrainedModel, pretrainedModel } from './pretrained-model.js';

export async function fromPretrained(
  id: string,
  options: FromPretrainedOptions = {},
): Promise<PretrainedModel> {
  const config = readHubConfig(await hubFetch(id, 'config.json', options));
  const weights = await hubFetch(id, 'model.safetensors', options);
  return pretrainedModel({ id, config, weights, weightsFormat: 'safetensors' }, options);
}
