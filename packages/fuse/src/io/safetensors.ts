/**
 * The safetensors container, read and written in memory (no file system, no
 * framework): an unsigned 64-bit little-endian header length N, N bytes of UTF-8
 * JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {...} }`,
 * then the tensor bytes, little-endian, with offsets relative to the start of
 * that buffer. The rules checked here (no holes, no overlaps, byte counts that
 * match the shape, a header under 100 MB) are the ones the reference Rust
 * implementation of the format enforces, so a file accepted here loads there.
 */

import { FuseError } from '../errors.js';
import { decodeBF16, decodeF16, numberToBF16Bits, numberToF16Bits } from './half.js';

export type SafetensorsFloatDType = 'F64' | 'F32' | 'F16' | 'BF16';
export type SafetensorsIntDType =
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U64'
  | 'U32'
  | 'U16'
  | 'U8'
  | 'BOOL';
export type SafetensorsDType = SafetensorsFloatDType | SafetensorsIntDType;

/** A float tensor as read: the data is float32 whatever the stored dtype was. */
export interface FloatTensor {
  /** The dtype in the file (F16/BF16/F64 are converted to float32 on read). */
  readonly dtype: SafetensorsFloatDType;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * An integer or boolean tensor as read, e.g. BatchNorm's `num_batches_tracked`
 * (I64). Values are plain numbers; an I64/U64 value beyond 2^53 is refused
 * rather than silently rounded.
 */
export interface IntTensor {
  readonly dtype: SafetensorsIntDType;
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

export type SafeTensor = FloatTensor | IntTensor;

export interface SafeTensors {
  /** Tensors in the order their bytes appear in the file. */
  readonly tensors: Map<string, SafeTensor>;
  /** The `__metadata__` string map; empty when the file has none. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A tensor to write. Without `dtype` its data is written as a float (F32 unless asked otherwise). */
export interface TensorToWrite {
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
  readonly dtype?: SafetensorsDType;
}

export interface WriteSafetensorsOptions {
  /**
   * The dtype of every float tensor (default: each tensor's own float `dtype`,
   * else F32). F16 and BF16 halve the file; a finite value they cannot hold
   * (|x| >= 65520 for F16) is an error, not a silent infinity.
   */
  readonly dtype?: 'F32' | 'F16' | 'BF16';
}

export interface ReadSafetensorsOptions {
  /** Where the bytes came from (a file name), to put in error messages. */
  readonly source?: string;
}

interface DTypeInfo {
  readonly size: number;
  readonly float: boolean;
}

const DTYPES: Readonly<Record<SafetensorsDType, DTypeInfo>> = {
  F64: { size: 8, float: true },
  F32: { size: 4, float: true },
  F16: { size: 2, float: true },
  BF16: { size: 2, float: true },
  I64: { size: 8, float: false },
  I32: { size: 4, float: false },
  I16: { size: 2, float: false },
  I8: { size: 1, float: false },
  U64: { size: 8, float: false },
  U32: { size: 4, float: false },
  U16: { size: 2, float: false },
  U8: { size: 1, float: false },
  BOOL: { size: 1, float: false },
};

const DTYPE_NAMES = Object.keys(DTYPES).join(', ');

/** The reference implementation's cap: a bigger "header" means the bytes are not safetensors. */
const MAX_HEADER_BYTES = 100_000_000;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function isSafetensorsDType(d: unknown): d is SafetensorsDType {
  return typeof d === 'string' && Object.hasOwn(DTYPES, d);
}

/** Product of a shape; 1 for a scalar (`[]`). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function swapBytes(b: Uint8Array, itemSize: number): void {
  for (let j = 0; j < b.length; j += itemSize) b.subarray(j, j + itemSize).reverse();
}

/** A copy of `bytes[begin, end)` as an aligned buffer in host byte order. */
function hostOrderCopy(bytes: Uint8Array, begin: number, end: number, itemSize: number) {
  // Not bytes.slice(): on a Node Buffer (what readFile returns) slice is a view, not a copy.
  const copy = new Uint8Array(end - begin);
  copy.set(bytes.subarray(begin, end));
  if (!HOST_LITTLE_ENDIAN && itemSize > 1) swapBytes(copy, itemSize);
  return copy.buffer;
}

function decodeTensor(
  op: string,
  name: string,
  dtype: SafetensorsDType,
  shape: readonly number[],
  bytes: Uint8Array,
  begin: number,
  end: number,
): SafeTensor {
  const buf = hostOrderCopy(bytes, begin, end, DTYPES[dtype].size);
  switch (dtype) {
    case 'F32':
      return { dtype, shape, data: new Float32Array(buf) };
    case 'F64':
      return { dtype, shape, data: Float32Array.from(new Float64Array(buf)) };
    case 'F16':
      return { dtype, shape, data: decodeF16(new Uint16Array(buf)) };
    case 'BF16':
      return { dtype, shape, data: decodeBF16(new Uint16Array(buf)) };
    case 'I64':
    case 'U64': {
      const big = dtype === 'I64' ? new BigInt64Array(buf) : new BigUint64Array(buf);
      const data = new Float64Array(big.length);
      for (let j = 0; j < big.length; j++) {
        const v = big[j]!;
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new FuseError(
            op,
            name,
            `holds ${dtype} value ${v} at element ${j}, beyond the 2^53 a number holds exactly`,
            { [name]: shape },
          );
        }
        data[j] = Number(v);
      }
      return { dtype, shape, data };
    }
    case 'I32':
      return { dtype, shape, data: Float64Array.from(new Int32Array(buf)) };
    case 'I16':
      return { dtype, shape, data: Float64Array.from(new Int16Array(buf)) };
    case 'I8':
      return { dtype, shape, data: Float64Array.from(new Int8Array(buf)) };
    case 'U32':
      return { dtype, shape, data: Float64Array.from(new Uint32Array(buf)) };
    case 'U16':
      return { dtype, shape, data: Float64Array.from(new Uint16Array(buf)) };
    case 'U8':
      return { dtype, shape, data: Float64Array.from(new Uint8Array(buf)) };
    case 'BOOL':
      return { dtype, shape, data: Float64Array.from(new Uint8Array(buf), (v) => (v ? 1 : 0)) };
  }
}

interface HeaderEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseEntry(op: string, name: string, raw: unknown): HeaderEntry {
  if (!isObject(raw)) {
    throw new FuseError(
      op,
      name,
      'has a header entry that is not an object { dtype, shape, data_offsets }',
    );
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  if (!isSafetensorsDType(dtype)) {
    throw new FuseError(
      op,
      name,
      `has dtype ${JSON.stringify(dtype)}, expected one of ${DTYPE_NAMES}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FuseError(
      op,
      name,
      `has shape ${JSON.stringify(shape)}, expected non-negative integers`,
    );
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    offsets[0] > offsets[1]
  ) {
    throw new FuseError(
      op,
      name,
      `has data_offsets ${JSON.stringify(offsets)}, expected [begin, end] with 0 <= begin <= end`,
      { [name]: shape },
    );
  }
  return { name, dtype, shape, begin: offsets[0], end: offsets[1] };
}

/**
 * Parses a safetensors file held in memory. Float tensors (F32, F64, F16, BF16)
 * come back as Float32Array, integer and bool tensors as Float64Array of exact
 * values. Every inconsistency throws a FuseError naming the tensor and numbers.
 */
export function readSafetensors(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): SafeTensors {
  const op =
    options.source === undefined ? 'readSafetensors' : `readSafetensors(${options.source})`;
  if (!(bytes instanceof Uint8Array)) throw new FuseError(op, 'bytes', 'must be a Uint8Array');
  if (bytes.length < 8) {
    throw new FuseError(
      op,
      'bytes',
      `is ${bytes.length} bytes long, too short for a safetensors file (an 8-byte header length comes first)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const headerLength = hi * 2 ** 32 + lo;
  const room = bytes.length - 8;
  if (hi !== 0 || headerLength > room || headerLength > MAX_HEADER_BYTES || headerLength < 2) {
    throw new FuseError(
      op,
      'header length',
      `is ${headerLength} bytes, but ${room} bytes follow it (and a header is 2 to ${MAX_HEADER_BYTES} bytes): not a safetensors file`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw new FuseError(
      op,
      'header',
      `(${headerLength} bytes) is not valid UTF-8: not a safetensors file`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new FuseError(
      op,
      'header',
      `(${headerLength} bytes) is not valid JSON (${(e as Error).message}): not a safetensors file`,
    );
  }
  if (!isObject(header)) {
    throw new FuseError(
      op,
      'header',
      'must be a JSON object of tensor entries: not a safetensors file',
    );
  }

  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(raw)) throw new FuseError(op, '__metadata__', 'must be an object of strings');
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v !== 'string') {
          throw new FuseError(
            op,
            `__metadata__.${k}`,
            `is ${JSON.stringify(v)}, expected a string`,
          );
        }
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(op, name, raw));
  }

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  for (const e of entries) {
    if (e.end > dataLength) {
      throw new FuseError(
        op,
        e.name,
        `has data_offsets [${e.begin}, ${e.end}] out of range: the data buffer holds ${dataLength} bytes`,
        { [e.name]: e.shape },
      );
    }
    const need = shapeSize(e.shape) * DTYPES[e.dtype].size;
    if (e.end - e.begin !== need) {
      throw new FuseError(
        op,
        e.name,
        `has data_offsets [${e.begin}, ${e.end}] holding ${e.end - e.begin} bytes, but shape [${e.shape.join(', ')}] of ${e.dtype} needs ${need}`,
        { [e.name]: e.shape },
      );
    }
  }
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last: HeaderEntry | null = null;
  for (const e of ordered) {
    if (e.begin < covered && last !== null) {
      throw new FuseError(
        op,
        e.name,
        `has data_offsets [${e.begin}, ${e.end}] overlapping '${last.name}' at [${last.begin}, ${last.end}]`,
      );
    }
    if (e.begin > covered) {
      throw new FuseError(
        op,
        e.name,
        `starts at byte ${e.begin}, leaving a hole of ${e.begin - covered} bytes after byte ${covered} of the data buffer`,
      );
    }
    if (e.end > covered) {
      covered = e.end;
      last = e;
    }
  }
  if (covered !== dataLength) {
    throw new FuseError(
      op,
      'bytes',
      `has ${dataLength - covered} bytes after the last tensor (the data buffer holds ${dataLength} bytes, tensors cover ${covered})`,
    );
  }

  const tensors = new Map<string, SafeTensor>();
  for (const e of ordered) {
    tensors.set(
      e.name,
      decodeTensor(op, e.name, e.dtype, e.shape, bytes, dataStart + e.begin, dataStart + e.end),
    );
  }
  return { tensors, metadata };
}

const INT_RANGES: Readonly<Record<SafetensorsIntDType, readonly [number, number]>> = {
  I64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  U64: [0, Number.MAX_SAFE_INTEGER],
  I32: [-(2 ** 31), 2 ** 31 - 1],
  U32: [0, 2 ** 32 - 1],
  I16: [-(2 ** 15), 2 ** 15 - 1],
  U16: [0, 2 ** 16 - 1],
  I8: [-128, 127],
  U8: [0, 255],
  BOOL: [0, 1],
};

/** Little-endian bytes of `data` as `dtype`; refuses values the dtype cannot hold. */
function encodeTensor(
  op: string,
  name: string,
  dtype: SafetensorsDType,
  t: TensorToWrite,
): Uint8Array {
  const { data, shape } = t;
  const n = data.length;
  let host: ArrayBufferView;
  switch (dtype) {
    case 'F32':
      host = data instanceof Float32Array ? data : Float32Array.from(data);
      break;
    case 'F64':
      host = Float64Array.from(data);
      break;
    case 'F16':
    case 'BF16': {
      const encode = dtype === 'F16' ? numberToF16Bits : numberToBF16Bits;
      const bits = new Uint16Array(n);
      for (let j = 0; j < n; j++) {
        const v = data[j]!;
        bits[j] = encode(v);
        // Exponent all ones from a finite input: the value overflowed the format.
        const e = dtype === 'F16' ? bits[j]! & 0x7c00 : bits[j]! & 0x7f80;
        if (Number.isFinite(v) && e === (dtype === 'F16' ? 0x7c00 : 0x7f80)) {
          throw new FuseError(
            op,
            name,
            `has value ${v} at element ${j}, too large for ${dtype} (it would become infinity)`,
            { [name]: shape },
          );
        }
      }
      host = bits;
      break;
    }
    default: {
      const [lo, hi] = INT_RANGES[dtype];
      for (let j = 0; j < n; j++) {
        const v = data[j]!;
        if (!Number.isInteger(v) || v < lo || v > hi) {
          throw new FuseError(
            op,
            name,
            `has value ${v} at element ${j}, which ${dtype} cannot hold`,
            {
              [name]: shape,
            },
          );
        }
      }
      switch (dtype) {
        case 'I64':
          host = BigInt64Array.from(data, (v) => BigInt(v));
          break;
        case 'U64':
          host = BigUint64Array.from(data, (v) => BigInt(v));
          break;
        case 'I32':
          host = Int32Array.from(data);
          break;
        case 'U32':
          host = Uint32Array.from(data);
          break;
        case 'I16':
          host = Int16Array.from(data);
          break;
        case 'U16':
          host = Uint16Array.from(data);
          break;
        case 'I8':
          host = Int8Array.from(data);
          break;
        default:
          host = Uint8Array.from(data);
      }
    }
  }
  const bytes = new Uint8Array(host.buffer, host.byteOffset, host.byteLength);
  if (HOST_LITTLE_ENDIAN || DTYPES[dtype].size === 1) return bytes;
  const copy = new Uint8Array(bytes);
  swapBytes(copy, DTYPES[dtype].size);
  return copy;
}

/**
 * Serializes tensors to safetensors bytes, packed in the given order with no
 * gaps. The header is padded with spaces so the data buffer starts 8-byte
 * aligned (as the reference writer does), which lets readers map F32/F64 data
 * in place. `metadata` becomes `__metadata__` (strings only).
 */
export function writeSafetensors(
  tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  metadata?: Readonly<Record<string, string>>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const op = 'writeSafetensors';
  const entries: [string, TensorToWrite][] =
    tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  if (options.dtype !== undefined && !['F32', 'F16', 'BF16'].includes(options.dtype)) {
    throw new FuseError(
      op,
      'options.dtype',
      `is ${JSON.stringify(options.dtype)}, expected F32, F16 or BF16`,
    );
  }
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new FuseError(op, `metadata.${k}`, `is ${JSON.stringify(v)}, expected a string`);
      }
    }
    header.__metadata__ = { ...metadata };
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '' || name === '__metadata__') {
      throw new FuseError(op, name, 'is not a usable tensor name');
    }
    if (t === null || typeof t !== 'object' || !Array.isArray(t.shape) || t.data === undefined) {
      throw new FuseError(op, name, 'must be { shape, data, dtype? }');
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FuseError(
        op,
        name,
        `has shape ${JSON.stringify(t.shape)}, expected non-negative integers`,
      );
    }
    if (t.data.length !== shapeSize(t.shape)) {
      throw new FuseError(
        op,
        name,
        `has ${t.data.length} elements, but its shape [${t.shape.join(', ')}] needs ${shapeSize(t.shape)}`,
        { [name]: t.shape },
      );
    }
    if (t.dtype !== undefined && !isSafetensorsDType(t.dtype)) {
      throw new FuseError(
        op,
        name,
        `has dtype ${JSON.stringify(t.dtype)}, expected one of ${DTYPE_NAMES}`,
      );
    }
    const own = t.dtype;
    const dtype: SafetensorsDType =
      own !== undefined && !DTYPES[own].float ? own : (options.dtype ?? own ?? 'F32');
    const bytes = encodeTensor(op, name, dtype, t);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
