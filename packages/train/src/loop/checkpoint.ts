/**
 * Training checkpoints: one file holding train-form weights (BN running
 * statistics included), optimizer slots, epoch, step, the data seed and the run's
 * history. Layout: the 8-byte magic `RNCKPT01`, a uint32 JSON header length, the
 * UTF-8 JSON header, zero padding to 4 bytes, then float32 tensors in header
 * order. The header stores the SHA-256 of the tensor bytes, so a truncated or
 * corrupted file is refused before anything is loaded. Written to a temporary
 * file in the same directory and renamed over the old one: a killed run leaves
 * the previous checkpoint intact.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const MAGIC = 'RNCKPT01';
export const CHECKPOINT_FORMAT = 1;

export interface SavedTensor {
  readonly name: string;
  readonly shape: number[];
  readonly values: Float32Array;
}

export interface CheckpointMeta {
  readonly format: number;
  /** Completed epochs: a resumed run starts at this epoch. */
  readonly epoch: number;
  /** Global optimizer steps taken. */
  readonly step: number;
  /** The data seed (shuffling and augmentation derive from it and the epoch). */
  readonly seed: number;
  /** Free-form run description (options, history) kept with the weights. */
  readonly run: Record<string, unknown>;
}

export interface Checkpoint extends CheckpointMeta {
  readonly weights: SavedTensor[];
  readonly optimizer: { readonly step: number; readonly slots: SavedTensor[] };
}

interface Header extends CheckpointMeta {
  readonly sha256: string;
  readonly tensors: { section: 'weights' | 'optimizer'; name: string; shape: number[] }[];
  readonly optimizerStep: number;
}

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/** Writes `ckpt` to `path` atomically (temp file + fsync + rename). */
export async function saveCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  const all = [
    ...ckpt.weights.map((t) => ({ section: 'weights' as const, t })),
    ...ckpt.optimizer.slots.map((t) => ({ section: 'optimizer' as const, t })),
  ];
  for (const { t } of all) {
    if (t.values.length !== size(t.shape)) {
      throw new Error(
        `checkpoint: tensor '${t.name}' has ${t.values.length} values for shape [${t.shape}]`,
      );
    }
  }
  const body = Buffer.concat(
    all.map(({ t }) => Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength)),
  );
  const header: Header = {
    format: CHECKPOINT_FORMAT,
    epoch: ckpt.epoch,
    step: ckpt.step,
    seed: ckpt.seed,
    run: ckpt.run,
    optimizerStep: ckpt.optimizer.step,
    sha256: createHash('sha256').update(body).digest('hex'),
    tensors: all.map(({ section, t }) => ({ section, name: t.name, shape: t.shape })),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((MAGIC.length + 4 + json.length) % 4)) % 4;
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(
      Buffer.concat([Buffer.from(MAGIC, 'ascii'), len, json, Buffer.alloc(pad), body]),
    );
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

/** Reads and verifies a checkpoint; throws naming the file and what is wrong. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new Error(`checkpoint '${path}': cannot read it (${(e as Error).message})`);
  }
  const fail = (why: string): never => {
    throw new Error(`checkpoint '${path}': ${why}; refusing to load it`);
  };
  if (buf.length < MAGIC.length + 4 || buf.toString('ascii', 0, MAGIC.length) !== MAGIC) {
    fail(`not a RepNets checkpoint (no '${MAGIC}' magic)`);
  }
  const jsonLen = buf.readUInt32LE(MAGIC.length);
  const jsonStart = MAGIC.length + 4;
  if (jsonStart + jsonLen > buf.length)
    fail(`header of ${jsonLen} bytes runs past the end (file truncated?)`);
  let header: Header;
  try {
    header = JSON.parse(buf.toString('utf8', jsonStart, jsonStart + jsonLen)) as Header;
  } catch {
    return fail('header is not valid JSON (file corrupted?)');
  }
  if (header.format !== CHECKPOINT_FORMAT)
    fail(`format ${header.format}, this version reads ${CHECKPOINT_FORMAT}`);
  const bodyStart = jsonStart + jsonLen + ((4 - ((jsonStart + jsonLen) % 4)) % 4);
  const expected = header.tensors.reduce((s, t) => s + 4 * size(t.shape), 0);
  if (buf.length - bodyStart !== expected) {
    fail(
      `tensor data is ${buf.length - bodyStart} bytes, the header lists ${expected} (file truncated?)`,
    );
  }
  const body = buf.subarray(bodyStart);
  if (createHash('sha256').update(body).digest('hex') !== header.sha256) {
    fail('tensor data does not match its SHA-256 (file corrupted)');
  }
  // Copy into an aligned buffer: the body need not start on a 4-byte boundary of the pool.
  const floats = new Float32Array(expected / 4);
  new Uint8Array(floats.buffer).set(body);
  const weights: SavedTensor[] = [];
  const slots: SavedTensor[] = [];
  let at = 0;
  for (const t of header.tensors) {
    const n = size(t.shape);
    (t.section === 'weights' ? weights : slots).push({
      name: t.name,
      shape: t.shape,
      values: floats.subarray(at, at + n),
    });
    at += n;
  }
  return {
    format: header.format,
    epoch: header.epoch,
    step: header.step,
    seed: header.seed,
    run: header.run,
    weights,
    optimizer: { step: header.optimizerStep, slots },
  };
}
