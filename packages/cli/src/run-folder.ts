/**
 * What a `repnets train` run folder is: the files the command writes, by
 * name, each recognized by its content as well (another program may use the
 * same names: PyTorch Lightning writes `checkpoints/last.ckpt`). A folder is
 * a run only when it holds one of them; `--overwrite` removes exactly those,
 * never a file another program wrote beside them.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmdirSync,
  rmSync,
} from 'node:fs';
import { basename, join, normalize } from 'node:path';
import { checkRegularFile, NotARegularFileError } from '@repnets/fuse/node';
import { UsageError } from './common.js';
import { removeKilledRunTemps } from './leftovers.js';
import { isDirectory, isRegularFileItself, lstatOf } from './path-kind.js';
import { checkWritable } from './paths.js';
import { LOCK_NAME, lockRunFolder } from './run-lock.js';

/** The folders a run writes into, in the order messages list them. */
const RUN_FOLDERS = ['checkpoints', 'train', 'deploy'] as const;

/** The first bytes of every RepNets checkpoint (@repnets/train's format). */
const CHECKPOINT_MAGIC = 'RNCKPT01';

function startsWith(path: string, magic: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(magic.length);
    const n = readSync(fd, b, 0, b.length, 0);
    return b.toString('latin1', 0, n) === magic;
  } finally {
    closeSync(fd);
  }
}

/** A model.json's weights manifest: its groups of files and the weights they hold. */
type Manifest = {
  paths: string[];
  weights: { shape: number[]; dtype?: string; quantization?: { dtype?: string } }[];
}[];

/**
 * A TF.js layers model.json's manifest, or undefined when `path` is not one.
 * Only a regular file itself (never a FIFO or a device: reading one could hang).
 */
function tfjsManifest(path: string): Manifest | undefined {
  const s = lstatOf(path);
  if (!s?.isFile() || s.size > 64 * 1024 * 1024) return undefined;
  try {
    const json = JSON.parse(readFileSync(path, 'utf8')) as {
      modelTopology?: unknown;
      weightsManifest?: unknown;
    };
    if (
      !json ||
      typeof json !== 'object' ||
      !json.modelTopology ||
      !Array.isArray(json.weightsManifest)
    )
      return undefined;
    return json.weightsManifest as Manifest;
  } catch {
    return undefined;
  }
}

type Form = 'train' | 'deploy';
/** The manifest of a form's model.json in one run folder (undefined where it is not a TF.js model). */
type ManifestOf = (form: Form) => Manifest | undefined;

/** {@link ManifestOf} `out`: each model.json is read once, however often it is asked for. */
function manifestsIn(out: string): ManifestOf {
  const read = new Map<Form, Manifest | undefined>();
  return (form) => {
    if (!read.has(form)) read.set(form, tfjsManifest(join(out, form, 'model.json')));
    return read.get(form);
  };
}

/**
 * The files repnets train writes into `out` (relative paths), with how each
 * is recognized as its own: a checkpoint by its magic, a model.json as a
 * TF.js layers model, a weights.bin as the file its own model.json names.
 */
const OWN: {
  readonly file: string;
  readonly what: string;
  mine(out: string, manifestOf: ManifestOf): boolean;
}[] = [
  {
    file: 'checkpoints/last.ckpt',
    what: 'a RepNets checkpoint',
    mine: (out) => {
      const p = join(out, 'checkpoints', 'last.ckpt');
      return isRegularFileItself(p) && startsWith(p, CHECKPOINT_MAGIC);
    },
  },
  ...(['train', 'deploy'] as const).flatMap((form) => [
    {
      file: `${form}/model.json`,
      what: 'a TF.js model.json',
      mine: (_: string, manifestOf: ManifestOf) => manifestOf(form) !== undefined,
    },
    {
      file: `${form}/weights.bin`,
      what: `the weights its ${form}/model.json names`,
      mine: (out: string, manifestOf: ManifestOf) =>
        isRegularFileItself(join(out, form, 'weights.bin')) &&
        (manifestOf(form) ?? []).some((g) => g.paths.some((p) => normalize(p) === 'weights.bin')),
    },
  ]),
];

/** What `out` holds: repnets train's own files, and the names of everything else at its top. */
interface RunFolderContents {
  /** Own files present, relative to `out`. */
  readonly own: string[];
  /** A file at one of the names repnets train writes that it did not write. */
  readonly foreign?: { readonly file: string; readonly what: string };
  /**
   * Something at one of those names that is not a regular file (a FIFO, a
   * device, a socket, a folder; through links): what resuming would read.
   */
  readonly notAFile?: { readonly file: string; readonly error: NotARegularFileError };
  /** The entries at the top of `out`, sorted, without the lock. */
  readonly entries: string[];
}

function runFolderContents(out: string): RunFolderContents {
  const entries = isDirectory(out)
    ? readdirSync(out)
        .filter((e) => e !== LOCK_NAME)
        .sort()
    : [];
  const own: string[] = [];
  let foreign: RunFolderContents['foreign'];
  let notAFile: RunFolderContents['notAFile'];
  const manifestOf = manifestsIn(out);
  for (const o of OWN) {
    const path = join(out, o.file);
    // Nothing there, not even a dangling link.
    if (lstatOf(path) === undefined) continue;
    const error = notARegularFile(path);
    if (error) notAFile ??= { file: o.file, error };
    if (o.mine(out, manifestOf)) own.push(o.file);
    else foreign ??= { file: o.file, what: o.what };
  }
  return { own, foreign, notAFile, entries };
}

/** Why `path` (which exists, or is a link) is not a regular file, through links; undefined if it is one or a dangling link. */
function notARegularFile(path: string): NotARegularFileError | undefined {
  try {
    checkRegularFile(path);
    return undefined;
  } catch (e) {
    return e instanceof NotARegularFileError ? e : undefined;
  }
}

const listed = (names: readonly string[]) =>
  names.length > 5 ? `${names.slice(0, 5).join(', ')}, …` : names.join(', ');

/**
 * Refuses to train into a folder that holds something, unless the run in it
 * is resumed or replaced on purpose: and only a RepNets run can be, never a
 * folder of another program's files, nor one where another program's file
 * sits at a name the run writes. `--overwrite` then removes the run's own
 * files (and temporary files its killed saves left), nothing else.
 */
async function prepareRunFolder(out: string, resume: boolean, overwrite: boolean): Promise<void> {
  const { own, foreign, notAFile, entries } = runFolderContents(out);
  if (entries.length === 0) return;
  const flag = resume ? '--resume' : overwrite ? '--overwrite' : undefined;
  if (flag && notAFile) {
    // Said for what it is: a FIFO there is no "other program's checkpoint", and reading it would block.
    const reads = resume && notAFile.file === 'checkpoints/last.ckpt';
    throw new UsageError(
      `train: ${notAFile.error.message}; ${flag} would ${reads ? 'read' : 'replace'} it: move it away or pick another --out`,
    );
  }
  if (!flag) {
    throw new UsageError(
      own.length > 0
        ? `train: '${out}' is not empty (a run: ${RUN_FOLDERS.filter((f) => entries.includes(f)).join(', ')}); continue it with --resume, or replace it with --overwrite`
        : `train: '${out}' is not empty (${entries.length} entries, none of them a RepNets run: ${listed(entries)}); pick an empty or new --out`,
    );
  }
  if (own.length === 0) {
    throw new UsageError(
      `train: '${out}' holds no RepNets run to ${resume ? 'resume' : 'replace'} (${entries.length} entries of other programs: ${listed(entries)}); ${flag} ${resume ? 'continues' : 'replaces'} only what repnets train wrote: pick an empty or new --out`,
    );
  }
  if (foreign) {
    const reads = resume && foreign.file === 'checkpoints/last.ckpt';
    throw new UsageError(
      `train: '${join(out, foreign.file)}' was not written by repnets train (not ${foreign.what}); ${flag} would ${reads ? 'read' : 'replace'} it: move it away or pick another --out`,
    );
  }
  // The lock keeps every other repnets train out: a temporary file here is a killed save's.
  const names = new Set(OWN.map((o) => basename(o.file)));
  const places = RUN_FOLDERS.map((f) => ({ dir: join(out, f), ours: (n: string) => names.has(n) }));
  await removeKilledRunTemps(places, () => undefined); // Quietly, as train always has.
  if (!overwrite) return;
  for (const f of own) rmSync(join(out, f), { force: true });
  // A folder the run made goes with it; one that also holds another program's files stays.
  for (const folder of RUN_FOLDERS) {
    const dir = join(out, folder);
    if (isDirectory(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  }
}

/** A run folder this process holds: `release` gives it up (and removes it if it made it and left it empty). */
export interface ClaimedRunFolder {
  release(): void;
}

/**
 * Takes `out` for one `repnets train`: checks that it can be written (before
 * the backend starts, not after an epoch), creates it, locks it against every
 * other repnets train, and only then looks at what it holds
 * ({@link prepareRunFolder}), so that a second process can neither pass the
 * emptiness check nor --overwrite the files of a run under way.
 */
export async function claimRunFolder(
  out: string,
  resume: boolean,
  overwrite: boolean,
  say: (line: string) => void,
): Promise<ClaimedRunFolder> {
  if (resume && overwrite)
    throw new UsageError('train: --resume and --overwrite exclude each other');
  checkWritable('train', 'out', out, 'dir');
  const created = !existsSync(out);
  mkdirSync(out, { recursive: true });
  const lock = lockRunFolder(out, say);
  const release = () => {
    lock.release();
    try {
      if (created && readdirSync(out).length === 0) rmdirSync(out);
    } catch {
      // Not ours to clean any more (gone, or filled by someone else).
    }
  };
  try {
    await prepareRunFolder(out, resume, overwrite);
  } catch (e) {
    release();
    throw e;
  }
  return { release };
}

/** The weights a model.json's manifest needs, in bytes (undefined for a dtype we do not know). */
function manifestBytes(manifest: Manifest): number | undefined {
  const size: Record<string, number> = {
    float32: 4,
    int32: 4,
    bool: 1,
    uint8: 1,
    uint16: 2,
    float16: 2,
  };
  let total = 0;
  for (const g of manifest) {
    for (const w of g.weights) {
      // A quantized weight is stored at its quantized size (a --quantize deploy folder).
      const b = size[w.quantization?.dtype ?? w.dtype ?? 'float32'];
      if (b === undefined) return undefined;
      total += b * w.shape.reduce((p, d) => p * d, 1);
    }
  }
  return total;
}

/**
 * Whether `dir` holds a whole saved model: a model.json and every weights
 * file it names, of the sizes its manifest adds up to. A save cut short (a
 * full disk, a kill before the rename) or a lost folder is not whole.
 */
export function savedModelComplete(dir: string): boolean {
  const manifest = tfjsManifest(join(dir, 'model.json'));
  if (!manifest) return false;
  const want = manifestBytes(manifest);
  let have = 0;
  for (const g of manifest) {
    for (const p of g.paths) {
      const s = lstatOf(join(dir, p));
      if (!s?.isFile()) return false;
      have += s.size;
    }
  }
  return want === undefined || have === want;
}
