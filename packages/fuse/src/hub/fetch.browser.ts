/**
 * `hubFetch` in a browser: one file of a hub model repo as bytes, kept in the
 * Cache API (`caches.open('repnets-hub')`) under its resolve URL, revision
 * included. A page has no file system, no environment variables and cannot
 * see a redirect's headers (the LFS commit and etag), so the cache entry is
 * the URL and a hit costs no request at all, as in transformers.js.
 */
import { HubError, type HubFileRef } from './errors.js';
import type { HubProgress } from './progress.js';
import { checkEndpoint, checkFileRef, DEFAULT_HUB_ENDPOINT, resolveUrl } from './ref.js';
import { statusError } from './response.js';

/** The Cache API cache `hubFetch` keeps files in unless told another. */
export const HUB_CACHE_NAME = 'repnets-hub';

const CALLER = 'hubFetch';

/** The part of the Cache API used here; lib.dom's `Cache` has it. */
interface CacheLike {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
}

export interface HubFetchOptions {
  /** Branch, tag or commit hash. Default 'main'. */
  readonly revision?: string;
  /** Sent as a Bearer token (fetch drops it on a redirect to another origin). Default none. */
  readonly token?: string | false;
  /** Default the public hub. */
  readonly endpoint?: string;
  /** No network at all: the file comes from the cache or not at all. Default false. */
  readonly offline?: boolean;
  /** Called as bytes arrive. */
  readonly onProgress?: (progress: HubProgress) => void;
  /** The fetch to use. Default the global fetch. */
  readonly fetch?: typeof globalThis.fetch;
  /** The Cache API cache's name (default {@link HUB_CACHE_NAME}); false keeps nothing. */
  readonly cache?: string | false;
}

/** The cache, or why there is none (undefined reason: the caller asked for none). */
async function openCache(
  name: string | false | undefined,
): Promise<{ cache: CacheLike } | { cache: undefined; why: string | undefined }> {
  if (name === false) return { cache: undefined, why: undefined };
  const storage = (globalThis as { caches?: { open(name: string): Promise<CacheLike> } }).caches;
  if (storage === undefined)
    return {
      cache: undefined,
      why: 'the Cache API is not available here (a page served over plain http from a host other than localhost has none)',
    };
  const cacheName = name ?? HUB_CACHE_NAME;
  try {
    return { cache: await storage.open(cacheName) };
  } catch (err) {
    // Private windows of some browsers refuse storage: download without keeping it.
    return {
      cache: undefined,
      why: `the Cache API refused to open '${cacheName}' (${(err as Error).message})`,
    };
  }
}

/** The body's length as sent, when the server said and no content coding changed it. */
function sentLength(res: Response): number | undefined {
  const coding = res.headers.get('content-encoding');
  if (coding !== null && coding !== 'identity') return undefined;
  const text = res.headers.get('content-length');
  return text !== null && /^\d+$/.test(text) ? Number(text) : undefined;
}

async function readBody(
  ref: HubFileRef,
  res: Response,
  report: (received: number, total: number | undefined) => void,
): Promise<Uint8Array> {
  const total = sentLength(res);
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = res.body?.getReader();
  try {
    for (;;) {
      if (reader === undefined) break;
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.byteLength;
      report(received, total);
    }
  } catch (err) {
    const of = total === undefined ? '' : ` of ${total}`;
    throw new HubError(
      ref,
      'network',
      `download interrupted after ${received}${of} bytes (${(err as Error).message}); nothing was cached, run again`,
      undefined,
      { cause: err, caller: CALLER },
    );
  }
  if (total !== undefined && received !== total)
    throw new HubError(
      ref,
      'corrupt',
      `corrupt download: ${received} bytes arrived, Content-Length said ${total}; nothing was cached, run again`,
      undefined,
      { caller: CALLER },
    );
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/**
 * The bytes of `filename` of the model repo `repoId` at `options.revision`,
 * from the Cache API when it holds the file's resolve URL (no request then),
 * else downloaded, checked against its Content-Length and cached. Offline,
 * no request is made: the cached copy or a HubError. Every failure is one
 * line naming repo, file, revision and HTTP status.
 */
export async function hubFetch(
  repoId: string,
  filename: string,
  options: HubFetchOptions = {},
): Promise<Uint8Array> {
  const ref: HubFileRef = { repoId, filename, revision: options.revision ?? 'main' };
  checkFileRef(ref, CALLER);
  const endpoint = checkEndpoint(ref, options.endpoint || DEFAULT_HUB_ENDPOINT, CALLER);
  const url = resolveUrl(endpoint, ref);
  const opened = await openCache(options.cache);
  const hit = await opened.cache?.match(url);
  if (hit) return new Uint8Array(await hit.arrayBuffer());
  if (options.offline) {
    const where =
      opened.cache === undefined
        ? (opened.why ?? 'the cache option is false')
        : `not in the Cache API cache '${options.cache ?? HUB_CACHE_NAME}'`;
    throw new HubError(
      ref,
      'not-cached',
      `${where} and offline mode is on: run once online to cache it`,
      undefined,
      { caller: CALLER },
    );
  }

  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let res: Response;
  try {
    res = await (options.fetch ?? globalThis.fetch)(url, { headers, redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new HubError(
      ref,
      'network',
      `network error for ${url}: ${cause ?? (err as Error).message ?? String(err)}`,
      undefined,
      { cause: err, caller: CALLER },
    );
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw statusError(ref, res.status, res.headers, CALLER);
  }
  const bytes = await readBody(ref, res, (received, total) =>
    options.onProgress?.({ repoId, filename, received, total }),
  );
  try {
    await opened.cache?.put(
      url,
      new Response(bytes, {
        headers: {
          'Content-Type': res.headers.get('content-type') ?? 'application/octet-stream',
          'Content-Length': String(bytes.byteLength),
        },
      }),
    );
  } catch {
    // A full cache (the page's storage quota) costs only the next call a download.
  }
  return bytes;
}
