/**
 * Reading the hub's answers: the file metadata a HEAD request carries and the
 * error a failed one means. No I/O here, so a browser client can share it.
 */
import { HubError, type HubErrorCode, type HubFileRef } from './errors.js';

/** What the hub says about one file at one revision. */
export interface HubFileMetadata {
  /** The commit the revision resolved to. */
  readonly commit: string;
  /** The blob's id: the sha256 of the content for LFS files, a git hash otherwise. */
  readonly etag: string;
  /** Size in bytes, when the server said. */
  readonly size: number | undefined;
  /** Where to GET the bytes (the CDN for LFS files). */
  readonly location: string;
}

/** `W/"abc"` -> `abc`: the form the cache names blobs by. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** A 64-hex etag is the sha256 of an LFS file's content, so the bytes can be checked against it. */
export const isSha256 = (etag: string): boolean => /^[0-9a-f]{64}$/.test(etag);

/** A full 40-hex git commit id: a revision that can never move. */
export const isCommitHash = (revision: string): boolean => /^[0-9a-f]{40}$/.test(revision);

/** The metadata of a successful (or cross-host redirect) HEAD answer. */
export function fileMetadata(ref: HubFileRef, headers: Headers, location: string): HubFileMetadata {
  const commit = headers.get('x-repo-commit');
  const etag = headers.get('x-linked-etag') ?? headers.get('etag');
  if (!commit || !etag) {
    const missing = !commit ? 'X-Repo-Commit' : 'ETag';
    throw new HubError(
      ref,
      'bad-response',
      `the server sent no ${missing} header (is HF_ENDPOINT a Hugging Face hub?)`,
    );
  }
  // Both name files in the cache: nothing the server sends may climb out of it.
  const name = /^[\w.-]+$/;
  const normalized = normalizeEtag(etag);
  for (const [header, value] of [
    ['X-Repo-Commit', commit],
    ['ETag', normalized],
  ] as const) {
    if (!name.test(value) || /^\.+$/.test(value))
      throw new HubError(ref, 'bad-response', `the server sent ${header} '${value}', not a hash`);
  }
  const sizeText = headers.get('x-linked-size') ?? headers.get('content-length');
  const size = sizeText !== null && /^\d+$/.test(sizeText) ? Number(sizeText) : undefined;
  return { commit, etag: normalized, size, location };
}

/** The one-line error a non-success status means, using the hub's X-Error-Code where it sent one. */
export function statusError(
  ref: HubFileRef,
  status: number,
  headers: Headers,
  caller?: string,
): HubError {
  const code = headers.get('x-error-code');
  const say = (c: HubErrorCode, problem: string) =>
    new HubError(ref, c, problem, status, { caller });
  if (code === 'RepoNotFound')
    return say(
      'repo-not-found',
      `repository '${ref.repoId}' not found (if it is private, set HF_TOKEN to a token that can read it)`,
    );
  if (code === 'RevisionNotFound')
    return say('revision-not-found', `revision '${ref.revision}' not found in ${ref.repoId}`);
  if (code === 'EntryNotFound')
    return say(
      'entry-not-found',
      `file '${ref.filename}' not found in ${ref.repoId} at revision '${ref.revision}'`,
    );
  if (code === 'GatedRepo')
    return say(
      'gated',
      `${ref.repoId} is gated: accept its terms on the hub, then set HF_TOKEN to a token of that account`,
    );
  if (status === 401 || status === 403)
    return say(
      'unauthorized',
      `access denied: the repository is private or gated, or the token is not valid; set HF_TOKEN to a token that can read it`,
    );
  if (status === 404)
    return say('not-found', `repository or file not found (the server did not say which)`);
  return say('http', `the server refused the request`);
}
