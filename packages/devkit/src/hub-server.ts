/**
 * A local stand-in for the Hugging Face hub, for tests of hub clients: it
 * answers resolve URLs as the hub does (X-Repo-Commit and ETag headers on
 * HEAD, LFS files redirected to a CDN on a second host with X-Linked-Etag /
 * X-Linked-Size, X-Error-Code on failures), so no test needs the network.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The commits `main` and `v1` resolve to. */
export const HUB_MAIN = 'a'.repeat(40);
export const HUB_V1 = 'b'.repeat(40);

export interface HubServerFile {
  readonly bytes: Uint8Array;
  /** Served from the CDN host with X-Linked-Etag = sha256 (or `etag` when set: a corrupt file). */
  readonly lfs?: boolean;
  readonly etag?: string;
}

export interface HubRequest {
  readonly host: 'hub' | 'cdn';
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
}

export interface HubServerOptions {
  /** Files by repo id, then by path in the repo. */
  readonly repos: Readonly<Record<string, Readonly<Record<string, HubServerFile>>>>;
  /** Old repo id -> new: HEAD and GET get a relative redirect, as after a rename. */
  readonly renamed?: Readonly<Record<string, string>>;
  /** Repo id -> the token it needs (401 without it). */
  readonly tokens?: Readonly<Record<string, string>>;
}

export interface HubServer {
  readonly hubUrl: string;
  readonly cdnUrl: string;
  /** Every request so far, oldest first; tests clear it with `seen.length = 0`. */
  readonly seen: HubRequest[];
  /** The next CDN answer sends half its body, then drops the connection. */
  cutNext: boolean;
  /** The CDN ignores Range headers (answers 200 with the whole body). */
  ignoreRange: boolean;
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The blob id the server gives a file: sha256 for LFS files, a git-like hash otherwise. */
export const hubEtagOf = (f: HubServerFile): string =>
  f.etag ?? (f.lfs ? sha256(f.bytes) : `git-${sha256(f.bytes).slice(0, 20)}`);

const listen = (server: Server) =>
  new Promise<string>((done) =>
    server.listen(0, '127.0.0.1', () => {
      done(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }),
  );

const closed = (server: Server) =>
  new Promise<void>((done) => {
    server.closeAllConnections();
    server.close(() => done());
  });

/** Starts the hub and its CDN on two local ports. */
export async function startHubServer(options: HubServerOptions): Promise<HubServer> {
  const seen: HubRequest[] = [];
  const state = { cutNext: false, ignoreRange: false, cdnUrl: '' };
  const all = Object.values(options.repos).flatMap((files) => Object.values(files));

  const serveHub = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push({ host: 'hub', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(400).end();
    const [, repo, revision, path] = m as unknown as [string, string, string, string];
    const newName = options.renamed?.[repo];
    if (newName !== undefined) {
      res.writeHead(307, { Location: `/${newName}/resolve/${revision}/${path}` });
      return void res.end();
    }
    const token = options.tokens?.[repo];
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`)
      return void res.writeHead(401).end();
    const files = options.repos[repo];
    if (!files) return void res.writeHead(404, { 'X-Error-Code': 'RepoNotFound' }).end();
    const commits: Record<string, string> = {
      main: HUB_MAIN,
      v1: HUB_V1,
      [HUB_MAIN]: HUB_MAIN,
      [HUB_V1]: HUB_V1,
    };
    const commit = commits[decodeURIComponent(revision)];
    if (!commit) return void res.writeHead(404, { 'X-Error-Code': 'RevisionNotFound' }).end();
    const file = files[decodeURIComponent(path)];
    if (!file) return void res.writeHead(404, { 'X-Error-Code': 'EntryNotFound' }).end();
    const etag = hubEtagOf(file);
    if (file.lfs) {
      const where = path === 'moved.bin' ? 'moved' : 'blobs';
      res.writeHead(302, {
        Location: `${state.cdnUrl}/${where}/${etag}`,
        'X-Repo-Commit': commit,
        'X-Linked-Etag': `"${etag}"`,
        'X-Linked-Size': String(file.bytes.length),
      });
      return void res.end();
    }
    res.writeHead(200, {
      'X-Repo-Commit': commit,
      ETag: `W/"${etag}"`,
      'Content-Length': String(file.bytes.length),
    });
    res.end(req.method === 'HEAD' ? undefined : file.bytes);
  };

  const serveCdn = (req: IncomingMessage, res: ServerResponse): void => {
    seen.push({ host: 'cdn', method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.url?.startsWith('/moved/')) {
      res.writeHead(301, { Location: req.url.replace('/moved/', '/blobs/') });
      return void res.end();
    }
    const file = all.find((f) => req.url === `/blobs/${hubEtagOf(f)}`);
    if (!file) return void res.writeHead(404).end();
    const range = state.ignoreRange ? null : /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    const body = file.bytes.subarray(from);
    res.writeHead(range ? 206 : 200, { 'Content-Length': String(body.length) });
    if (state.cutNext) {
      // Half the body, then (once the client has read it) the connection drops.
      state.cutNext = false;
      res.write(body.subarray(0, body.length >> 1), () =>
        setTimeout(() => res.socket?.destroy(), 100),
      );
      return;
    }
    res.end(body);
  };

  const hub = createServer(serveHub);
  const cdn = createServer(serveCdn);
  const hubUrl = await listen(hub);
  state.cdnUrl = await listen(cdn);
  return {
    hubUrl,
    cdnUrl: state.cdnUrl,
    seen,
    get cutNext() {
      return state.cutNext;
    },
    set cutNext(v: boolean) {
      state.cutNext = v;
    },
    get ignoreRange() {
      return state.ignoreRange;
    },
    set ignoreRange(v: boolean) {
      state.ignoreRange = v;
    },
    close: async () => {
      await Promise.all([closed(hub), closed(cdn)]);
    },
  };
}
