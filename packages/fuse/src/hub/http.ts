/**
 * The two requests of a download, as huggingface_hub makes them: a HEAD that
 * follows only relative redirects (its headers describe the file), and a GET
 * that follows every redirect. The token goes to the endpoint's origin only.
 */
import { HubError, type HubFileRef } from './errors.js';
import { fileMetadata, type HubFileMetadata, statusError } from './response.js';

const MAX_REDIRECTS = 10;
const isRedirect = (status: number) => status >= 300 && status < 400;
// A Location with no scheme and no host stays on the server that sent it.
const isRelative = (location: string) => !/^([a-z][a-z0-9+.-]*:|\/\/)/i.test(location);

/** fetch with the token on requests to the endpoint's origin only. */
export interface Client {
  readonly ref: HubFileRef;
  readonly origin: string;
  readonly token: string | undefined;
  readonly fetch: typeof globalThis.fetch;
}

export async function send(
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
export async function headMetadata(client: Client, url: string): Promise<HubFileMetadata> {
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
export async function getFollowing(
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
