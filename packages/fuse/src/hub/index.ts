/**
 * `@repnets/fuse/hub`: files of Hugging Face hub model repos, cached where and
 * as huggingface_hub caches them (Node only; a browser client on the Cache API
 * is to come). Model building from these files lives in @repnets/blocks.
 */
export { cachedHubFile, hubCacheDir } from './cache.js';
export { DEFAULT_HUB_ENDPOINT, type HubDownloadOptions, hubDownload } from './download.js';
export { HubError, type HubErrorCode, type HubFileRef } from './errors.js';
export type { HubProgress } from './progress.js';
