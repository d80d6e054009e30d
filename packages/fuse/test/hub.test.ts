/**
 * hubDownload against a local server that answers as the hub does (resolve
 * URLs, X-Repo-Commit / X-Linked-Etag headers, LFS files redirected to a CDN
 * on another host, X-Error-Code on failures). No network, no real home.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hubEtagOf as etagOf,
  type HubServerFile as HubFile,
  type HubServer,
  HUB_MAIN as MAIN,
  type HubRequest as Seen,
  startHubServer,
  HUB_V1 as V1,
} from '@repnets/devkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { cachedHubFile, HubError, hubCacheDir, hubDownload } from '../src/hub/index.js';
import { progressBar } from '../src/hub/progress.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const CONFIG = Buffer.from('{"architecture": "mobileone_s0"}');
const WEIGHTS = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 251));
const CUT = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 13) % 241));
const files: Record<string, HubFile> = {
  'config.json': { bytes: CONFIG },
  'model.safetensors': { bytes: WEIGHTS, lfs: true },
  'sub/cut.bin': { bytes: CUT, lfs: true },
  'corrupt.bin': { bytes: Buffer.from('not what the etag says'), lfs: true, etag: 'c'.repeat(64) },
  'moved.bin': { bytes: Buffer.from('served after a second redirect'), lfs: true },
};

// The local hub (packages/devkit/src/hub-server.ts): org/model, org/private (token 'secret'), old/name renamed to org/model.
let server: HubServer;
let seen: Seen[] = [];
let hubUrl = '';

let home = '';
const cache = () => join(home, 'hub');
const repoDir = () => join(cache(), 'models--org--model');
const count = (host: Seen['host'], method: string) =>
  seen.filter((s) => s.host === host && s.method === method).length;
const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a HubError');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(HubError);
      return err as HubError;
    },
  );

beforeAll(async () => {
  server = await startHubServer({
    repos: { 'org/model': files, 'org/private': files },
    renamed: { 'old/name': 'org/model' },
    tokens: { 'org/private': 'secret' },
  });
  hubUrl = server.hubUrl;
  seen = server.seen;
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'repnets-hub-'));
  vi.stubEnv('HF_HOME', home);
  vi.stubEnv('HF_HUB_CACHE', '');
  vi.stubEnv('HF_ENDPOINT', hubUrl);
  vi.stubEnv('HF_TOKEN', '');
  vi.stubEnv('HF_HUB_OFFLINE', '');
  seen.length = 0;
  server.cutNext = false;
  server.ignoreRange = false;
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(home, { recursive: true, force: true });
});

describe('hubDownload', () => {
  it('downloads into the huggingface_hub layout, then serves the cache without a second GET', async () => {
    const path = await hubDownload('org/model', 'config.json');
    expect(path).toBe(join(repoDir(), 'snapshots', MAIN, 'config.json'));
    expect(readFileSync(path)).toEqual(CONFIG);
    expect(lstatSync(path).isSymbolicLink()).toBe(true);
    const blob = join(repoDir(), 'blobs', etagOf(files['config.json']!));
    expect(readFileSync(blob)).toEqual(CONFIG);
    expect(readFileSync(join(repoDir(), 'refs', 'main'), 'utf8')).toBe(MAIN);
    expect([count('hub', 'HEAD'), count('hub', 'GET')]).toEqual([1, 1]);

    // As huggingface_hub: a branch is checked with one HEAD, the bytes are not fetched again.
    expect(await hubDownload('org/model', 'config.json')).toBe(path);
    expect([count('hub', 'HEAD'), count('hub', 'GET')]).toEqual([2, 1]);
    // A commit hash never moves: no request at all.
    expect(await hubDownload('org/model', 'config.json', { revision: MAIN })).toBe(path);
    expect(seen).toHaveLength(3);
  });

  it('follows an LFS redirect to another host, sending the token to the endpoint only', async () => {
    const path = await hubDownload('org/model', 'model.safetensors', { token: 'secret' });
    expect(readFileSync(path).equals(WEIGHTS)).toBe(true);
    expect(existsSync(join(repoDir(), 'blobs', sha256(WEIGHTS)))).toBe(true);
    const hubAuth = seen.filter((s) => s.host === 'hub').map((s) => s.headers.authorization);
    const cdnAuth = seen.filter((s) => s.host === 'cdn').map((s) => s.headers.authorization);
    expect(hubAuth.length).toBeGreaterThan(0);
    expect(hubAuth.every((a) => a === 'Bearer secret')).toBe(true);
    expect(cdnAuth).toEqual([undefined]);
  });

  it('the GET follows redirects on the other host, still without the token', async () => {
    const path = await hubDownload('org/model', 'moved.bin', { token: 'secret' });
    expect(readFileSync(path).equals(files['moved.bin']!.bytes)).toBe(true);
    const cdnGets = seen
      .filter((s) => s.host === 'cdn')
      .map((s) => [s.url.split('/')[1], s.headers.authorization]);
    expect(cdnGets).toEqual([
      ['moved', undefined],
      ['blobs', undefined],
    ]);
  });

  it('follows a relative redirect of the HEAD (a renamed repo)', async () => {
    const path = await hubDownload('old/name', 'config.json');
    expect(readFileSync(path)).toEqual(CONFIG);
    expect(seen.map((s) => `${s.method} ${s.url}`).slice(0, 2)).toEqual([
      'HEAD /old/name/resolve/main/config.json',
      'HEAD /org/model/resolve/main/config.json',
    ]);
  });

  it('reports progress through the callback', async () => {
    const received: number[] = [];
    await hubDownload('org/model', 'model.safetensors', {
      onProgress: (p) => {
        expect(p.total).toBe(WEIGHTS.length);
        received.push(p.received);
      },
    });
    expect(received.at(-1)).toBe(WEIGHTS.length);
  });

  it('offline with a warm cache opens no socket', async () => {
    expect(cachedHubFile('org/model', 'config.json')).toBeUndefined();
    const path = await hubDownload('org/model', 'config.json');
    expect(cachedHubFile('org/model', 'config.json')).toBe(path);
    const noNetwork = () => {
      throw new Error('fetch called offline');
    };
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    expect(await hubDownload('org/model', 'config.json', { fetch: noNetwork })).toBe(path);
    vi.stubEnv('HF_HUB_OFFLINE', '');
    expect(await hubDownload('org/model', 'config.json', { fetch: noNetwork, offline: true })).toBe(
      path,
    );
  });

  it('offline with a cold cache says the file is not cached and how to get it', async () => {
    const err = await failure(hubDownload('org/model', 'config.json', { offline: true }));
    expect(err.code).toBe('not-cached');
    expect(err.message).toMatch(
      /^hubDownload: org\/model, file 'config\.json', revision 'main': not in the cache .* offline mode is on .*run once with network access/,
    );
    expect(err.message).not.toContain('\n');
  });

  it('a missing repo, file or revision each says which, with the status', async () => {
    const repo = await failure(hubDownload('org/nothing', 'config.json'));
    expect([repo.code, repo.status]).toEqual(['repo-not-found', 404]);
    expect(repo.message).toBe(
      "hubDownload: org/nothing, file 'config.json', revision 'main': HTTP 404: repository 'org/nothing' not found (if it is private, set HF_TOKEN to a token that can read it)",
    );
    const entry = await failure(hubDownload('org/model', 'missing.json'));
    expect([entry.code, entry.status]).toEqual(['entry-not-found', 404]);
    expect(entry.message).toContain(
      "file 'missing.json' not found in org/model at revision 'main'",
    );
    const rev = await failure(hubDownload('org/model', 'config.json', { revision: 'v9' }));
    expect(rev.code).toBe('revision-not-found');
  });

  it('401 names HF_TOKEN; the token opens the private repo', async () => {
    const err = await failure(hubDownload('org/private', 'config.json'));
    expect([err.code, err.status]).toEqual(['unauthorized', 401]);
    expect(err.message).toMatch(
      /^hubDownload: org\/private, file 'config\.json', revision 'main': HTTP 401: .*HF_TOKEN/,
    );
    vi.stubEnv('HF_TOKEN', 'secret');
    expect(readFileSync(await hubDownload('org/private', 'config.json'))).toEqual(CONFIG);
  });

  it('a network error without a cached copy is one line naming the URL', async () => {
    const err = await failure(
      hubDownload('org/model', 'config.json', { endpoint: 'http://127.0.0.1:1' }),
    );
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/network error for http:\/\/127\.0\.0\.1:1\/org\/model/);
  });

  it('resumes an interrupted download with a Range request', async () => {
    server.cutNext = true;
    const err = await failure(hubDownload('org/model', 'sub/cut.bin'));
    expect(err.code).toBe('network');
    expect(err.message).toMatch(/download interrupted after \d+ of 100000 bytes.*run again/);
    const partial = join(repoDir(), 'blobs', `${sha256(CUT)}.incomplete`);
    const have = readFileSync(partial).length;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThan(CUT.length);

    const path = await hubDownload('org/model', 'sub/cut.bin');
    expect(path).toBe(join(repoDir(), 'snapshots', MAIN, 'sub', 'cut.bin'));
    expect(readFileSync(path).equals(CUT)).toBe(true);
    expect(seen.filter((s) => s.host === 'cdn').at(-1)?.headers.range).toBe(`bytes=${have}-`);
    expect(existsSync(partial)).toBe(false);
  });

  it('starts over when the server ignores the Range request', async () => {
    server.cutNext = true;
    await failure(hubDownload('org/model', 'sub/cut.bin'));
    server.ignoreRange = true;
    const path = await hubDownload('org/model', 'sub/cut.bin');
    expect(seen.filter((s) => s.host === 'cdn').at(-1)?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(readFileSync(path).equals(CUT)).toBe(true);
  });

  it('refuses a file whose sha256 is not its etag, and removes the partial file', async () => {
    const err = await failure(hubDownload('org/model', 'corrupt.bin'));
    expect(err.code).toBe('corrupt');
    expect(err.message).toMatch(
      /corrupt download: the download's sha256 is [0-9a-f]{64}, expected c{64}/,
    );
    const blobs = join(repoDir(), 'blobs');
    expect(existsSync(join(blobs, 'c'.repeat(64)))).toBe(false);
    expect(existsSync(join(blobs, `${'c'.repeat(64)}.incomplete`))).toBe(false);
  });

  it('a revision other than main writes refs/<revision>, sharing the blob', async () => {
    await hubDownload('org/model', 'config.json');
    const path = await hubDownload('org/model', 'config.json', { revision: 'v1' });
    expect(count('hub', 'GET')).toBe(1);
    expect(path).toBe(join(repoDir(), 'snapshots', V1, 'config.json'));
    expect(readFileSync(join(repoDir(), 'refs', 'v1'), 'utf8')).toBe(V1);
    // ... which an offline call then resolves.
    expect(await hubDownload('org/model', 'config.json', { revision: 'v1', offline: true })).toBe(
      path,
    );
  });

  it('uses HF_HUB_CACHE over HF_HOME', async () => {
    const other = join(home, 'elsewhere');
    vi.stubEnv('HF_HUB_CACHE', other);
    expect(hubCacheDir()).toBe(other);
    const path = await hubDownload('org/model', 'config.json');
    expect(path.startsWith(join(other, 'models--org--model'))).toBe(true);
    vi.stubEnv('HF_HUB_CACHE', '');
    expect(hubCacheDir()).toBe(join(home, 'hub'));
  });

  it('refuses a cache path that is not a regular file', async () => {
    mkdirSync(join(repoDir(), 'snapshots', MAIN, 'config.json'), { recursive: true });
    const err = await failure(hubDownload('org/model', 'config.json'));
    expect(err.code).toBe('not-a-file');
    expect(err.message).toMatch(/the cache path '.*config\.json' is not a regular file/);
  });

  it('refuses repo ids and file names that would leave the cache', async () => {
    for (const [repo, file] of [
      ['../etc', 'config.json'],
      ['org/model', '../../x'],
      ['org/model', '/abs'],
    ] as const) {
      const err = await failure(hubDownload(repo, file));
      expect(err.code).toBe('bad-argument');
    }
    expect(seen).toHaveLength(0);
    const endpoint = await failure(hubDownload('org/model', 'config.json', { endpoint: 'nope' }));
    expect(endpoint.message).toContain("the endpoint 'nope' (HF_ENDPOINT) is not a URL");
  });

  it('refuses a commit or etag from the server that would name a path outside the cache', async () => {
    const lying = (commit: string, etag: string) => async () =>
      new Response(null, { status: 200, headers: { 'X-Repo-Commit': commit, ETag: etag } });
    for (const [commit, etag] of [
      ['../../escape', '"abc"'],
      [MAIN, '"../x"'],
      [MAIN, '".."'],
    ] as const) {
      const err = await failure(
        hubDownload('org/model', 'config.json', { fetch: lying(commit, etag) }),
      );
      expect(err.code).toBe('bad-response');
    }
  });
});

describe('progressBar', () => {
  it('redraws one line at most every 100 ms and ends it with a newline', () => {
    const written: string[] = [];
    const stream = { write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    vi.useFakeTimers({ now: 1_000_000 }); // Date.now() stands still between the calls
    const bar = progressBar(stream);
    const at = (received: number) => ({
      repoId: 'org/model',
      filename: 'w.bin',
      received,
      total: 2e6,
    });
    bar.update(at(0));
    bar.update(at(1e6)); // within 100 ms of the first: not drawn
    bar.done();
    vi.useRealTimers();
    expect(written).toEqual([
      '\rw.bin [........................] 0.0/2.0 MB',
      '\rw.bin [############............] 1.0/2.0 MB',
      '\n',
    ]);
  });
});
