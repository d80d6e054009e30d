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
import { forEachMember, JsonSyntaxError } from './json-members.js';

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

/** Each dtype's own name string, so entries share it rather than keep a copy sliced from the header. */
const CANONICAL_DTYPES = new Map(Object.keys(DTYPES).map((d) => [d, d as SafetensorsDType]));

/**
 * The reference implementation's cap on the header: a bigger "header" means the
 * bytes are not safetensors. It also bounds the work and memory the header costs
 * (the entries it can declare), whatever the file's size.
 */
export const MAX_HEADER_BYTES = 100_000_000;

/** The most characters of one name or value an error message quotes. */
const MAX_QUOTED = 80;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The data of every zero-size tensor read: one shared, frozen, empty array per kind. */
const EMPTY_FLOAT = Object.freeze(new Float32Array(0));
const EMPTY_INT = Object.freeze(new Float64Array(0));
const EMPTY_BUFFER = new ArrayBuffer(0);

export function isSafetensorsDType(d: unknown): d is SafetensorsDType {
  return typeof d === 'string' && Object.hasOwn(DTYPES, d);
}

/** Product of a shape; 1 for a scalar (`[]`). */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/**
 * A name or text taken from a file (or a caller) as every error message quotes
 * it: control, line-breaking and unpaired surrogate characters escaped as
 * `\uXXXX`, so the message stays one printable line, and at most 80 characters,
 * the rest noted as `…(N chars)`. `more` marks text that is already a cut-down
 * preview of something longer (noted as `…`).
 */
export function clip(text: string, more = false): string {
  const shown = Math.min(text.length, MAX_QUOTED);
  let out = '';
  for (let j = 0; j < shown; j++) {
    const c = text.charCodeAt(j);
    let plain = c >= 0x20 && (c < 0x7f || c >= 0xa0) && c !== 0x2028 && c !== 0x2029;
    if (c === 0xfeff) plain = false;
    else if (isHighSurrogate(c)) plain = j + 1 < shown && isLowSurrogate(text.charCodeAt(j + 1));
    else if (isLowSurrogate(c)) plain = j > 0 && isHighSurrogate(text.charCodeAt(j - 1));
    out += plain ? text[j] : `\\u${c.toString(16).padStart(4, '0')}`;
  }
  if (text.length > MAX_QUOTED) return `${out}…(${text.length} chars)`;
  return more ? `${out}…` : out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * A value (from a JSON header, or a caller) as a message shows it: JSON-like,
 * through `clip`, built only as far as it is shown, so a huge or deeply nested
 * value costs no more than a small one.
 */
export function describe(value: unknown): string {
  let out = '';
  const full = () => out.length > MAX_QUOTED;
  const walk = (v: unknown): void => {
    if (full()) return;
    if (Array.isArray(v)) {
      out += '[';
      for (let j = 0; j < v.length && !full(); j++) {
        if (j > 0) out += ',';
        walk(v[j]);
      }
      out += ']';
    } else if (isObject(v)) {
      out += '{';
      let first = true;
      for (const k in v) {
        if (full()) break;
        if (!Object.hasOwn(v, k)) continue;
        out += `${first ? '' : ','}${JSON.stringify(k.slice(0, MAX_QUOTED + 1))}:`;
        first = false;
        walk(v[k]);
      }
      out += '}';
    } else if (typeof v === 'string') {
      out += JSON.stringify(v.slice(0, MAX_QUOTED + 1));
    } else {
      out += typeof v === 'function' ? 'function' : String(v);
    }
  };
  walk(value);
  return full() ? clip(out.slice(0, MAX_QUOTED), true) : clip(out);
}

/** A (checked) shape as a message shows it, e.g. `[2, 3]`, at most 80 characters of dimensions. */
function dims(shape: readonly number[]): string {
  const head = shape.slice(0, MAX_QUOTED).join(', ');
  return head.length > MAX_QUOTED
    ? `[${head.slice(0, MAX_QUOTED)}…(${shape.length} dims)]`
    : `[${head}]`;
}

/** The `shapes` of a FuseError about one tensor; none when the shape is too long to show. */
function shapesOf(name: string, shape: readonly number[]): Record<string, readonly number[]> {
  return dims(shape).includes('…') ? {} : { [clip(name)]: shape };
}

const CONVERT =
  "convert it with safetensors' save_file (safetensors.torch.save_file(state_dict, path))";

/** What a file that is not safetensors is instead, from its first bytes, when that is recognizable. */
function foreignFormat(prefix: Uint8Array): string | undefined {
  const [b0, b1, b2, b3] = prefix;
  if (b0 === 0x50 && b1 === 0x4b && b2 === 0x03 && b3 === 0x04) {
    return `starts with the zip signature PK\\x03\\x04: this is a PyTorch zip (.pth / torch.save), not safetensors; ${CONVERT}`;
  }
  if (b0 === 0x80 && b1 !== undefined && b1 >= 2 && b1 <= 5) {
    return `starts with 0x80 0x0${b1} (pickle protocol ${b1}): this is a PyTorch pickle (.pth / .pt from torch.save with _use_new_zipfile_serialization=False), not safetensors; ${CONVERT}`;
  }
  return undefined;
}

/** Refuses bytes that are not safetensors, naming the format they are when their first bytes tell. */
function notSafetensors(op: string, prefix: Uint8Array, argument: string, problem: string): never {
  const foreign = foreignFormat(prefix);
  throw foreign === undefined
    ? new FuseError(op, argument, problem)
    : new FuseError(op, 'bytes', foreign);
}

/**
 * Checks the first (up to 8) bytes of a `total`-byte file, the little-endian
 * header length, before anything else is read; returns the header length.
 */
export function checkHeaderLength(op: string, prefix: Uint8Array, total: number): number {
  if (total < 8 || prefix.length < 8) {
    notSafetensors(
      op,
      prefix,
      'bytes',
      `is ${total} bytes long, too short for a safetensors file (an 8-byte header length comes first)`,
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const headerLength = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
  const room = total - 8;
  if (headerLength < 2 || headerLength > room) {
    notSafetensors(
      op,
      prefix,
      'header length',
      `is ${headerLength} bytes, but ${room} bytes follow it (and a header is 2 to ${MAX_HEADER_BYTES} bytes): not a safetensors file`,
    );
  }
  if (headerLength > MAX_HEADER_BYTES) {
    notSafetensors(
      op,
      prefix,
      'header length',
      `is ${headerLength} bytes, over the ${MAX_HEADER_BYTES}-byte cap on a header (the reference implementation refuses it too): not a safetensors file`,
    );
  }
  return headerLength;
}

/** One tensor as the header declares it; offsets are relative to the data buffer. */
export interface HeaderEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A checked header: entries in data order (no holes, no overlaps, sizes match shapes). */
export interface SafetensorsHeader {
  readonly entries: HeaderEntry[];
  readonly metadata: Record<string, string>;
}

function parseEntry(op: string, name: string, raw: unknown): HeaderEntry {
  if (!isObject(raw)) {
    throw new FuseError(
      op,
      clip(name),
      'has a header entry that is not an object { dtype, shape, data_offsets }',
    );
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  if (!isSafetensorsDType(dtype)) {
    throw new FuseError(
      op,
      clip(name),
      `has dtype ${describe(dtype)}, expected one of ${DTYPE_NAMES}`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new FuseError(
      op,
      clip(name),
      `has shape ${describe(shape)}, expected non-negative integers`,
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
      clip(name),
      `has data_offsets ${describe(offsets)}, expected [begin, end] with 0 <= begin <= end`,
      shapesOf(name, shape),
    );
  }
  return { name, dtype: CANONICAL_DTYPES.get(dtype)!, shape, begin: offsets[0], end: offsets[1] };
}

/**
 * Parses and checks the header (the bytes after the 8-byte length) of a file
 * whose data buffer holds `dataLength` bytes: everything about a file that can
 * be refused is refused here, before any tensor byte is read. `prefix` (the
 * file's first bytes) only serves to name a foreign format in a refusal.
 */
export function parseHeader(
  op: string,
  prefix: Uint8Array,
  headerBytes: Uint8Array,
  dataLength: number,
): SafetensorsHeader {
  const header = collectEntries(op, prefix, headerBytes);
  checkLayout(op, header.entries, dataLength);
  return header;
}

/**
 * The entries (in header order; a repeated name keeps its first place and its
 * last value, as JSON.parse would) and metadata, read member by member so no
 * object of all entries is ever built, each entry checked as it is read.
 */
function collectEntries(
  op: string,
  prefix: Uint8Array,
  headerBytes: Uint8Array,
): SafetensorsHeader {
  const headerLength = headerBytes.length;
  const notJson: (problem: string) => never = (problem) =>
    notSafetensors(
      op,
      prefix,
      'header',
      `(${headerLength} bytes) is not valid JSON (${problem}): not a safetensors file`,
    );
  if (headerBytes[0] === 0xef && headerBytes[1] === 0xbb && headerBytes[2] === 0xbf) {
    notSafetensors(
      op,
      prefix,
      'header',
      'starts with a UTF-8 byte order mark (EF BB BF), which safetensors does not allow (the reference implementation refuses it too): not a safetensors file',
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    notSafetensors(
      op,
      prefix,
      'header',
      `(${headerLength} bytes) is not valid UTF-8: not a safetensors file`,
    );
  }

  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  const seen = new Map<string, number>();
  // An entry's refusal waits for the end of the scan: a text that is not JSON is refused as such.
  let refusal: FuseError | undefined;
  const member = (name: string, raw: unknown) => {
    if (refusal !== undefined) return;
    try {
      take(name, raw);
    } catch (e) {
      if (!(e instanceof FuseError)) throw e;
      refusal = e;
    }
  };
  const take = (name: string, raw: unknown) => {
    if (name === '__metadata__') {
      if (!isObject(raw)) throw new FuseError(op, '__metadata__', 'must be an object of strings');
      metadata = {};
      for (const k of Object.keys(raw)) {
        const v = raw[k];
        if (typeof v !== 'string') {
          throw new FuseError(
            op,
            `__metadata__.${clip(k)}`,
            `is ${describe(v)}, expected a string`,
          );
        }
        metadata[k] = v;
      }
      return;
    }
    const entry = parseEntry(op, name, raw);
    const at = seen.get(name);
    if (at === undefined) {
      seen.set(name, entries.length);
      entries.push(entry);
    } else {
      entries[at] = entry;
    }
  };
  let isObjectText: boolean;
  try {
    isObjectText = forEachMember(text, member);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    if (e.fromParse) notJson(`in the value at character ${e.at}: ${clip(e.problem)}`);
    const near = JSON.stringify(text.slice(e.at, e.at + 12));
    const found = e.at < text.length ? `, found ${clip(near, e.at + 12 < text.length)}` : '';
    notJson(`${e.problem} at character ${e.at}${found}`);
  }
  if (!isObjectText) {
    // Not an object at all: JSON.parse says whether it is JSON of another kind.
    try {
      JSON.parse(text);
    } catch (e) {
      notJson(clip(String((e as Error).message)));
    }
    notSafetensors(
      op,
      prefix,
      'header',
      'must be a JSON object of tensor entries: not a safetensors file',
    );
  }
  if (refusal !== undefined) throw refusal;
  return { entries, metadata };
}

/** Checks the entries against a data buffer of `dataLength` bytes and sorts them into data order. */
function checkLayout(op: string, entries: HeaderEntry[], dataLength: number): void {
  for (const e of entries) {
    if (e.end > dataLength) {
      throw new FuseError(
        op,
        clip(e.name),
        `has data_offsets [${e.begin}, ${e.end}] out of range: the data buffer holds ${dataLength} bytes`,
        shapesOf(e.name, e.shape),
      );
    }
    const need = shapeSize(e.shape) * DTYPES[e.dtype].size;
    if (e.end - e.begin !== need) {
      throw new FuseError(
        op,
        clip(e.name),
        `has data_offsets [${e.begin}, ${e.end}] holding ${e.end - e.begin} bytes, but shape ${dims(e.shape)} of ${e.dtype} needs ${need}`,
        shapesOf(e.name, e.shape),
      );
    }
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last: HeaderEntry | null = null;
  for (const e of entries) {
    if (e.begin < covered && last !== null) {
      throw new FuseError(
        op,
        clip(e.name),
        `has data_offsets [${e.begin}, ${e.end}] overlapping '${clip(last.name)}' at [${last.begin}, ${last.end}]`,
      );
    }
    if (e.begin > covered) {
      throw new FuseError(
        op,
        clip(e.name),
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
}

/**
 * A fresh buffer for one tensor's bytes; a tensor too big for one typed array
 * on this engine is refused by name rather than with a bare RangeError.
 */
export function tensorBuffer(op: string, e: HeaderEntry): ArrayBuffer {
  const n = e.end - e.begin;
  if (n === 0) return EMPTY_BUFFER;
  try {
    return new ArrayBuffer(n);
  } catch (err) {
    throw new FuseError(
      op,
      clip(e.name),
      `needs ${n} bytes, more than one typed array holds here (${clip(String((err as Error).message))})`,
      shapesOf(e.name, e.shape),
    );
  }
}

function swapBytes(b: Uint8Array, itemSize: number): void {
  for (let j = 0; j < b.length; j += itemSize) b.subarray(j, j + itemSize).reverse();
}

/**
 * The tensor from its little-endian bytes `buf` (exactly `end - begin` of them,
 * owned by the tensor: F32 data is a view of it, and on a big-endian host it is
 * byte-swapped in place). A zero-size tensor shares one empty array.
 */
export function decodeTensor(op: string, e: HeaderEntry, buf: ArrayBuffer): SafeTensor {
  const { name, dtype, shape } = e;
  const info = DTYPES[dtype];
  if (buf.byteLength === 0) {
    return info.float
      ? { dtype: dtype as SafetensorsFloatDType, shape, data: EMPTY_FLOAT }
      : { dtype: dtype as SafetensorsIntDType, shape, data: EMPTY_INT };
  }
  if (!HOST_LITTLE_ENDIAN && info.size > 1) swapBytes(new Uint8Array(buf), info.size);
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
            clip(name),
            `holds ${dtype} value ${v} at element ${j}, beyond the 2^53 a number holds exactly`,
            shapesOf(name, shape),
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

/**
 * Parses a safetensors file held in memory. Float tensors (F32, F64, F16, BF16)
 * come back as Float32Array, integer and bool tensors as Float64Array of exact
 * values. Every inconsistency throws a FuseError naming the tensor and numbers;
 * the header is checked whole before any tensor is copied out.
 */
export function readSafetensors(
  bytes: Uint8Array,
  options: ReadSafetensorsOptions = {},
): SafeTensors {
  const op =
    options.source === undefined ? 'readSafetensors' : `readSafetensors(${options.source})`;
  if (!(bytes instanceof Uint8Array)) throw new FuseError(op, 'bytes', 'must be a Uint8Array');
  const prefix = bytes.subarray(0, 8);
  const dataStart = 8 + checkHeaderLength(op, prefix, bytes.length);
  const { entries, metadata } = parseHeader(
    op,
    prefix,
    bytes.subarray(8, dataStart),
    bytes.length - dataStart,
  );
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    const buf = tensorBuffer(op, e);
    // A copy, not bytes.slice(): on a Node Buffer (what readFile returns) slice is a view.
    new Uint8Array(buf).set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
    tensors.set(e.name, decodeTensor(op, e, buf));
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
            clip(name),
            `has value ${v} at element ${j}, too large for ${dtype} (it would become infinity)`,
            shapesOf(name, shape),
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
            clip(name),
            `has value ${describe(v)} at element ${j}, which ${dtype} cannot hold`,
            shapesOf(name, shape),
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
      `is ${describe(options.dtype)}, expected F32, F16 or BF16`,
    );
  }
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') {
        throw new FuseError(op, `metadata.${clip(k)}`, `is ${describe(v)}, expected a string`);
      }
    }
    header.__metadata__ = { ...metadata };
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries) {
    if (name === '' || name === '__metadata__') {
      throw new FuseError(op, clip(name), 'is not a usable tensor name');
    }
    if (t === null || typeof t !== 'object' || !Array.isArray(t.shape) || t.data === undefined) {
      throw new FuseError(op, clip(name), 'must be { shape, data, dtype? }');
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FuseError(
        op,
        clip(name),
        `has shape ${describe(t.shape)}, expected non-negative integers`,
      );
    }
    if (t.data.length !== shapeSize(t.shape)) {
      throw new FuseError(
        op,
        clip(name),
        `has ${t.data.length} elements, but its shape ${dims(t.shape)} needs ${shapeSize(t.shape)}`,
        shapesOf(name, t.shape),
      );
    }
    if (t.dtype !== undefined && !isSafetensorsDType(t.dtype)) {
      throw new FuseError(
        op,
        clip(name),
        `has dtype ${describe(t.dtype)}, expected one of ${DTYPE_NAMES}`,
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
