/**
 * An in-memory Cache API (the `caches` global of pages and workers) for
 * Node 20, which has none: enough of CacheStorage and Cache for hubFetch,
 * with the entries in the open for tests to look at.
 */
const keyOf = (request: string | Request) => (typeof request === 'string' ? request : request.url);

interface Entry {
  readonly body: Uint8Array;
  readonly status: number;
  readonly headers: [string, string][];
}

export class MemoryCache {
  readonly entries = new Map<string, Entry>();

  async match(request: string | Request): Promise<Response | undefined> {
    const e = this.entries.get(keyOf(request));
    return e && new Response(e.body.slice(), { status: e.status, headers: e.headers });
  }

  async put(request: string | Request, response: Response): Promise<void> {
    // As the Cache API: a partial (206) answer cannot be stored.
    if (response.status === 206) throw new TypeError('Cache.put: partial response');
    const body = new Uint8Array(await response.arrayBuffer());
    this.entries.set(keyOf(request), {
      body,
      status: response.status,
      headers: [...response.headers],
    });
  }
}

export class MemoryCacheStorage {
  readonly caches = new Map<string, MemoryCache>();

  async open(name: string): Promise<MemoryCache> {
    let cache = this.caches.get(name);
    if (!cache) {
      cache = new MemoryCache();
      this.caches.set(name, cache);
    }
    return cache;
  }

  async has(name: string): Promise<boolean> {
    return this.caches.has(name);
  }

  async delete(name: string): Promise<boolean> {
    return this.caches.delete(name);
  }
}
