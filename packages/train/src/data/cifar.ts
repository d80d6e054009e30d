/**
 * CIFAR-10 and CIFAR-100 from the official binary archives on the user's disk.
 * The files stay in memory as read (bytes, a quarter of float32's memory; no
 * conversion pass at load); `get` makes HWC floats from one record.
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { NotARegularFileError, readRegularFile } from '@repnets/fuse/node';
import { arrayDataset } from './memory.js';
import { concatDatasets } from './split.js';
import type { Dataset, Example } from './types.js';

const SIDE = 32;
const PIXEL_BYTES = 3 * SIDE * SIDE;

/** A CIFAR split; `labels` lets splitDataset stratify without reading images. */
export interface CifarDataset extends Dataset {
  readonly labels: Int32Array;
  /** Synchronous: the files are in memory. */
  get(index: number): Example;
}

export interface CifarSplit {
  readonly train: CifarDataset;
  readonly test: CifarDataset;
}

export interface Cifar100Options {
  /** 'fine': the 100 classes (default); 'coarse': the 20 superclasses. */
  readonly labels?: 'fine' | 'coarse';
}

interface Layout {
  readonly title: string;
  readonly subfolder: string;
  readonly archive: string;
  /** The training files, at least one. */
  readonly train: readonly [string, ...string[]];
  readonly test: string;
  readonly names: readonly string[];
}

const CIFAR10: Layout = {
  title: 'CIFAR-10',
  subfolder: 'cifar-10-batches-bin',
  archive: 'cifar-10-binary.tar.gz',
  train: [
    'data_batch_1.bin',
    'data_batch_2.bin',
    'data_batch_3.bin',
    'data_batch_4.bin',
    'data_batch_5.bin',
  ],
  test: 'test_batch.bin',
  names: ['batches.meta.txt'],
};

const CIFAR100: Layout = {
  title: 'CIFAR-100',
  subfolder: 'cifar-100-binary',
  archive: 'cifar-100-binary.tar.gz',
  train: ['train.bin'],
  test: 'test.bin',
  names: ['fine_label_names.txt', 'coarse_label_names.txt'],
};

/** CIFAR-10 from `dir`, the extracted `cifar-10-batches-bin` folder or its parent: 32x32x3, 0..1. */
export async function cifar10Dataset(dir: string): Promise<CifarSplit> {
  const root = await findRoot(dir, CIFAR10);
  const [classNames] = await Promise.all(CIFAR10.names.map((f) => readNames(root, f, 10)));
  const load = async (files: readonly string[], split: string) => {
    const parts = await Promise.all(files.map((f) => readRecords(root, f, 1, [10])));
    return toDataset(`cifar10/${split}`, parts, 0, classNames!);
  };
  const [train, test] = await Promise.all([
    load(CIFAR10.train, 'train'),
    load([CIFAR10.test], 'test'),
  ]);
  return { train, test };
}

/** CIFAR-100 from `dir`, the extracted `cifar-100-binary` folder or its parent: 32x32x3, 0..1. */
export async function cifar100Dataset(
  dir: string,
  options: Cifar100Options = {},
): Promise<CifarSplit> {
  const which = options.labels ?? 'fine';
  if (which !== 'fine' && which !== 'coarse') {
    throw new Error(`cifar100Dataset: labels must be 'fine' or 'coarse', not ${String(which)}`);
  }
  const root = await findRoot(dir, CIFAR100);
  const [fine, coarse] = await Promise.all([
    readNames(root, 'fine_label_names.txt', 100),
    readNames(root, 'coarse_label_names.txt', 20),
  ]);
  // Records are <coarse byte><fine byte><pixels>; both labels are checked, one is kept.
  const labelByte = which === 'coarse' ? 0 : 1;
  const load = async (file: string, split: string) => {
    const part = await readRecords(root, file, 2, [20, 100]);
    return toDataset(`cifar100/${split}`, [part], labelByte, which === 'coarse' ? coarse : fine);
  };
  const [train, test] = await Promise.all([
    load(CIFAR100.train[0], 'train'),
    load(CIFAR100.test, 'test'),
  ]);
  return { train, test };
}

function layoutHelp(l: Layout): string {
  const files = [...l.train, l.test, ...l.names].join(', ');
  return (
    `Expected layout: <dir>/${files} (or the same files in <dir>/${l.subfolder}/). ` +
    `These files come from the "${l.title} binary version" archive (${l.archive}) on the CIFAR page ` +
    `of the University of Toronto; extract it and pass the ${l.subfolder} folder or the folder holding it.`
  );
}

/** Whether something is at `path` (through links): a file, or what readExpected will refuse by name. */
async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** `dir` itself, or its usual sub-folder, whichever holds the first training file. */
async function findRoot(dir: string, l: Layout): Promise<string> {
  const probe = l.train[0];
  for (const root of [dir, join(dir, l.subfolder)]) {
    if (await exists(join(root, probe))) return root;
  }
  const dirExists = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const what = dirExists ? `${dir} holds no ${probe}` : `directory ${dir} does not exist`;
  throw new Error(
    `${l.title}: ${what}; expected ${join(dir, probe)} or ${join(dir, l.subfolder, probe)}. ${layoutHelp(l)}`,
  );
}

/**
 * The bytes of one of the format's files, read only if it is a regular file
 * and no further than its size: a FIFO would block the read until a writer
 * came, /dev/zero would never end.
 */
async function readExpected(root: string, file: string, l: Layout): Promise<Buffer> {
  const path = join(root, file);
  try {
    return await readRegularFile(path);
  } catch (e) {
    if (e instanceof NotARegularFileError)
      throw new Error(`${l.title}: ${e.message}: put the file from ${l.archive} there`, {
        cause: e,
      });
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT')
      throw new Error(`${l.title}: cannot read ${path}: ${String(e)}`, { cause: e });
    throw new Error(`${l.title}: missing ${path}. ${layoutHelp(l)}`, { cause: e });
  }
}

function layoutOf(file: string): Layout {
  return [...CIFAR10.train, CIFAR10.test, ...CIFAR10.names].includes(file) ? CIFAR10 : CIFAR100;
}

/** Class names, one per line (blank lines dropped); the count must match the format's. */
async function readNames(root: string, file: string, expected: number): Promise<string[]> {
  const l = layoutOf(file);
  const text = (await readExpected(root, file, l)).toString('utf8');
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (names.length !== expected) {
    throw new Error(
      `${l.title}: ${join(root, file)} lists ${names.length} class names, expected ${expected} (one per line)`,
    );
  }
  return names;
}

interface Records {
  readonly file: string;
  readonly buf: Buffer;
  readonly count: number;
  readonly labelBytes: number;
}

/** Reads one .bin file and checks its size and every label byte against `classCounts`. */
async function readRecords(
  root: string,
  file: string,
  labelBytes: number,
  classCounts: readonly number[],
): Promise<Records> {
  const l = layoutOf(file);
  const path = join(root, file);
  const buf = await readExpected(root, file, l);
  const record = labelBytes + PIXEL_BYTES;
  if (buf.length === 0 || buf.length % record !== 0) {
    throw new Error(
      `${l.title}: ${path} is truncated or corrupt: ${buf.length} bytes is not a whole number of ` +
        `${record}-byte records (${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + ${PIXEL_BYTES} pixel bytes); ` +
        `record ${Math.floor(buf.length / record)} is incomplete`,
    );
  }
  const count = buf.length / record;
  for (let r = 0; r < count; r++) {
    for (let b = 0; b < labelBytes; b++) {
      const label = buf[r * record + b]!;
      if (label >= classCounts[b]!) {
        throw new Error(
          `${l.title}: ${path} is corrupt: record ${r} (byte ${r * record + b}) has label ${label}, ` +
            `outside 0..${classCounts[b]! - 1}`,
        );
      }
    }
  }
  return { file: path, buf, count, labelBytes };
}

/** A dataset over the files' records as read (planar pixels after the label bytes), no copy. */
function toDataset(
  name: string,
  parts: readonly Records[],
  labelByte: number,
  classNames: readonly string[],
): CifarDataset {
  const datasets = parts.map(({ file, buf, count, labelBytes }) => {
    const record = labelBytes + PIXEL_BYTES;
    const labels = new Uint8Array(count);
    for (let r = 0; r < count; r++) labels[r] = buf[r * record + labelByte]!;
    return arrayDataset({
      name: parts.length === 1 ? name : `${name}[${basename(file)}]`,
      pixels: new Uint8Array(buf.buffer, buf.byteOffset, buf.length),
      offset: labelBytes,
      stride: record,
      labels,
      shape: [SIDE, SIDE, 3],
      classNames,
      layout: 'chw',
    });
  });
  // The parts are in-memory datasets, so the concatenation's get is synchronous too.
  return datasets.length === 1 ? datasets[0]! : (concatDatasets(name, datasets) as CifarDataset);
}
