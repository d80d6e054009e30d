/**
 * PyTorch checkpoints as `torch.save` writes them (PyTorch 1.6 and later): a
 * zip of stored entries `<folder>/data.pkl` (the object, pickled), one
 * `<folder>/data/<key>` per storage (raw little-endian elements) and
 * `<folder>/byteorder`. The pickle is read by a restricted unpickler that
 * accepts what `torch.load(weights_only=True)` accepts and runs nothing.
 */

import { FuseError } from '../errors.js';
import type { StateDict, StateTensor } from '../interop/state-dict.js';
import {
  isTuple,
  StorageRef,
  StorageType,
  TensorRef,
  type TorchDType,
  unpickle,
} from './pickle.js';
import { clip, decodeTensor, shapeSize } from './safetensors.js';
import { crc32, readStoredZip, type ZipEntry } from './zip-stored.js';

export interface ReadTorchCheckpointOptions {
  /** Where the bytes came from (a file name), to put in error messages. */
  readonly source?: string;
  /**
   * The top-level entry that holds the state dict, e.g. `'state_dict_ema'`.
   * Without it the first of `state_dict`, `model`, `model_state_dict` and
   * `module` that holds a dict is taken, else the whole object.
   */
  readonly key?: string;
}

/** Where training scripts put the state dict beside their other records (timm's order first). */
const WRAPPER_KEYS = ['state_dict', 'model', 'model_state_dict', 'module'] as const;

/** The prefix DataParallel and DistributedDataParallel put before every key. */
const PARALLEL_PREFIX = 'module.';

const ITEM_BYTES: Readonly<Record<TorchDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

const RESAVE =
  'resave it with torch.save(obj, path, _use_new_zipfile_serialization=True) (the default since PyTorch 1.6)';

/** Refuses what is not a torch.save zip, naming what it is where its first bytes tell. */
function checkFormat(op: string, bytes: Uint8Array): void {
  const [b0, b1, b2, b3] = bytes;
  if (b0 === 0x50 && b1 === 0x4b && b2 === 0x03 && b3 === 0x04) return;
  if (b0 === 0x80 && b1 !== undefined && b1 >= 2 && b1 <= 5) {
    throw new FuseError(
      op,
      'bytes',
      `is a legacy PyTorch checkpoint (a bare pickle, written with _use_new_zipfile_serialization=False or before PyTorch 1.6), which is not read: ${RESAVE}`,
    );
  }
  if (bytes.length >= 9 && bytes[8] === 0x7b) {
    throw new FuseError(
      op,
      'bytes',
      'looks like a safetensors file (an 8-byte length, then a JSON header), not a torch.save archive: read it with readSafetensors',
    );
  }
  const head = [...bytes.subarray(0, 4)].map((b) => `0x${b.toString(16).padStart(2, '0')}`);
  throw new FuseError(
    op,
    'bytes',
    `(${bytes.length} bytes, starting ${head.join(' ') || 'with nothing'}) is not a torch.save zip archive, which starts with PK\\x03\\x04`,
  );
}

/** The archive's one `<folder>/data.pkl`, refusing archives of other kinds by what they are. */
function findPickle(op: string, entries: Map<string, ZipEntry>): ZipEntry {
  const pickles = [...entries.values()].filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  const [found, second] = pickles;
  if (found === undefined) {
    const torchScript = [...entries.keys()].some((n) => /^[^/]+\/constants\.pkl$/.test(n));
    throw new FuseError(
      op,
      'bytes',
      torchScript
        ? 'is a TorchScript archive (torch.jit.save) without data.pkl; save the state dict with torch.save(model.state_dict(), path)'
        : `is a zip of ${entries.size} entries without <folder>/data.pkl: not a torch.save archive`,
    );
  }
  if (second !== undefined) {
    throw new FuseError(
      op,
      'bytes',
      `holds two pickles ('${clip(found.name)}' and '${clip(second.name)}'): not one torch.save archive`,
    );
  }
  return found;
}

function entryBytes(bytes: Uint8Array, e: ZipEntry): Uint8Array {
  return bytes.subarray(e.start, e.start + e.size);
}

function checkByteOrder(
  op: string,
  bytes: Uint8Array,
  folder: string,
  entries: Map<string, ZipEntry>,
) {
  const entry = entries.get(`${folder}/byteorder`);
  // PyTorch before 1.13 wrote no byteorder record, and only wrote little-endian.
  if (entry === undefined) return;
  const order = new TextDecoder('latin1').decode(entryBytes(bytes, entry)).trim();
  if (order === 'little') return;
  throw new FuseError(
    op,
    clip(entry.name),
    order === 'big'
      ? "says the storages are big-endian ('big'), which is not read: load the file with torch.load on a big-endian machine and save it on a little-endian one"
      : `says byte order '${clip(order)}', expected 'little'`,
  );
}

/** A Python value as a message names it. */
function kind(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof Map) return `a dict of ${v.size} entries`;
  if (isTuple(v)) return `a tuple of ${v.length}`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof StorageRef) return 'a bare storage';
  if (v instanceof Uint8Array) return `bytes (${v.length})`;
  if (typeof v === 'string') return `the string '${clip(v)}'`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') {
    return `the value ${String(v)}`;
  }
  return 'a value that is not a tensor';
}

/** The dict that holds the tensors: a wrapper's entry, or the whole object. */
function unwrap(op: string, entry: string, value: unknown, key: string | undefined) {
  if (!(value instanceof Map)) {
    throw new FuseError(op, entry, `holds ${kind(value)}, not a dict of tensors (a state dict)`);
  }
  if (key !== undefined) {
    const inner = value.get(key);
    if (!(inner instanceof Map)) {
      const keys = [...value.keys()].filter((k) => typeof k === 'string').slice(0, 8);
      throw new FuseError(
        op,
        'key',
        inner === undefined
          ? `'${clip(key)}' is not a top-level entry; the file has ${keys.map((k) => `'${clip(k)}'`).join(', ')}${value.size > keys.length ? ', ...' : ''}`
          : `'${clip(key)}' holds ${kind(inner)}, not a dict of tensors`,
      );
    }
    return inner;
  }
  for (const wrapper of WRAPPER_KEYS) {
    const inner = value.get(wrapper);
    if (inner instanceof Map) return inner;
  }
  return value;
}

/**
 * The elements of a tensor, row-major, gathered from its storage's bytes
 * (views such as a transpose or a slice keep the whole storage and their own
 * offset and strides), then decoded as the safetensors reader decodes them.
 */
function materialize(op: string, name: string, t: TensorRef): StateTensor {
  const { dtype, numel, bytes: storage } = t.storage;
  const { offset, shape, stride } = t;
  const item = ITEM_BYTES[dtype];
  const n = shapeSize(shape);
  const fail = (problem: string): never => {
    throw new FuseError(op, clip(name), problem, { [clip(name)]: shape });
  };
  if (!Number.isSafeInteger(n * item)) fail(`has ${n} elements, more than can be held`);
  const entry = { name, dtype, shape, begin: 0, end: n * item };
  if (n === 0) return decodeTensor(op, entry, new ArrayBuffer(0));
  let last = offset;
  for (const [k, d] of shape.entries()) last += (d - 1) * stride[k]!;
  if (last >= numel) {
    fail(
      `reads elements ${offset} to ${last} of storage '${clip(t.storage.key)}', which holds ${numel}: the file is corrupt`,
    );
  }
  let out: Uint8Array;
  try {
    out = new Uint8Array(n * item);
  } catch (e) {
    return fail(
      `needs ${n * item} bytes, more than one typed array holds here (${clip(String((e as Error).message))})`,
    );
  }
  let contiguous = true;
  for (let k = shape.length - 1, expect = 1; k >= 0; k--) {
    if (shape[k]! !== 1 && stride[k]! !== expect) contiguous = false;
    expect *= shape[k]!;
  }
  if (contiguous) {
    out.set(storage.subarray(offset * item, (offset + n) * item));
  } else {
    gather(out, storage, item, offset, shape, stride);
  }
  return decodeTensor(op, entry, out.buffer as ArrayBuffer);
}

/** Copies a strided view element by element into `out`, row-major (an odometer over the dims). */
function gather(
  out: Uint8Array,
  storage: Uint8Array,
  item: number,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
): void {
  const dims = shape.length;
  const index = new Array<number>(dims).fill(0);
  let from = offset;
  for (let to = 0; to < out.length; to += item) {
    const src = from * item;
    for (let b = 0; b < item; b++) out[to + b] = storage[src + b]!;
    for (let k = dims - 1; k >= 0; k--) {
      if (++index[k]! < shape[k]!) {
        from += stride[k]!;
        break;
      }
      from -= (shape[k]! - 1) * stride[k]!;
      index[k] = 0;
    }
  }
}

/**
 * Reads a PyTorch checkpoint (`torch.save` zip, `.pth` / `.pt` / `.bin`)
 * held in memory and returns its state dict, the type the safetensors reader
 * and `parseStateDict` / `fuseStateDict` use: float tensors (F32, F16, BF16,
 * F64) as Float32Array, integer ones (BatchNorm's `num_batches_tracked`, I64)
 * as a Float64Array of exact values, views made contiguous, row-major.
 *
 * Only what `torch.load(weights_only=True)` accepts is read (tensors,
 * parameters, storages, OrderedDict, plain containers); any other global is
 * refused by name and nothing in the file is ever run. A checkpoint that wraps
 * its state dict (`{ state_dict, epoch, ... }`, also `model`,
 * `model_state_dict`, `module`) is unwrapped as timm does and the entries
 * beside it are ignored; `module.` (DataParallel) is stripped from keys.
 */
export function readTorchCheckpoint(
  bytes: Uint8Array,
  options: ReadTorchCheckpointOptions = {},
): StateDict {
  const op =
    options.source === undefined ? 'readTorchCheckpoint' : `readTorchCheckpoint(${options.source})`;
  if (!(bytes instanceof Uint8Array)) throw new FuseError(op, 'bytes', 'must be a Uint8Array');
  checkFormat(op, bytes);
  const entries = readStoredZip(op, bytes);
  const pickle = findPickle(op, entries);
  const folder = pickle.name.slice(0, pickle.name.indexOf('/'));
  checkByteOrder(op, bytes, folder, entries);
  const pickleBytes = entryBytes(bytes, pickle);
  if (crc32(pickleBytes) !== pickle.crc32) {
    throw new FuseError(op, clip(pickle.name), 'fails its CRC-32 check: the file is corrupt');
  }

  const value = unpickle(pickleBytes, { op, entry: clip(pickle.name) }, (pid, fail) => {
    if (!isTuple(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      return fail(`has a persistent id that is not ('storage', type, key, location, size)`);
    }
    const [, type, key, , numel] = pid;
    if (!(type instanceof StorageType))
      return fail('has a storage whose type is not a storage class');
    if (typeof key !== 'string') return fail('has a storage whose key is not a string');
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
      return fail(`has storage '${clip(key)}' of ${String(numel)} elements`);
    }
    const name = `${folder}/data/${key}`;
    const entry = entries.get(name);
    if (entry === undefined)
      return fail(`refers to storage '${clip(key)}', but the archive has no ${clip(name)}`);
    const need = numel * ITEM_BYTES[type.dtype];
    if (entry.size !== need) {
      throw new FuseError(
        op,
        clip(name),
        `holds ${entry.size} bytes, but ${numel} elements of ${type.pythonName} need ${need}: the file is corrupt`,
      );
    }
    return new StorageRef(type.dtype, key, numel, entryBytes(bytes, entry));
  });

  const dict = unwrap(op, clip(pickle.name), value, options.key);
  const out = new Map<string, StateTensor>();
  /** Each key of `out` as the file spells it, to name both of two keys that strip to one. */
  const spelled = new Map<string, string>();
  for (const [rawKey, v] of dict) {
    if (typeof rawKey !== 'string') {
      throw new FuseError(
        op,
        clip(pickle.name),
        `has a state dict key that is ${kind(rawKey)}, not a string`,
      );
    }
    if (!(v instanceof TensorRef)) {
      throw new FuseError(op, clip(rawKey), `is ${kind(v)} where a tensor must be`);
    }
    const key = rawKey.startsWith(PARALLEL_PREFIX) ? rawKey.slice(PARALLEL_PREFIX.length) : rawKey;
    const other = spelled.get(key);
    if (other !== undefined) {
      throw new FuseError(
        op,
        clip(rawKey),
        `and '${clip(other)}' are both in the state dict; with '${PARALLEL_PREFIX}' stripped they are one key, so which is meant is unknown`,
      );
    }
    spelled.set(key, rawKey);
    out.set(key, materialize(op, key, v));
  }
  return out;
}
