/**
 * `@repnets/fuse/hub` in a browser: `hubFetch` over fetch and the Cache API,
 * and `readHubConfig`. Nothing here, or in what it imports, is Node's
 * (test/hub-browser.test.ts walks the imports to keep it so).
 */
export { type HubModelConfig, readHubConfig } from './config.js';
export { HubError, type HubErrorCode, type HubFileRef } from './errors.js';
export { HUB_CACHE_NAME, type HubFetchOptions, hubFetch } from './fetch.browser.js';
export type { HubProgress } from './progress.js';
export { DEFAULT_HUB_ENDPOINT } from './ref.js';
