/**
 * The browser entry's hubFetch, run in Node 20 with an in-memory Cache API
 * (test/helpers/memory-caches.ts) and Node's fetch against the local hub of
 * devkit: what a page sees, without a browser.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type HubServer, type HubServerFile, startHubServer } from '@repnets/devkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as browser from '../src/hub/browser.js';
import { HUB_CACHE_NAME, HubError, hubFetch } from '../src/hub/browser.js';
import * as node from '../src/hub/index.js';
import { MemoryCacheStorage } from './helpers/memory-caches.js';

const CONFIG = Buffer.from('{"architecture": "repvgg_a0", "num_classes": 3}');
const WEIGHTS = Buffer.from(Array.from({ length: 150_000 }, (_, i) => (i * 11) % 253));
const files: Record<string, HubServerFile> = {
  'config.json': { bytes: CONFIG },
  'model.safetensors': { bytes: WEIGHTS, lfs: true },
  'moved.bin': { bytes: Buffer.from('served after a second redirect'), lfs: true },
};

let server: HubServer;
let storage: MemoryCacheStorage;
const seen = () => server.seen;
const entries = () => [...(storage.caches.get(HUB_CACHE_NAME)?.entries.keys() ?? [])];
const url = (repo: string, revision: string, file: string) =>
  `${server.hubUrl}/${repo}/resolve/${revision}/${file}`;
const opts = (more: browser.HubFetchOptions = {}) => ({ endpoint: server.hubUrl, ...more });
const noNetwork = (() => {
  throw new Error('fetch called');
}) as typeof fetch;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a HubError');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(HubError);
      expect((err as Error).message).not.toContain('\n');
      return err as HubError;
    },
  );

beforeAll(async () => {
  server = await startHubServer({
    repos: { 'org/model': files, 'org/private': files },
    tokens: { 'org/private': 'secret' },
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  storage = new MemoryCacheStorage();
  vi.stubGlobal('caches', storage);
  server.seen.length = 0;
  server.cutNext = false;
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe('hubFetch (browser)', () => {
  it('follows the LFS redirect, caches under the resolve URL with its revision, then answers with no request', async () => {
    const bytes = await hubFetch('org/model', 'model.safetensors', opts());
    expect(Buffer.from(bytes).equals(WEIGHTS)).toBe(true);
    expect(seen().map((s) => `${s.host} ${s.method}`)).toEqual(['hub GET', 'cdn GET']);
    expect(entries()).toEqual([url('org/model', 'main', 'model.safetensors')]);

    const again = await hubFetch('org/model', 'model.safetensors', opts());
    expect(Buffer.from(again).equals(WEIGHTS)).toBe(true);
    expect(seen()).toHaveLength(2);

    // Another revision is another entry.
    await hubFetch('org/model', 'model.safetensors', opts({ revision: 'v1' }));
    expect(seen()).toHaveLength(4);
    expect(entries()).toEqual([
      url('org/model', 'main', 'model.safetensors'),
      url('org/model', 'v1', 'model.safetensors'),
    ]);
  });

  it('follows a redirect chain on the CDN; the token reaches the hub only', async () => {
    const bytes = await hubFetch('org/private', 'moved.bin', opts({ token: 'secret' }));
    expect(Buffer.from(bytes).toString()).toBe('served after a second redirect');
    const auth = seen().map((s) => [s.host, s.url.split('/')[1], s.headers.authorization]);
    expect(auth).toEqual([
      ['hub', 'org', 'Bearer secret'],
      ['cdn', 'moved', undefined],
      ['cdn', 'blobs', undefined],
    ]);
  });

  it('reports progress from the body stream, ending at the size', async () => {
    const received: number[] = [];
    await hubFetch(
      'org/model',
      'model.safetensors',
      opts({
        onProgress: (p) => {
          expect([p.repoId, p.filename, p.total]).toEqual([
            'org/model',
            'model.safetensors',
            WEIGHTS.length,
          ]);
          received.push(p.received);
        },
      }),
    );
    expect(received.at(-1)).toBe(WEIGHTS.length);
    expect(received).toEqual([...received].sort((a, b) => a - b));
  });

  it('offline with a warm cache makes no request', async () => {
    await hubFetch('org/model', 'config.json', opts());
    const bytes = await hubFetch(
      'org/model',
      'config.json',
      opts({ offline: true, fetch: noNetwork }),
    );
    expect(Buffer.from(bytes).equals(CONFIG)).toBe(true);
  });

  it('offline with a cold cache says so in one line naming repo and file', async () => {
    const err = await failure(
      hubFetch('org/model', 'config.json', opts({ offline: true, fetch: noNetwork })),
    );
    expect(err.code).toBe('not-cached');
    expect(err.message).toBe(
      "hubFetch: org/model, file 'config.json', revision 'main': not in the Cache API cache 'repnets-hub' and offline mode is on: run once online to cache it",
    );
  });

  it('without the Cache API it still downloads, and offline says why nothing is cached', async () => {
    vi.stubGlobal('caches', undefined);
    await hubFetch('org/model', 'config.json', opts());
    await hubFetch('org/model', 'config.json', opts());
    expect(seen().filter((s) => s.method === 'GET')).toHaveLength(2);
    const err = await failure(hubFetch('org/model', 'config.json', opts({ offline: true })));
    expect(err.message).toMatch(/: the Cache API is not available here .* offline mode is on/);
  });

  it('a Cache API that refuses to open (a private window) costs the cache, not the download', async () => {
    vi.stubGlobal('caches', {
      open: () => Promise.reject(new Error('SecurityError: storage is disabled')),
    });
    const bytes = await hubFetch('org/model', 'config.json', opts());
    expect(Buffer.from(bytes).equals(CONFIG)).toBe(true);
    const err = await failure(hubFetch('org/model', 'config.json', opts({ offline: true })));
    expect(err.message).toContain(
      "the Cache API refused to open 'repnets-hub' (SecurityError: storage is disabled) and offline mode is on",
    );
  });

  it('a missing repo or file is one line with the HTTP status, and nothing is cached', async () => {
    const repo = await failure(hubFetch('org/nothing', 'config.json', opts()));
    expect([repo.code, repo.status]).toEqual(['repo-not-found', 404]);
    expect(repo.message).toBe(
      "hubFetch: org/nothing, file 'config.json', revision 'main': HTTP 404: repository 'org/nothing' not found (if it is private, set HF_TOKEN to a token that can read it)",
    );
    const file = await failure(hubFetch('org/model', 'missing.json', opts()));
    expect([file.code, file.status]).toEqual(['entry-not-found', 404]);
    const denied = await failure(hubFetch('org/private', 'config.json', opts()));
    expect([denied.code, denied.status]).toEqual(['unauthorized', 401]);
    expect(entries()).toEqual([]);
  });

  it('an interrupted body is not cached; the next call downloads it whole', async () => {
    server.cutNext = true;
    const err = await failure(hubFetch('org/model', 'model.safetensors', opts()));
    expect(err.code).toBe('network');
    expect(err.message).toMatch(
      /download interrupted after \d+ of 150000 bytes .*nothing was cached/,
    );
    expect(entries()).toEqual([]);
    const bytes = await hubFetch('org/model', 'model.safetensors', opts());
    expect(Buffer.from(bytes).equals(WEIGHTS)).toBe(true);
  });

  it('a body shorter than its Content-Length is refused and not cached', async () => {
    const short: typeof fetch = async () =>
      new Response(WEIGHTS.subarray(0, 1000), {
        headers: { 'Content-Length': String(WEIGHTS.length) },
      });
    const err = await failure(hubFetch('org/model', 'model.safetensors', opts({ fetch: short })));
    expect(err.code).toBe('corrupt');
    expect(err.message).toContain(
      `corrupt download: 1000 bytes arrived, Content-Length said ${WEIGHTS.length}; nothing was cached`,
    );
    expect(entries()).toEqual([]);
  });

  it('refuses bad names and endpoints before any request', async () => {
    for (const [repo, file] of [
      ['../etc', 'config.json'],
      ['org/model', '../x'],
    ] as const) {
      expect((await failure(hubFetch(repo, file, opts()))).code).toBe('bad-argument');
    }
    const endpoint = await failure(hubFetch('org/model', 'config.json', { endpoint: 'nope' }));
    expect(endpoint.message).toMatch(
      /^hubFetch: .*the endpoint 'nope' \(HF_ENDPOINT\) is not a URL/,
    );
    expect(seen()).toHaveLength(0);
  });

  it('a network failure names the URL', async () => {
    const err = await failure(
      hubFetch('org/model', 'config.json', { endpoint: 'http://127.0.0.1:1' }),
    );
    expect(err.code).toBe('network');
    expect(err.message).toContain(
      'network error for http://127.0.0.1:1/org/model/resolve/main/config.json',
    );
  });
});

describe('the Node hubFetch', () => {
  it('gives the same bytes through the disk cache', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'repnets-hub-fetch-'));
    try {
      const bytes = await node.hubFetch('org/model', 'config.json', {
        endpoint: server.hubUrl,
        cacheDir,
        progressBar: false,
      });
      expect(Buffer.from(bytes).equals(CONFIG)).toBe(true);
      expect(entries()).toEqual([]);
      expect(
        readFileSync(join(cacheDir, 'models--org--model', 'refs', 'main'), 'utf8'),
      ).toHaveLength(40);
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });
});

/** The relative imports of one TypeScript source, type-only ones included. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [
    ...source.matchAll(/^(?:import|export)\b[^;]*?from\s*'([^']+)'|^import\s*'([^']+)'/gms),
  ].map((m) => m[1] ?? m[2] ?? '');
}

describe('the browser entry', () => {
  it('reaches no Node module, however deep', () => {
    const start = fileURLToPath(new URL('../src/hub/browser.ts', import.meta.url));
    const reached = new Set<string>();
    const nodeImports: string[] = [];
    const walk = (file: string) => {
      if (reached.has(file)) return;
      reached.add(file);
      for (const spec of importsOf(file)) {
        if (spec.startsWith('.')) walk(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
        else if (spec.startsWith('node:') || builtinModules.includes(spec))
          nodeImports.push(`${file}: ${spec}`);
      }
    };
    walk(start);
    expect(nodeImports).toEqual([]);
    const names = [...reached].map((f) => f.split('/src/')[1]);
    // The walk did see the client and the config reader (and what they use).
    expect(names).toEqual(
      expect.arrayContaining(['hub/fetch.browser.ts', 'hub/config.ts', 'arch/index.ts']),
    );
    expect(names).not.toContain('hub/download.ts');
  });

  it('has every name of the Node entry that works in a page, with the same meaning', () => {
    const shared = ['DEFAULT_HUB_ENDPOINT', 'HubError', 'hubFetch', 'readHubConfig'];
    for (const name of shared) {
      expect(name in browser, name).toBe(true);
      expect(name in node, name).toBe(true);
    }
    for (const name of ['hubDownload', 'hubModelFiles', 'cachedHubFile', 'hubCacheDir'])
      expect(name in browser, name).toBe(false);
    expect(browser.HubError).toBe(node.HubError);
    expect(browser.readHubConfig).toBe(node.readHubConfig);
  });
});
