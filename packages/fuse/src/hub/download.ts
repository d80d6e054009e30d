/**
 * `hubDownload`: one file of a Hugging Face hub model repo, into the cache
 * huggingface_hub uses, and its path there. The steps and headers follow
 * huggingface_hub's `hf_hub_download`, so both clients agree on what is
 * cached and when the network is needed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { writeFileAtomic } from '../io/atomic-write.js';
import {
  cachedFile,
  cachePaths,
  checkFileRef,
  hfHome,
  hubCacheDir,
  isCachedFile,
} from './cache.js';
import { HubError, type HubFileRef } from './errors.js';
import { type HubProgress, progressBar } from './progress.js';
import {
  fileMetadata,
  type HubFileMetadata,
  isCommitHash,
  isSha256,
  statusError,
} from './response.js';

/** The hub used when neither `endpoint` nor `HF_ENDPOINT` says otherwise. */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

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

const MAX_REDIRECTS = 10;
const truthy = (v: string | undefined) => /^(1|on|yes|true)$/i.test(v ?? '');
const isRedirect = (status: number) => status >= 300 && status < 400;
// A Location with no scheme and no host stays on the server that sent it.
const isRelative = (location: string) => !/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(location);

async function readToken(option: string | false | undefined): Promise<string | undefined> {
  if (option === false) return undefined;
  if (option !== undefined) return option;
  const env = process.env.HF_TOKEN ?? process.env.HUGGING_FACE_HUB_TOKEN;
  if (env) return env;
  try {
    const saved = await readFile(process.env.HF_TOKEN_PATH ?? join(hfHome(), 'token'), 'utf8');
    return saved.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** fetch with the token on requests to the endpoint's origin only. */
interface Client {
  readonly ref: HubFileRef;
  readonly origin: string;
  readonly token: string | undefined;
  readonly fetch: typeof globalThis.fetch;
}

async function send(
  client: Client,
  url: string,
  method: 'HEAD' | 'GET',
  extra: Record<string, string>,
): Promise<Response> {
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity', ...extra };
  if (client.token && new URL(url).origin === client.origin)
    headers.Authorization = `Bearer ${client.token}`;
  try {
    return await client.fetch(url, { method, headers, redirect: 'manual' });
  } catch (err) {
    throw networkError(client.ref, url, err);
  }
}

function networkError(ref: HubFileRef, url: string, err: unknown): HubError {
  const cause = (err as { cause?: { message?: string } }).cause?.message;
  const message = cause ?? (err as Error).message ?? String(err);
  return new HubError(ref, 'network', `network error for ${url}: ${message}`, undefined, {
    cause: err,
  });
}

/**
 * HEAD the resolve URL. Relative redirects (a renamed repo) are followed;
 * a redirect to another host (the CDN of an LFS file) is not: its headers
 * carry the metadata, and its Location is where the bytes are.
 */
async function headMetadata(client: Client, url: string): Promise<HubFileMetadata> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await send(client, current, 'HEAD', {});
    const location = res.headers.get('location');
    if (isRedirect(res.status) && location) {
      const next = new URL(location, current).href;
      if (isRelative(location)) {
        current = next;
        continue;
      }
      return fileMetadata(client.ref, res.headers, next);
    }
    if (!res.ok) throw statusError(client.ref, res.status, res.headers);
    return fileMetadata(client.ref, res.headers, current);
  }
  throw new HubError(client.ref, 'http', `more than ${MAX_REDIRECTS} redirects from ${url}`);
}

/** GET following every redirect, the token dropped on other hosts. */
async function getFollowing(
  client: Client,
  url: string,
  extra: Record<string, string>,
): Promise<Response> {
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await send(client, current, 'GET', extra);
    const location = res.headers.get('location');
    if (!(isRedirect(res.status) && location)) return res;
    await res.body?.cancel();
    current = new URL(location, current).href;
  }
  throw new HubError(client.ref, 'http', `more than ${MAX_REDIRECTS} redirects from ${url}`);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The blob's bytes into `<blob>.incomplete`, resuming a partial file with a
 * Range request when the server honours it, checked and renamed into place.
 */
async function downloadBlob(
  client: Client,
  meta: HubFileMetadata,
  blob: string,
  report: (received: number) => void,
): Promise<void> {
  const partial = `${blob}.incomplete`;
  await mkdir(dirname(blob), { recursive: true });
  let start = await sizeOf(partial);
  let res = await getFollowing(
    client,
    meta.location,
    start > 0 ? { Range: `bytes=${start}-` } : {},
  );
  if (res.status === 416) {
    // The partial file is no prefix the server knows (it grew past the size): start over.
    await res.body?.cancel();
    await rm(partial, { force: true });
    start = 0;
    res = await getFollowing(client, meta.location, {});
  }
  if (!res.ok) throw statusError(client.ref, res.status, res.headers);
  const resumed = res.status === 206 && start > 0;
  let received = resumed ? start : 0;
  const file = await open(partial, resumed ? 'a' : 'w');
  try {
    if (res.body) {
      for await (const chunk of res.body) {
        await file.write(chunk);
        received += chunk.byteLength;
        report(received);
      }
    }
  } catch (err) {
    const of = meta.size === undefined ? '' : ` of ${meta.size}`;
    throw new HubError(
      client.ref,
      'network',
      `download interrupted after ${received}${of} bytes (${(err as Error).message}); run again to resume it`,
      undefined,
      { cause: err },
    );
  } finally {
    await file.close();
  }
  await verify(client.ref, meta, partial);
  await rename(partial, blob);
}

/** Size, and sha256 for LFS files: a mismatch removes the partial file so the next try starts clean. */
async function verify(ref: HubFileRef, meta: HubFileMetadata, partial: string): Promise<void> {
  const size = await sizeOf(partial);
  let problem: string | undefined;
  if (meta.size !== undefined && size !== meta.size)
    problem = `the download has ${size} bytes, the server said ${meta.size}`;
  else if (isSha256(meta.etag)) {
    const actual = await sha256Of(partial);
    if (actual !== meta.etag) problem = `the download's sha256 is ${actual}, expected ${meta.etag}`;
  }
  if (problem === undefined) return;
  await rm(partial, { force: true });
  throw new HubError(ref, 'corrupt', `corrupt download: ${problem}; it was removed, run again`);
}

/** `snapshots/<commit>/<filename>` -> the blob: a relative symlink, a copy where links fail. */
async function linkSnapshot(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  await rm(pointer, { force: true });
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch {
    await copyFile(blob, pointer);
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

  const endpoint = (options.endpoint ?? process.env.HF_ENDPOINT ?? DEFAULT_HUB_ENDPOINT).replace(
    /\/+$/,
    '',
  );
  const client: Client = {
    ref,
    origin: new URL(endpoint).origin,
    token: await readToken(options.token),
    fetch: options.fetch ?? globalThis.fetch,
  };
  const encodedPath = filename.split('/').map(encodeURIComponent).join('/');
  const url = `${endpoint}/${repoId}/resolve/${encodeURIComponent(ref.revision)}/${encodedPath}`;

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
