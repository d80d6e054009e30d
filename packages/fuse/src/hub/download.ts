/**
 * `hubDownload`: one file of a Hugging Face hub model repo, into the cache
 * huggingface_hub uses, and its path there. The steps and headers follow
 * huggingface_hub's `hf_hub_download`, so both clients agree on what is
 * cached and when the network is needed.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import { downloadBlob, linkSnapshot } from './blob.js';
import { cachedFile, cachePaths, hfHome, hubCacheDir, isCachedFile } from './cache.js';
import { HubError, type HubFileRef } from './errors.js';
import { type Client, headMetadata } from './http.js';
import { type HubProgress, progressBar } from './progress.js';
import { checkEndpoint, checkFileRef, DEFAULT_HUB_ENDPOINT, resolveUrl } from './ref.js';
import { type HubFileMetadata, isCommitHash } from './response.js';

export interface HubDownloadOptions {
  /** Branch, tag or commit hash. Default 'main'. */
  readonly revision?: string;
  /**
   * Sent as a Bearer token to the endpoint only, never to a host it redirects
   * to. Default `HF_TOKEN`, else the token file a hub login saved; false sends none.
   */
  readonly token?: string | false;
  /** Default `HF_ENDPOINT`, else the public hub. */
  readonly endpoint?: string;
  /** Default `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  readonly cacheDir?: string;
  /** No network at all: the file comes from the cache or not at all. Default `HF_HUB_OFFLINE`. */
  readonly offline?: boolean;
  /** Called as bytes arrive. */
  readonly onProgress?: (progress: HubProgress) => void;
  /** A one-line bar on stderr. Default: when stderr is a terminal. */
  readonly progressBar?: boolean;
  /** The fetch to use (a proxy agent, a test double). Default the global fetch. */
  readonly fetch?: typeof globalThis.fetch;
}

const truthy = (v: string | undefined) => /^(1|on|yes|true)$/i.test(v ?? '');

async function readToken(option: string | false | undefined): Promise<string | undefined> {
  if (option === false) return undefined;
  if (option !== undefined) return option;
  const env = process.env.HF_TOKEN || process.env.HUGGING_FACE_HUB_TOKEN;
  if (env) return env;
  try {
    const saved = await readFile(process.env.HF_TOKEN_PATH ?? join(hfHome(), 'token'), 'utf8');
    return saved.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Downloads `filename` of the model repo `repoId` (`'org/name'`) at
 * `options.revision` into the hub cache, unless it is there already, and
 * returns the file's absolute path in the cache. Offline (`HF_HUB_OFFLINE=1`
 * or `offline: true`) no socket is opened: the cached copy or a HubError.
 * Every failure is a HubError naming repo, file, revision and HTTP status.
 */
export async function hubDownload(
  repoId: string,
  filename: string,
  options: HubDownloadOptions = {},
): Promise<string> {
  const ref: HubFileRef = { repoId, filename, revision: options.revision ?? 'main' };
  checkFileRef(ref);
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const paths = cachePaths(cacheDir, repoId);
  const offline = options.offline ?? truthy(process.env.HF_HUB_OFFLINE);

  if (offline) {
    const cached = cachedFile(cacheDir, ref);
    if (cached !== undefined) return cached;
    throw new HubError(
      ref,
      'not-cached',
      `not in the cache ${cacheDir} and offline mode is on (HF_HUB_OFFLINE or the offline option): run once with network access to download it`,
    );
  }
  // A commit never moves: a cached file at one needs no request.
  if (isCommitHash(ref.revision)) {
    const cached = cachedFile(cacheDir, ref);
    if (cached !== undefined) return cached;
  }

  const endpoint = checkEndpoint(
    ref,
    options.endpoint || process.env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT,
  );
  const client: Client = {
    ref,
    origin: new URL(endpoint).origin,
    token: await readToken(options.token),
    fetch: options.fetch ?? globalThis.fetch,
  };
  const url = resolveUrl(endpoint, ref);

  let meta: HubFileMetadata;
  try {
    meta = await headMetadata(client, url);
  } catch (err) {
    // As huggingface_hub does: no network, but a cached copy of this revision, is not an error.
    if (err instanceof HubError && err.code === 'network') {
      const cached = cachedFile(cacheDir, ref);
      if (cached !== undefined) return cached;
    }
    throw err;
  }

  if (ref.revision !== meta.commit)
    await writeFileAtomic(paths.ref(ref.revision), meta.commit, { mkdir: true });
  const pointer = join(paths.snapshot(meta.commit), ...filename.split('/'));
  if (isCachedFile(ref, pointer)) return pointer;

  const blob = paths.blob(meta.etag);
  if (!isCachedFile(ref, blob)) {
    const bar =
      (options.progressBar ?? process.stderr.isTTY === true) ? progressBar(process.stderr) : null;
    const report = (received: number) => {
      const progress = { repoId, filename, received, total: meta.size };
      options.onProgress?.(progress);
      bar?.update(progress);
    };
    try {
      await downloadBlob(client, meta, blob, report);
    } finally {
      bar?.done();
    }
  }
  await linkSnapshot(blob, pointer);
  return pointer;
}
