/**
 * Naming a hub file: the checks on a repo id, file name and revision, and
 * the resolve URL they make. No I/O, so the browser client shares it.
 */
import { HubError, type HubFileRef } from './errors.js';

/** The hub used when neither `endpoint` nor `HF_ENDPOINT` says otherwise. */
export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** Refuses a repo id, file name or revision that would reach outside the repo's cache folder. */
export function checkFileRef(ref: HubFileRef, caller?: string): void {
  const bad = (what: string) => new HubError(ref, 'bad-argument', what, undefined, { caller });
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(ref.repoId) || /--|\.\./.test(ref.repoId))
    throw bad(`the repo id must be 'name' or 'org/name' (letters, digits, '-', '_', '.')`);
  const unsafe = (path: string) =>
    path.startsWith('/') ||
    path.includes('\\') ||
    path.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (unsafe(ref.filename))
    throw bad(`the filename must be a relative path inside the repo, without '.', '..' or '\\'`);
  if (unsafe(ref.revision)) throw bad(`the revision must be a branch, tag or commit hash`);
}

/** The endpoint without trailing slashes, refused unless it is a URL. */
export function checkEndpoint(ref: HubFileRef, endpoint: string, caller?: string): string {
  try {
    new URL(endpoint);
  } catch {
    throw new HubError(
      ref,
      'bad-argument',
      `the endpoint '${endpoint}' (HF_ENDPOINT) is not a URL`,
      undefined,
      { caller },
    );
  }
  return endpoint.replace(/\/+$/, '');
}

/** `<endpoint>/<repo>/resolve/<revision>/<file>`: where the hub serves a file at a revision. */
export function resolveUrl(endpoint: string, ref: HubFileRef): string {
  const path = ref.filename.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${ref.repoId}/resolve/${encodeURIComponent(ref.revision)}/${path}`;
}
