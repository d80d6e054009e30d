import { crc32 } from '../../src/io/zip-stored.js';

/** A minimal zip of stored (uncompressed) entries, as torch.save writes, for tests that craft archives. */
export function storedZip(entries: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = enc.encode(name);
    const crc = crc32(data);
    const local = new Uint8Array(30 + n.length + data.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, n.length, true);
    local.set(n, 30);
    local.set(data, 30 + n.length);
    const central = new Uint8Array(46 + n.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, n.length, true);
    cv.setUint32(42, offset, true);
    central.set(n, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const dirSize = centrals.reduce((a, c) => a + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, dirSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + dirSize + 22);
  let at = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Builds protocol-2 pickle bytes from opcodes and their arguments. */
export class PickleWriter {
  private readonly parts: number[] = [0x80, 2];
  op(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    const n = new Uint8Array(new Uint32Array([b.length]).buffer);
    return this.op(0x58, ...n, ...b);
  }
  int(v: number): this {
    return this.op(0x4b, v);
  }
  global(module: string, name: string): this {
    return this.op(0x63, ...new TextEncoder().encode(`${module}\n${name}\n`));
  }
  /** A float32 tensor of `shape`/`stride` at `offset` of storage `key` holding `numel` elements. */
  tensor(key: string, numel: number, offset: number, shape: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').op(0x28); // MARK of the args
    this.op(0x28).str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(numel);
    this.op(0x74, 0x51).int(offset); // TUPLE, BINPERSID
    this.op(0x28);
    for (const d of shape) this.int(d);
    this.op(0x74, 0x28);
    for (const d of stride) this.int(d);
    this.op(0x74, 0x89).global('collections', 'OrderedDict').op(0x29, 0x52); // False, OrderedDict()
    return this.op(0x74, 0x52); // TUPLE, REDUCE
  }
  bytes(): Uint8Array {
    return Uint8Array.from([...this.parts, 0x2e]);
  }
}

/** A torch.save-style archive in folder `f` holding `pickle` and float32 storages. */
export function torchZip(
  pickle: Uint8Array,
  storages: Readonly<Record<string, readonly number[]>> = {},
  f = 'archive',
): Uint8Array {
  return storedZip([
    [`${f}/data.pkl`, pickle],
    ...Object.entries(storages).map(
      ([k, v]) =>
        [`${f}/data/${k}`, new Uint8Array(Float32Array.from(v).buffer)] as [string, Uint8Array],
    ),
    [`${f}/byteorder`, new TextEncoder().encode('little')],
  ]);
}
