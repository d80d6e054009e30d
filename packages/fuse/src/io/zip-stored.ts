/**
 * The part of the zip format that `torch.save` archives use, read from bytes in
 * memory: the central directory (zip64 where a size or offset needs it) and
 * entries stored without compression. torch.save always stores; an entry that
 * is compressed or encrypted was repacked by another tool and is refused by
 * name rather than inflated here.
 */

import { FuseError } from '../errors.js';
import { clip } from './safetensors.js';

/** One stored entry: its data is `bytes.subarray(start, start + size)` of the archive. */
export interface ZipEntry {
  readonly name: string;
  readonly start: number;
  readonly size: number;
  readonly crc32: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const EOCD_BYTES = 22;
const MAX_COMMENT = 0xffff;

const METHODS: Readonly<Record<number, string>> = {
  8: 'deflate',
  9: 'deflate64',
  12: 'bzip2',
  14: 'lzma',
  93: 'zstd',
  95: 'xz',
};

/** Reads little-endian fields of the archive, refusing any read past its end as a cut-short file. */
class Reader {
  private readonly view: DataView;
  constructor(
    private readonly op: string,
    readonly bytes: Uint8Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(at: number, n: number, what: string): void {
    if (at < 0 || at + n > this.bytes.length) {
      throw new FuseError(
        this.op,
        'bytes',
        `ends at byte ${this.bytes.length}, but its ${what} needs bytes ${at} to ${at + n}: the zip is truncated or corrupt`,
      );
    }
  }
  u16(at: number): number {
    return this.view.getUint16(at, true);
  }
  u32(at: number): number {
    return this.view.getUint32(at, true);
  }
  /** A 64-bit field; beyond 2^53 no archive in memory can reach, so it is refused. */
  u64(at: number, what: string): number {
    const v = this.view.getUint32(at + 4, true) * 2 ** 32 + this.view.getUint32(at, true);
    if (!Number.isSafeInteger(v)) {
      throw new FuseError(this.op, 'bytes', `has a zip64 ${what} of ${v}: the zip is corrupt`);
    }
    return v;
  }
}

/** Where the end-of-central-directory record starts: searched backwards over a possible comment. */
function findEocd(op: string, r: Reader): number {
  const last = r.bytes.length - EOCD_BYTES;
  for (let at = last; at >= 0 && at >= last - MAX_COMMENT; at--) {
    if (r.u32(at) === EOCD && at + EOCD_BYTES + r.u16(at + 20) === r.bytes.length) return at;
  }
  for (let at = last; at >= 0 && at >= last - MAX_COMMENT; at--) {
    if (r.u32(at) === EOCD) return at;
  }
  throw new FuseError(
    op,
    'bytes',
    `(${r.bytes.length} bytes) has no zip end-of-central-directory record: the zip is truncated or corrupt`,
  );
}

interface Directory {
  readonly count: number;
  readonly offset: number;
  readonly size: number;
}

function readDirectory(op: string, r: Reader): Directory {
  const eocd = findEocd(op, r);
  let count = r.u16(eocd + 10);
  let size = r.u32(eocd + 12);
  let offset = r.u32(eocd + 16);
  if (r.u16(eocd + 4) !== 0 || (r.u16(eocd + 6) !== 0 && r.u16(eocd + 6) !== 0xffff)) {
    throw new FuseError(op, 'bytes', 'is one part of a multi-disk zip, which is not supported');
  }
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locator = eocd - 20;
    r.need(locator, 20, 'zip64 end-of-central-directory locator');
    if (r.u32(locator) !== ZIP64_LOCATOR) {
      throw new FuseError(
        op,
        'bytes',
        'has a zip end record that points to zip64 fields, but no zip64 locator before it: the zip is corrupt',
      );
    }
    const at = r.u64(locator + 8, 'end record offset');
    r.need(at, 56, 'zip64 end-of-central-directory record');
    if (r.u32(at) !== ZIP64_EOCD) {
      throw new FuseError(
        op,
        'bytes',
        `has no zip64 end-of-central-directory record at byte ${at}: the zip is corrupt`,
      );
    }
    count = r.u64(at + 32, 'entry count');
    size = r.u64(at + 40, 'directory size');
    offset = r.u64(at + 48, 'directory offset');
  }
  r.need(offset, size, 'central directory');
  return { count, offset, size };
}

/** The zip64 extra field's values for the header fields that were saturated, in the format's order. */
function zip64Extra(
  op: string,
  r: Reader,
  name: string,
  from: number,
  length: number,
  wanted: { size: boolean; compressed: boolean; offset: boolean },
): { size?: number; compressed?: number; offset?: number } {
  const end = from + length;
  for (let at = from; at + 4 <= end; ) {
    const id = r.u16(at);
    const n = r.u16(at + 2);
    if (id === 0x0001) {
      const out: { size?: number; compressed?: number; offset?: number } = {};
      let p = at + 4;
      const take = (what: string) => {
        if (p + 8 > at + 4 + n) {
          throw new FuseError(op, clip(name), `has a zip64 extra field without its ${what}`);
        }
        const v = r.u64(p, what);
        p += 8;
        return v;
      };
      if (wanted.size) out.size = take('size');
      if (wanted.compressed) out.compressed = take('compressed size');
      if (wanted.offset) out.offset = take('header offset');
      return out;
    }
    at += 4 + n;
  }
  throw new FuseError(
    op,
    clip(name),
    'has sizes that need a zip64 extra field, and it has none: the zip is corrupt',
  );
}

/**
 * The entries of a zip held in `bytes`, by name, each checked to lie inside the
 * archive and to be stored uncompressed. `op` names the caller in errors.
 */
export function readStoredZip(op: string, bytes: Uint8Array): Map<string, ZipEntry> {
  const r = new Reader(op, bytes);
  if (bytes.length < EOCD_BYTES) {
    throw new FuseError(
      op,
      'bytes',
      `is ${bytes.length} bytes long, too short for a zip (its end record alone is ${EOCD_BYTES})`,
    );
  }
  const dir = readDirectory(op, r);
  const names = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let at = dir.offset;
  const end = dir.offset + dir.size;
  for (let k = 0; k < dir.count; k++) {
    if (at + 46 > end || r.u32(at) !== CENTRAL) {
      throw new FuseError(
        op,
        'bytes',
        `has a central directory that ends after ${k} of its ${dir.count} entries (at byte ${at}): the zip is truncated or corrupt`,
      );
    }
    const flags = r.u16(at + 8);
    const method = r.u16(at + 10);
    const crc32 = r.u32(at + 16);
    let compressed = r.u32(at + 20);
    let size = r.u32(at + 24);
    const nameLength = r.u16(at + 28);
    const extraLength = r.u16(at + 30);
    const commentLength = r.u16(at + 32);
    let local = r.u32(at + 42);
    r.need(at + 46, nameLength + extraLength + commentLength, `central entry ${k}`);
    const name = names.decode(bytes.subarray(at + 46, at + 46 + nameLength));
    if (size === 0xffffffff || compressed === 0xffffffff || local === 0xffffffff) {
      const big = zip64Extra(op, r, name, at + 46 + nameLength, extraLength, {
        size: size === 0xffffffff,
        compressed: compressed === 0xffffffff,
        offset: local === 0xffffffff,
      });
      size = big.size ?? size;
      compressed = big.compressed ?? compressed;
      local = big.offset ?? local;
    }
    if (flags & 1) {
      throw new FuseError(op, clip(name), 'is encrypted; torch.save never encrypts');
    }
    if (method !== 0) {
      throw new FuseError(
        op,
        clip(name),
        `is compressed (${METHODS[method] ?? `method ${method}`}); torch.save stores entries uncompressed, so this archive was repacked: unzip it and save it again with torch.save, or zip it with no compression (zip -0)`,
      );
    }
    if (compressed !== size) {
      throw new FuseError(
        op,
        clip(name),
        `is stored with ${compressed} bytes for ${size} bytes of data: the zip is corrupt`,
      );
    }
    r.need(local, 30, `local header of '${clip(name)}'`);
    if (r.u32(local) !== LOCAL) {
      throw new FuseError(
        op,
        clip(name),
        `has no local header at byte ${local}: the zip is truncated or corrupt`,
      );
    }
    const start = local + 30 + r.u16(local + 26) + r.u16(local + 28);
    if (start + size > bytes.length) {
      throw new FuseError(
        op,
        clip(name),
        `holds bytes ${start} to ${start + size}, but the archive ends at byte ${bytes.length}: the zip is truncated`,
      );
    }
    entries.set(name, { name, start, size, crc32 });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

let crcTable: Uint32Array | null = null;

/** The zip CRC-32 (IEEE, reflected) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const table = crcTable;
  let c = 0xffffffff;
  for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
