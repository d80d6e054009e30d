/**
 * The hub cache on disk, laid out as huggingface_hub lays it out so that a
 * Python user's cache serves us and ours serves Python:
 * `<cache>/models--<org>--<name>/blobs/<etag>` holds the bytes,
 * `snapshots/<commit>/<filename>` links to the blob, and `refs/<revision>`
 * holds the commit a branch or tag pointed to when last seen.
 */
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { HubError, type HubFileRef } from './errors.js';
import { checkFileRef } from './ref.js';
import { isCommitHash } from './response.js';

type Env = Readonly<Record<string, string | undefined>>;

const expandHome = (path: string) =>
  path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path;

/** `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(env: Env = process.env): string {
  if (env.HF_HOME) return resolve(expandHome(env.HF_HOME));
  const xdg = env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return resolve(xdg, 'huggingface');
}

/** The hub cache root: `HF_HUB_CACHE`, else `<HF_HOME>/hub`. */
export function hubCacheDir(env: Env = process.env): string {
  return env.HF_HUB_CACHE ? resolve(expandHome(env.HF_HUB_CACHE)) : join(hfHome(env), 'hub');
}

/** `timm/mobileone_s0` -> `models--timm--mobileone_s0`. */
export const repoFolderName = (repoId: string): string => `models--${repoId.split('/').join('--')}`;

/** The paths one file of one repo uses in the cache. */
export interface CachePaths {
  readonly repo: string;
  blob(etag: string): string;
  snapshot(commit: string): string;
  ref(revision: string): string;
}

export function cachePaths(cacheDir: string, repoId: string): CachePaths {
  const repo = join(resolve(cacheDir), repoFolderName(repoId));
  return {
    repo,
    blob: (etag) => join(repo, 'blobs', etag),
    snapshot: (commit) => join(repo, 'snapshots', commit),
    ref: (revision) => join(repo, 'refs', ...revision.split('/')),
  };
}

/**
 * Whether `path` holds a readable file: false when nothing (or a dangling
 * link) is there, an error when something that is not a regular file is.
 */
export function isCachedFile(ref: HubFileRef, path: string): boolean {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!stats.isFile())
    throw new HubError(
      ref,
      'not-a-file',
      `the cache path '${path}' is not a regular file: remove it and try again`,
    );
  return true;
}

/** The commit a revision names in the cache: the revision itself when it is a commit hash. */
function cachedCommit(paths: CachePaths, revision: string): string | undefined {
  try {
    return readFileSync(paths.ref(revision), 'utf8').trim();
  } catch {
    return isCommitHash(revision) ? revision : undefined;
  }
}

/** The cached copy of a file at a revision, with no network: its path, or undefined. */
export function cachedFile(cacheDir: string, ref: HubFileRef): string | undefined {
  const paths = cachePaths(cacheDir, ref.repoId);
  const commit = cachedCommit(paths, ref.revision);
  if (commit === undefined) return undefined;
  const path = join(paths.snapshot(commit), ...ref.filename.split('/'));
  return isCachedFile(ref, path) ? path : undefined;
}

/**
 * The cached copy of `filename` of `repoId` at `options.revision` (default
 * 'main'), or undefined, without any network: what `hubDownload` returns
 * offline. A caller can try the cache before deciding to download.
 */
export function cachedHubFile(
  repoId: string,
  filename: string,
  options: { readonly revision?: string; readonly cacheDir?: string } = {},
): string | undefined {
  const ref: HubFileRef = { repoId, filename, revision: options.revision ?? 'main' };
  checkFileRef(ref);
  return cachedFile(options.cacheDir ?? hubCacheDir(), ref);
}
