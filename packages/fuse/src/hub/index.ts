/**
 * `@repnets/fuse/hub` in Node: files of Hugging Face hub model repos, cached
 * where and as huggingface_hub caches them, and a model's config and weights
 * by repo id or local path. Browsers get `browser.ts` (fetch and the Cache
 * API) through the export's "browser" condition. Model building from these
 * files lives in @repnets/blocks.
 */
export { cachedHubFile, hubCacheDir } from './cache.js';
export { type HubModelConfig, readHubConfig } from './config.js';
export { type HubDownloadOptions, hubDownload } from './download.js';
export { HubError, type HubErrorCode, type HubFileRef } from './errors.js';
export { hubFetch } from './fetch.js';
export { type HubModelFiles, hubModelFiles } from './model-files.js';
export type { HubProgress } from './progress.js';
export { DEFAULT_HUB_ENDPOINT } from './ref.js';
