/**
 * Training checkpoints: one file holding train-form weights (BN running
 * statistics included), optimizer slots, epoch, step, the data seed and the run's
 * configuration and history. Layout: the 8-byte magic `RNCKPT01`, a uint32 JSON
 * header length, the UTF-8 JSON header, zero padding to 4 bytes, then float32
 * tensors in header order. The header's last field is a SHA-256 of the whole
 * file, read with that digest's 64 characters as '0's (format 2; format 1, still
 * read, hashed the tensor bytes only). Every header field is checked against a
 * schema and the tensor sizes against the file length, so a truncated, extended,
 * corrupted or hand-edited file is refused, naming the file and the field,
 * before anything is loaded. Written with `writeFileAtomic` of
 * @repnets/fuse/node (`.<name>.<pid>.<random>.tmp` in the same directory,
 * fsync, rename over the old one, fsync of the directory): a killed run leaves
 * the previous checkpoint intact, and the next save into the directory removes
 * the temporary files of processes that no longer run.
 */
import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  NotARegularFileError,
  readRegularFile,
  removeStaleTempFiles,
  writeFileAtomic,
} from '@repnets/fuse/node';
import { CHECKPOINT_FORMAT, OLDEST_CHECKPOINT_FORMAT as OLDEST_FORMAT } from './format.js';
import {
  arrayOf,
  checkShape,
  int,
  num,
  object,
  oneOf,
  record,
  type ShapeProblem,
  str,
} from './json-shape.js';

const MAGIC = 'RNCKPT01';

export { CHECKPOINT_FORMAT };

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
  /** Free-form run description (configuration, history) kept with the weights: a JSON object. */
  readonly run: Record<string, unknown>;
}

export interface Checkpoint extends CheckpointMeta {
  readonly weights: SavedTensor[];
  readonly optimizer: { readonly step: number; readonly slots: SavedTensor[] };
}

interface Header extends CheckpointMeta {
  readonly optimizerStep: number;
  readonly tensors: { section: 'weights' | 'optimizer'; name: string; shape: number[] }[];
  /** Last, so that the reader finds it where the writer put it. */
  readonly sha256: string;
}

const HEADER = object({
  epoch: int(0),
  step: int(0),
  seed: num,
  run: record(),
  optimizerStep: int(0),
  tensors: arrayOf(
    object({
      section: oneOf('weights', 'optimizer'),
      name: str(/./, 'a non-empty string'),
      shape: arrayOf(int(0)),
    }),
  ),
  sha256: str(/^[0-9a-f]{64}$/, 'a SHA-256 in 64 lowercase hex digits'),
});

const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * Removes the temporary files that saves killed mid-write left in `dir`
 * (`.<name>.<pid>.<random>.tmp`, or `.<name>.<pid>.tmp` of earlier versions,
 * holding the start of a checkpoint, or nothing, whose process no longer runs);
 * those of live processes stay. Returns their paths. Best effort: a file that
 * cannot be read or removed is left alone.
 */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  const magic = Buffer.from(MAGIC, 'ascii');
  return removeStaleTempFiles(dir, {
    // A write starts with the magic: anything else of this name is not ours.
    filter: async (path) => {
      const fh = await open(path, 'r');
      try {
        const b = Buffer.alloc(magic.length);
        const { bytesRead } = await fh.read(b, 0, b.length, 0);
        return b.subarray(0, bytesRead).equals(magic.subarray(0, bytesRead));
      } finally {
        await fh.close();
      }
    },
  });
}

const ZEROS = '0'.repeat(64);
/** How a format-2 header ends: the digest is its last field. */
const digestTail = (hex: string) => `,"sha256":"${hex}"}`;

/**
 * Format 2's digest: SHA-256 of the whole file with the digest's 64 characters
 * (at `at`) read as '0's, so the header is covered as well as the tensors.
 */
function fileDigest(file: Buffer, at: number): string {
  return createHash('sha256')
    .update(file.subarray(0, at))
    .update(ZEROS, 'ascii')
    .update(file.subarray(at + 64))
    .digest('hex');
}

/**
 * Writes `ckpt` to `path` atomically (temp file + fsync + rename), in the
 * current format (`ckpt.format` is ignored). Removes stale temporary files of
 * killed saves in the directory first.
 */
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
    tensors: all.map(({ section, t }) => ({ section, name: t.name, shape: t.shape })),
    sha256: ZEROS,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - ((MAGIC.length + 4 + json.length) % 4)) % 4;
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const file = Buffer.concat([Buffer.from(MAGIC, 'ascii'), len, json, Buffer.alloc(pad), body]);
  const at = MAGIC.length + 4 + json.length - digestTail(ZEROS).length + ',"sha256":"'.length;
  file.write(fileDigest(file, at), at, 'ascii');
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  await writeFileAtomic(path, file);
}

/** Reads and verifies a checkpoint; throws naming the file and what is wrong. */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let buf: Buffer;
  try {
    // Only a regular file, and only its size: /dev/zero or a FIFO would never end.
    buf = await readRegularFile(path);
  } catch (e) {
    if (e instanceof NotARegularFileError) {
      throw new Error(
        `checkpoint '${path}': it is a ${e.kind}, not a regular file; refusing to load it`,
      );
    }
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
  const jsonEnd = jsonStart + jsonLen;
  if (jsonEnd > buf.length) fail(`header of ${jsonLen} bytes runs past the end (file truncated?)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', jsonStart, jsonEnd));
  } catch {
    return fail('header is not valid JSON (file corrupted?)');
  }
  const shapeFail = (p: ShapeProblem | undefined) => {
    if (p) fail(`header${p.at ? ` field '${p.at}'` : ''} ${p.problem}`);
  };
  shapeFail(checkShape(object({ format: int(1) }), parsed));
  const header = parsed as Header;
  if (header.format > CHECKPOINT_FORMAT) {
    fail(
      `format ${header.format} is newer than this version reads (${OLDEST_FORMAT} to ${CHECKPOINT_FORMAT}): update @repnets/train`,
    );
  }
  shapeFail(checkShape(HEADER, header));
  const seen = { weights: new Set<string>(), optimizer: new Set<string>() };
  header.tensors.forEach((t, i) => {
    if (seen[t.section].has(t.name))
      fail(`header field 'tensors[${i}].name' repeats the ${t.section} tensor '${t.name}'`);
    seen[t.section].add(t.name);
  });
  const bodyStart = jsonEnd + ((4 - (jsonEnd % 4)) % 4);
  const expected = header.tensors.reduce((s, t) => s + 4 * size(t.shape), 0);
  const actual = buf.length - bodyStart;
  if (actual < expected) {
    fail(
      `tensor data is ${Math.max(0, actual)} bytes, the header lists ${expected} (file truncated?)`,
    );
  }
  if (actual > expected) {
    fail(
      `${actual - expected} bytes after the last tensor (the header lists ${expected} bytes of tensor data)`,
    );
  }
  const body = buf.subarray(bodyStart);
  if (header.format === 1) {
    if (createHash('sha256').update(body).digest('hex') !== header.sha256)
      fail('tensor data does not match its SHA-256 (file corrupted)');
  } else {
    const tail = Buffer.from(digestTail(header.sha256), 'ascii');
    if (!buf.subarray(jsonEnd - tail.length, jsonEnd).equals(tail))
      fail(
        `header field 'sha256' is not the header's last field, where format ${header.format} puts it (file edited?)`,
      );
    if (fileDigest(buf, jsonEnd - 66) !== header.sha256)
      fail('the file does not match its SHA-256 (file corrupted or edited)');
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
