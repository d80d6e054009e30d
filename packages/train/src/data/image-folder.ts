/**
 * torchvision-style ImageFolder: `<root>/<class>/**\/<image>`, classes in
 * sorted order, images decoded and resized by sharp (an optional peer
 * dependency, imported only when a folder dataset is made).
 */
import type { BigIntStats, Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileKind, NotARegularFileError, readRegularFile } from '@repnets/fuse/node';
import { checkIndex, errorMessage } from './errors.js';
import type { Dataset, Example } from './types.js';

type Sharp = typeof import('sharp').default;

export interface ImageFolderOptions {
  /** Output size: [height, width], or one number for a square. */
  readonly size: number | readonly [number, number];
  /** 3 (RGB, default) or 1 (grey). Alpha is dropped, grey images are expanded to RGB. */
  readonly channels?: 1 | 3;
  /** How to reach `size`: 'cover' (scale, centre-crop; default), 'contain' (letterbox, black), 'fill' (stretch). */
  readonly fit?: 'cover' | 'contain' | 'fill';
  /**
   * 'throw' (default): a file that fails to decode fails the `get` (and the batch) naming it.
   * 'skip': every file is decoded once while the dataset is made; failures are left out and
   * listed in `skipped`. That first pass costs one full decode of the folder.
   */
  readonly onError?: 'throw' | 'skip';
  /** Keep decoded pixels (bytes, h*w*c per image) in memory after the first decode. Default false. */
  readonly cache?: boolean;
  /** Lower-case file extensions to include. Default: jpg jpeg png webp gif avif tif tiff. */
  readonly extensions?: readonly string[];
  /** Decodes in flight during the 'skip' pass. Default 8. */
  readonly concurrency?: number;
  /**
   * 'folders' (default): one sub-folder per class. 'none': every image under
   * the root (sub-folders included) as one unlabelled set, all in one class
   * named '(unlabelled)', for images that only need to be seen (int8
   * calibration).
   */
  readonly labels?: 'folders' | 'none';
}

export interface ImageFolderDataset extends Dataset {
  readonly root: string;
  /** Absolute path of every example, in index order. */
  readonly files: readonly string[];
  readonly labels: Int32Array;
  /** Files left out by `onError: 'skip'`, with why. */
  readonly skipped: readonly { readonly file: string; readonly error: string }[];
}

const DEFAULT_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff'];
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

let sharpModule: Promise<Sharp> | undefined;

/** sharp, imported on first use so that packages not reading image folders never need it. */
function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then(
    (m) => m.default,
    (e: unknown) => {
      sharpModule = undefined;
      throw new Error(
        'imageFolderDataset decodes images with sharp, an optional peer dependency of @repnets/train ' +
          `that could not be loaded. Install it next to @repnets/train: npm install sharp (or pnpm add sharp). ` +
          `Loading it said: ${errorMessage(e)}`,
        { cause: e },
      );
    },
  );
  return sharpModule;
}

/** Lists `root`'s class folders and images now; images are decoded on `get` (or up front with 'skip'). */
export async function imageFolderDataset(
  dir: string,
  options: ImageFolderOptions,
): Promise<ImageFolderDataset> {
  const root = resolve(dir);
  const name = `imagefolder:${root}`;
  const [height, width] = parseSize(options.size);
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) {
    throw new Error(`${name}: channels must be 1 or 3, not ${String(channels)}`);
  }
  const fit = options.fit ?? 'cover';
  if (!['cover', 'contain', 'fill'].includes(fit)) {
    throw new Error(`${name}: fit must be 'cover', 'contain' or 'fill', not ${String(fit)}`);
  }
  const exts = (options.extensions ?? DEFAULT_EXTENSIONS).map((e) =>
    (e.startsWith('.') ? e : `.${e}`).toLowerCase(),
  );
  const unlabelled = options.labels === 'none';
  if (options.labels !== undefined && !unlabelled && options.labels !== 'folders') {
    throw new Error(`${name}: labels must be 'folders' or 'none', not ${String(options.labels)}`);
  }
  const sharp = await loadSharp();
  const {
    classNames,
    files: listed,
    labels: listedLabels,
  } = unlabelled ? await listImages(root, exts) : await listFolder(root, exts);

  const decode = async (file: string): Promise<Uint8Array> => {
    // Read here, not by sharp: only a regular file, never past its size (a file
    // swapped for a FIFO after listing would block sharp's read for good).
    const bytes = await readRegularFile(file);
    const { data, info } = await sharp(bytes, { failOn: 'error', autoOrient: true })
      .resize(width, height, { fit, background: { r: 0, g: 0, b: 0 } })
      .removeAlpha()
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height || info.channels !== channels) {
      throw new Error(
        `decoded to ${info.height}x${info.width}x${info.channels}, not ${height}x${width}x${channels}`,
      );
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  };

  const cache = options.cache ? new Map<number, Uint8Array>() : undefined;
  let files = listed;
  let labels = listedLabels;
  const skipped: { file: string; error: string }[] = [];
  if (options.onError === 'skip') {
    const decoded = await mapLimit(listed, options.concurrency ?? 8, (f) =>
      decode(f).then(
        (pixels) => ({ pixels }),
        (e: unknown) => ({ error: errorMessage(e) }),
      ),
    );
    const keep: number[] = [];
    decoded.forEach((d, i) => {
      if ('error' in d) skipped.push({ file: listed[i]!, error: d.error });
      else {
        cache?.set(keep.length, d.pixels);
        keep.push(i);
      }
    });
    files = keep.map((i) => listed[i]!);
    labels = Int32Array.from(keep, (i) => listedLabels[i]!);
  } else if (options.onError !== undefined && options.onError !== 'throw') {
    throw new Error(`${name}: onError must be 'throw' or 'skip', not ${String(options.onError)}`);
  }

  const size = files.length;
  const per = height * width * channels;
  return {
    name,
    root,
    size,
    classNames,
    shape: [height, width, channels],
    files,
    labels,
    skipped,
    async get(index: number): Promise<Example> {
      checkIndex(name, index, size);
      let pixels = cache?.get(index);
      if (!pixels) {
        try {
          pixels = await decode(files[index]!);
        } catch (e) {
          throw new Error(
            `${name}: cannot decode ${files[index]} (example ${index}): ${errorMessage(e)}`,
            {
              cause: e,
            },
          );
        }
        cache?.set(index, pixels);
      }
      const data = new Float32Array(per);
      for (let j = 0; j < per; j++) data[j] = BYTE_TO_UNIT[pixels[j]!]!;
      return { image: { data, height, width, channels }, label: labels[index]! };
    },
  };
}

function parseSize(size: ImageFolderOptions['size']): [number, number] {
  const hw = typeof size === 'number' ? [size, size] : [...(size ?? [])];
  if (hw.length !== 2 || !hw.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(
      `imageFolderDataset: size must be a positive integer or [height, width], not ${JSON.stringify(size)}`,
    );
  }
  return hw as [number, number];
}

/** What is at `path`, through links; undefined when it cannot be read. */
const statThrough = (path: string) => stat(path, { bigint: true }).catch(() => undefined);

/**
 * What a path is on disk: device and inode. Two paths with one identity are
 * one folder or one file (a symlink, a hard link, a bind mount).
 */
const identity = (st: BigIntStats) => `${st.dev}:${st.ino}`;

/**
 * A directory entry's stats through links, read only when the entry may be a
 * folder (a folder, or a link that may lead to one: like torchvision's
 * followlinks=True, a link to a folder counts as a folder) or `wanted` (an
 * image name); undefined when not read or unreadable. One stat per entry.
 */
async function entryStats(
  path: string,
  e: { isDirectory(): boolean; isSymbolicLink(): boolean },
  wanted: boolean,
): Promise<{ folder: boolean; st: BigIntStats | undefined }> {
  if (!e.isDirectory() && !e.isSymbolicLink() && !wanted) return { folder: false, st: undefined };
  const st = await statThrough(path);
  return { folder: e.isDirectory() || st?.isDirectory() === true, st };
}

/** Where an identity was first met: its path and its class (-1: the root itself). */
interface Seen {
  readonly path: string;
  readonly cls: number;
}

/**
 * Sorted class folders (hidden ones ignored) and every image under each, in
 * sorted path order. Each real folder is walked once and each real file
 * listed once, whatever links lead to them: a link back up (a loop) or a
 * second link to a folder or file already met in the same class is left out
 * (the first path in sorted order is kept), and one met in another class is
 * refused, since one image cannot have two labels.
 */
async function listFolder(root: string, exts: readonly string[]) {
  const name = `imagefolder:${root}`;
  const rootStat = await statThrough(root);
  if (!rootStat?.isDirectory()) {
    throw new Error(`${name}: ${root} is not a directory. ${LAYOUT}`);
  }
  const classes: { name: string; st: BigIntStats | undefined }[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const { folder, st } = await entryStats(join(root, e.name), e, false);
    if (folder) classes.push({ name: e.name, st });
  }
  classes.sort((a, b) => byCodePoint(a.name, b.name));
  const classNames = classes.map((c) => c.name);
  if (classNames.length === 0) {
    throw new Error(`${name}: no class folders in ${root}. ${LAYOUT}`);
  }
  const twoLabels = (path: string, kind: 'file' | 'folder', first: Seen) =>
    new Error(
      `${name}: ${path} is the same ${kind} as ${first.path}, ${
        kind === 'folder' && first.path === join(root, classNames[first.cls]!) ? 'the' : 'in'
      } class '${classNames[first.cls]}': one image cannot have two labels; remove one of them`,
    );
  // Every class folder is known before any is walked, so a link from one class into another is seen as such.
  const folders = new Map<string, Seen>([[identity(rootStat), { path: root, cls: -1 }]]);
  for (const [c, { name: cls, st }] of classes.entries()) {
    if (!st) continue;
    const path = join(root, cls);
    const id = identity(st);
    const first = folders.get(id);
    if (first) throw twoLabels(path, 'folder', first);
    folders.set(id, { path, cls: c });
  }
  const filesSeen = new Map<string, Seen>();
  const files: string[] = [];
  const labels: number[] = [];
  for (const [c, cls] of classNames.entries()) {
    const found = (
      await walk(join(root, cls), c, exts, folders, twoLabels).catch((e: unknown) => {
        if (!(e instanceof NotARegularFileError)) throw e;
        throw new Error(`${name}: ${e.message}: move it out of the class folder`, { cause: e });
      })
    ).sort((a, b) => byCodePoint(a.path, b.path));
    const before = files.length;
    for (const f of found) {
      const first = f.id === undefined ? undefined : filesSeen.get(f.id);
      if (first && first.cls !== c) throw twoLabels(f.path, 'file', first);
      if (first) continue;
      if (f.id !== undefined) filesSeen.set(f.id, { path: f.path, cls: c });
      files.push(f.path);
      labels.push(c);
    }
    if (files.length === before) {
      throw new Error(
        `${name}: class folder ${join(root, cls)} has no image files (${exts.join(' ')}). ${LAYOUT}`,
      );
    }
  }
  if (classNames.length < 2) {
    throw new Error(
      `${name}: one class folder ('${classNames[0]}') in ${root}: a classifier needs at least two. ${LAYOUT}`,
    );
  }
  return { classNames, files, labels: Int32Array.from(labels) };
}

/** Every image under `root`, in sorted path order, each real folder and file once, all in class 0. */
async function listImages(root: string, exts: readonly string[]) {
  const name = `imagefolder:${root}`;
  const rootStat = await statThrough(root);
  if (!rootStat?.isDirectory()) throw new Error(`${name}: ${root} is not a directory`);
  // One class (0) and the root as its folder: links back up or sideways are walked once, as in listFolder.
  const folders = new Map<string, Seen>([[identity(rootStat), { path: root, cls: 0 }]]);
  const never = (path: string): Error => new Error(`${name}: ${path} was met twice`);
  const found = await walk(root, 0, exts, folders, never).catch((e: unknown) => {
    if (!(e instanceof NotARegularFileError)) throw e;
    throw new Error(`${name}: ${e.message}: move it out of the folder`, { cause: e });
  });
  const seen = new Set<string>();
  const files: string[] = [];
  for (const f of found.sort((a, b) => byCodePoint(a.path, b.path))) {
    if (f.id !== undefined && seen.has(f.id)) continue;
    if (f.id !== undefined) seen.add(f.id);
    files.push(f.path);
  }
  if (files.length === 0) {
    throw new Error(`${name}: no image files (${exts.join(' ')}) in ${root} or its sub-folders`);
  }
  return { classNames: [UNLABELLED], files, labels: new Int32Array(files.length) };
}

/** The one class of a `labels: 'none'` folder: loaders check labels against class names. */
const UNLABELLED = '(unlabelled)';

const LAYOUT =
  'Expected layout: <root>/<class name>/<image>.jpg|png|... (one folder per class, images may sit in sub-folders).';

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The image files under `dir` (class `cls`) with their identities, walking
 * each folder not met before; a folder first met in another class is refused
 * through `twoLabels`. A name with an image extension that is not a regular
 * file (a FIFO, a device such as /dev/zero, a socket; through links too) is
 * refused with a NotARegularFileError: reading it could block or never end.
 * An unreadable file keeps no identity: decoding it names it.
 */
async function walk(
  dir: string,
  cls: number,
  exts: readonly string[],
  folders: Map<string, Seen>,
  twoLabels: (path: string, kind: 'folder', first: Seen) => Error,
): Promise<{ path: string; id: string | undefined }[]> {
  const out: { path: string; id: string | undefined }[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    byCodePoint(a.name, b.name),
  );
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    const image = exts.some((x) => e.name.toLowerCase().endsWith(x));
    const { folder, st } = await entryStats(path, e, image);
    if (folder) {
      if (!st) continue;
      const id = identity(st);
      const first = folders.get(id);
      // The root, or a folder of this class met before: a loop or a second link, walked once.
      if (first && first.cls !== -1 && first.cls !== cls) throw twoLabels(path, 'folder', first);
      if (first) continue;
      folders.set(id, { path, cls });
      out.push(...(await walk(path, cls, exts, folders, twoLabels)));
    } else if (image) {
      if (st && !st.isFile())
        throw new NotARegularFileError(path, fileKind(st as unknown as Stats));
      out.push({ path, id: st && identity(st) });
    }
  }
  return out;
}

/** `fn` over `items` with at most `limit` calls pending, results in input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>) {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
