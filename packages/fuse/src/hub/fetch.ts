/**
 * `hubFetch` in Node: the bytes of a hub file, through the huggingface_hub
 * cache on disk, so code that runs in both Node and a page can call one
 * function (the browser entry's `hubFetch` keeps its files in the Cache API).
 */
import { readFile } from 'node:fs/promises';
import { type HubDownloadOptions, hubDownload } from './download.js';

/** {@link hubDownload}, then the file's bytes. */
export async function hubFetch(
  repoId: string,
  filename: string,
  options: HubDownloadOptions = {},
): Promise<Uint8Array> {
  return await readFile(await hubDownload(repoId, filename, options));
}
