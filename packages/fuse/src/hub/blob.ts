/**
 * A blob into the cache: streamed to `<blob>.incomplete` (resumed with a
 * Range request when a partial file is there), checked, renamed into place;
 * and the snapshot entry that points to it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, rename, rm, stat, symlink } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { HubError, type HubFileRef } from './errors.js';
import { type Client, getFollowing } from './http.js';
import { type HubFileMetadata, isSha256, statusError } from './response.js';

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
export async function downloadBlob(
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
export async function linkSnapshot(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  await rm(pointer, { force: true });
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch {
    await copyFile(blob, pointer);
  }
}
