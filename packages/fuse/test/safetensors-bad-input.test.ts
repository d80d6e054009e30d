/**
 * Hostile and odd safetensors input: the reader reads the 8-byte length and the
 * header before any tensor byte, names PyTorch files as such, reads tensor data
 * in pieces (so files over 2 GiB load), refuses a BOM, keeps every message one
 * short printable line, and shares one empty array among zero-size tensors.
 */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FuseError,
  readSafetensors,
  type SafeTensor,
  type SafeTensors,
  writeSafetensors,
} from '../src/index.js';
import { forEachMember, JsonSyntaxError } from '../src/io/json-members.js';
import { loadSafetensorsFile, saveSafetensorsFile } from '../src/io/node.js';
import { READ_CHUNK_BYTES, readSafetensorsFile } from '../src/io/safetensors-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuse-bad-input-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The 8-byte little-endian length field. */
function lengthField(n: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, n % 2 ** 32, true);
  view.setUint32(4, Math.floor(n / 2 ** 32), true);
  return out;
}

/** A file from header text (or bytes) and data bytes. */
function file(header: unknown, data: ArrayLike<number> = []): Uint8Array {
  const json =
    header instanceof Uint8Array
      ? header
      : new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  out.set(lengthField(json.length));
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** True when every character is printable: no control characters, no line breaks. */
function printableLine(text: string): boolean {
  for (let j = 0; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c === 0x2028 || c === 0x2029) return false;
  }
  return true;
}

function refusal(bytes: Uint8Array): string {
  try {
    readSafetensors(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(FuseError);
    return (e as FuseError).message;
  }
  throw new Error('expected readSafetensors to refuse the bytes');
}

async function fileRefusal(path: string): Promise<string> {
  try {
    await loadSafetensorsFile(path);
  } catch (e) {
    expect(e).toBeInstanceOf(FuseError);
    return (e as FuseError).message;
  }
  throw new Error(`expected loadSafetensorsFile to refuse ${path}`);
}

/** Bytes this process has read through read(2) and friends so far, or null off Linux. */
async function bytesReadSoFar(): Promise<number | null> {
  try {
    const io = await readFile('/proc/self/io', 'utf8');
    return Number(/^rchar: (\d+)$/m.exec(io)![1]);
  } catch {
    return null;
  }
}

/** A sparse file of `size` bytes starting with `head`; null when the file system refuses. */
async function sparseFile(name: string, head: Uint8Array, size: number): Promise<string | null> {
  const path = join(dir, name);
  await writeFile(path, head);
  try {
    await truncate(path, size);
  } catch (e) {
    console.log(`skipped: cannot make a sparse ${size}-byte file: ${(e as Error).message}`);
    await rm(path, { force: true });
    return null;
  }
  return path;
}

/** The same tensors (names, order, dtypes, shapes, data bits) and metadata; fast on big arrays. */
function expectSame(a: SafeTensors, b: SafeTensors): void {
  expect(a.metadata).toEqual(b.metadata);
  expect([...a.tensors.keys()]).toEqual([...b.tensors.keys()]);
  for (const [name, t] of a.tensors) {
    const u = b.tensors.get(name)!;
    expect({ dtype: t.dtype, shape: t.shape, type: t.data.constructor }, name).toEqual({
      dtype: u.dtype,
      shape: u.shape,
      type: u.data.constructor,
    });
    const bits = (x: SafeTensor) =>
      Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength);
    expect(bits(t).equals(bits(u)), name).toBe(true);
  }
}

const CONVERT =
  "convert it with safetensors' save_file (safetensors.torch.save_file(state_dict, path))";

describe('the header is read and checked before the data', () => {
  it('names a PyTorch zip and a pickle as such, quoting none of their bytes', async () => {
    const zip = join(dir, 'model.pth');
    const local = [0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0, 0, 0, 0];
    await writeFile(zip, Uint8Array.from([...local, ...new Uint8Array(4096)]));
    expect(await fileRefusal(zip)).toBe(
      `readSafetensors(${zip}): argument 'bytes' starts with the zip signature PK\\x03\\x04: this is a PyTorch zip (.pth / torch.save), not safetensors; ${CONVERT}`,
    );
    // A zip whose length field passes (67324752 bytes) is named once its "header" fails.
    const zipZero = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]);
    const passing = await sparseFile('zero-version.pth', zipZero, 0x04034b50 + 64);
    if (passing !== null) {
      expect(await fileRefusal(passing)).toMatch(/argument 'bytes' starts with the zip signature/);
    }
    for (const protocol of [2, 3, 4, 5]) {
      const pickle = join(dir, `legacy-${protocol}.pt`);
      await writeFile(
        pickle,
        Uint8Array.from([0x80, protocol, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9]),
      );
      expect(await fileRefusal(pickle)).toBe(
        `readSafetensors(${pickle}): argument 'bytes' starts with 0x80 0x0${protocol} (pickle protocol ${protocol}): this is a PyTorch pickle (.pth / .pt from torch.save with _use_new_zipfile_serialization=False), not safetensors; ${CONVERT}`,
      );
    }
    // A 0x80 0x02 prefix is also a plausible header length (640): a real file is not misnamed.
    const header = `{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`.padEnd(0x280, ' ');
    const looksLikePickle = file(header, [7]);
    expect([...looksLikePickle.subarray(0, 2)]).toEqual([0x80, 0x02]);
    expect(readSafetensors(looksLikePickle).tensors.get('t')?.data).toEqual(new Float64Array([7]));
  });

  it('never echoes raw bytes of a header that is not JSON', () => {
    const header = Uint8Array.from([0, 0, 1, 0x7b, 0x22, 0x0a, 0, 0x22, 0x7d, 0x1b, 0, 0]);
    const message = refusal(file(header));
    expect(message).toMatch(/^readSafetensors: argument 'header' \(12 bytes\) is not valid JSON/);
    expect(printableLine(message), message).toBe(true);
    expect(message).toContain('\\u0000');
  });

  it('reads no more than the header of a file whose header is refused', async (ctx) => {
    const size = 256 * 2 ** 20;
    const head = file('{"a": nope'.padEnd(1000, ' '));
    const path = await sparseFile('bad-header.safetensors', head, size);
    const before = await bytesReadSoFar();
    if (path === null || before === null) {
      if (before === null) console.log('skipped: no /proc/self/io to count bytes read');
      return ctx.skip();
    }
    expect(await fileRefusal(path)).toMatch(
      /argument 'header' \(1000 bytes\) is not valid JSON \(.*\): not a safetensors file$/,
    );
    const read = (await bytesReadSoFar())! - before;
    expect(read, `${read} bytes read`).toBeLessThan(16 * 2 ** 20);
  });

  it('refuses a header over the 100 MB cap from its length field alone', async (ctx) => {
    const claim = 100_000_001;
    const path = await sparseFile('huge-header.safetensors', lengthField(claim), claim + 8 + 64);
    if (path === null) return ctx.skip();
    expect(await fileRefusal(path)).toBe(
      `readSafetensors(${path}): argument 'header length' is 100000001 bytes, over the 100000000-byte cap on a header (the reference implementation refuses it too): not a safetensors file`,
    );
  });

  it('opens files over 2 GiB: a refusal there comes from the header, not the size', async (ctx) => {
    const size = 2 ** 31 + 4096;
    const json = '{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
    const path = await sparseFile('big.safetensors', file(json), size);
    if (path === null) return ctx.skip();
    const data = size - 8 - json.length;
    const started = performance.now();
    expect(await fileRefusal(path)).toBe(
      `readSafetensors(${path}): argument 'bytes' has ${data - 8} bytes after the last tensor (the data buffer holds ${data} bytes, tensors cover 8)`,
    );
    const zip = await sparseFile(
      'big.pth',
      Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x2d, 0, 8, 0]),
      3 * 2 ** 30,
    );
    expect(await fileRefusal(zip!)).toMatch(/this is a PyTorch zip \(\.pth \/ torch\.save\)/);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('tensor data read in pieces', () => {
  const ramp = (n: number, scale: number) =>
    Float32Array.from({ length: n }, (_, j) => (j % 997) * scale - 3);

  it('gives the same tensors whatever the size of one read', async () => {
    const tensors = new Map<
      string,
      {
        shape: number[];
        data: ArrayLike<number>;
        dtype?: 'F16' | 'BF16' | 'F64' | 'I64' | 'U8' | 'BOOL';
      }
    >([
      ['big.f32', { shape: [200, 100], data: ramp(20_000, 0.25) }],
      ['empty', { shape: [0, 3], data: new Float32Array(0) }],
      ['small.f16', { shape: [3], data: [1, -2.5, 0.5], dtype: 'F16' }],
      ['count', { shape: [], data: [123456789], dtype: 'I64' }],
      ['odd.u8', { shape: [7], data: [1, 2, 3, 4, 5, 6, 255], dtype: 'U8' }],
      ['mask', { shape: [3], data: [1, 0, 1], dtype: 'BOOL' }],
      ['big.bf16', { shape: [70_000], data: ramp(70_000, 0.5), dtype: 'BF16' }],
      ['f64', { shape: [2], data: [0.1, 1e30], dtype: 'F64' }],
    ]);
    // Enough 40 KB tensors to need several runs through the 1 MiB staging buffer.
    for (let k = 0; k < 40; k++)
      tensors.set(`run.${k}`, { shape: [10_000], data: ramp(10_000, k) });
    const path = join(dir, 'pieces.safetensors');
    await saveSafetensorsFile(path, tensors, { format: 'pt' });
    const bytes = await readFile(path);
    const whole = readSafetensors(bytes);
    expect(whole.tensors.size).toBe(48);

    const before = await bytesReadSoFar();
    const calls = before === null ? null : await readFile('/proc/self/io', 'utf8');
    const chunk = 4099; // not a multiple of any element size: elements straddle reads
    const pieces = await readSafetensorsFile(path, chunk);
    if (calls !== null) {
      const syscalls = (io: string) => Number(/^syscr: (\d+)$/m.exec(io)![1]);
      const made = syscalls(await readFile('/proc/self/io', 'utf8')) - syscalls(calls);
      expect(made).toBeGreaterThanOrEqual(Math.floor(bytes.length / chunk));
    }
    expect([...pieces.tensors.keys()]).toEqual([...whole.tensors.keys()]);
    expectSame(pieces, whole);
    expectSame(await loadSafetensorsFile(path), whole);

    const tiny = join(dir, 'tiny.safetensors');
    const few = new Map(
      [...tensors].filter(([name]) => !name.startsWith('big') && !name.startsWith('run')),
    );
    await saveSafetensorsFile(tiny, few);
    for (const size of [1, 3, 5]) {
      expect(await readSafetensorsFile(tiny, size)).toEqual(readSafetensors(await readFile(tiny)));
    }
    expect(READ_CHUNK_BYTES).toBeLessThan(2 ** 31);
  });
});

describe('a byte order mark', () => {
  it('is refused at the start of the header, naming the file', async () => {
    const json = new TextEncoder().encode('{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}');
    const bom = file(Uint8Array.from([0xef, 0xbb, 0xbf, ...json]), [1]);
    expect(refusal(bom)).toBe(
      "readSafetensors: argument 'header' starts with a UTF-8 byte order mark (EF BB BF), which safetensors does not allow (the reference implementation refuses it too): not a safetensors file",
    );
    const path = join(dir, 'bom.safetensors');
    await writeFile(path, bom);
    const message = await fileRefusal(path);
    expect(
      message.startsWith(
        `readSafetensors(${path}): argument 'header' starts with a UTF-8 byte order mark`,
      ),
      message,
    ).toBe(true);
  });
});

describe('names and values in messages', () => {
  const long = 'layer.'.repeat(200_000);

  it('quotes at most 80 characters of a name, one printable line', () => {
    const message = refusal(
      file({ [long]: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, [0]),
    );
    expect(message).toBe(
      `readSafetensors: argument '${long.slice(0, 80)}…(1200000 chars)' has dtype "F8", expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL`,
    );
    const odd = refusal(
      file({ 'a\nb\u0000c\u2028': { dtype: 'F8', shape: [], data_offsets: [0, 0] } }),
    );
    expect(odd).toMatch(/^readSafetensors: argument 'a\\u000ab\\u0000c\\u2028' has dtype "F8"/);
  });

  it('cuts every quoted value, however long or deep', () => {
    const checks: [unknown, RegExp][] = [
      [
        { t: { dtype: 'x'.repeat(1e6), shape: [1], data_offsets: [0, 1] } },
        /has dtype "x{79}…, expected/,
      ],
      [
        { t: { dtype: 'F32', shape: new Array(100_000).fill(-1), data_offsets: [0, 4] } },
        /has shape \[-1,-1,.*…/,
      ],
      [
        { t: { dtype: 'F32', shape: new Array(100_000).fill(1), data_offsets: [0, 8] } },
        /but shape \[1, 1, .*…\(100000 dims\)\] of F32 needs 4$/,
      ],
      [
        {
          [long]: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
          b: { dtype: 'F32', shape: [1], data_offsets: [2, 6] },
        },
        /overlapping 'layer\.layer.*…\(1200000 chars\)' at \[0, 4\]/,
      ],
      [
        { __metadata__: { [long]: { deep: [long] } } },
        /^readSafetensors: argument '__metadata__\.layer.*…\(1200000 chars\)' is \{"deep":\["layer.*…, expected a string$/,
      ],
    ];
    for (const [header, pattern] of checks) {
      const message = refusal(file(header, new Uint8Array(8)));
      expect(message, message.slice(0, 300)).toMatch(pattern);
      expect(message.length).toBeLessThan(400);
      expect(printableLine(message)).toBe(true);
    }
    // Nesting too deep for JSON.stringify is still a FuseError naming the tensor.
    const deep = `{"t":{"dtype":${'['.repeat(200_000)}${']'.repeat(200_000)},"shape":[1],"data_offsets":[0,1]}}`;
    expect(refusal(file(deep, [0]))).toMatch(
      /^readSafetensors: argument 't' has dtype \[\[\[\[.*…, expected one of/,
    );
  });

  it('cuts names in the writer too', () => {
    expect(() => writeSafetensors({ [long]: { shape: [2], data: [1] } })).toThrow(
      `writeSafetensors: argument '${long.slice(0, 80)}…(1200000 chars)' has 1 elements, but its shape [2] needs 2`,
    );
  });
});

describe('zero-size tensors', () => {
  it('share one frozen empty array per kind instead of one allocation each', () => {
    const header: Record<string, unknown> = {};
    for (let k = 0; k < 1000; k++)
      header[`z${k}`] = { dtype: k % 2 ? 'F32' : 'I64', shape: [0], data_offsets: [0, 0] };
    const t = readSafetensors(file(header)).tensors;
    expect(t.size).toBe(1000);
    expect(t.get('z1')?.data).toEqual(new Float32Array(0));
    expect(t.get('z0')?.data).toEqual(new Float64Array(0));
    expect(t.get('z1')?.data).toBe(t.get('z999')?.data);
    expect(t.get('z0')?.data).toBe(t.get('z998')?.data);
    expect(Object.isFrozen(t.get('z1')?.data)).toBe(true);
  });
});

describe('the header is read member by member', () => {
  /** The members forEachMember reports (last value per name), or the error; JSON.parse's likewise. */
  function ours(text: string): [string, unknown][] | 'not an object' | 'invalid' {
    const members = new Map<string, unknown>();
    try {
      if (!forEachMember(text, (name, value) => members.set(name, value))) return 'not an object';
    } catch (e) {
      expect(e).toBeInstanceOf(JsonSyntaxError);
      return 'invalid';
    }
    return [...members].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  function reference(text: string): [string, unknown][] | 'not an object' | 'invalid' {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return /^[ \t\n\r]*\{/.test(text) ? 'invalid' : 'not an object';
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not an object';
    return Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  it('accepts and reads exactly what JSON.parse does', () => {
    const texts = [
      '{}',
      ' \t\n{ } \r\n ',
      '{"t":{"dtype":"F32","shape":[2, 3],"data_offsets":[0,24]}}',
      '{ "t" : { "data_offsets" : [ 0 , 24 ] , "shape" : [ 2 , 3 ] , "dtype" : "F32" } }',
      '{"t":{"dtype":"F32","shape":[1e1],"data_offsets":[0.0,-0]}}',
      '{"t":{"dtype":"F\\u0033\\u0032","shape":[01],"data_offsets":[0,4]}}',
      '{"t":{"dtype":"F32","dtype":"F16","shape":[],"data_offsets":[0,2]}}',
      '{"t":{"dtype":"F32","extra":{"a":[1,{"b":"}]"}]},"shape":[1],"data_offsets":[0,4]}}',
      '{"a\\"b\\\\":1,"__proto__":{"x":"y"},"1":2,"a\\"b\\\\":[3]}',
      '{"__metadata__":{"format":"pt","k":"v\\n"},"t":{}}',
      '{"t":{"dtype":"F32","shape":[9007199254740993],"data_offsets":[123456789012345678,0]}}',
      '{"t":[[[[[]]]]],"u":true,"v":null,"w":-1.5e-3,"x":"\\ud83d\\ude00"}',
      '{"t":{"dtype":"F32","shape":[1,],"data_offsets":[0,4]}}',
      '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}',
      '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x',
      '{"t":{"dtype":"F32","shape":[1] "data_offsets":[0,4]}}',
      '{"t" {"dtype":"F32"}}',
      '{"t":1 "u":2}',
      '{"t":}',
      '{"t":',
      '{"t":"abc',
      '{"t":"a\u0001b"}',
      '{"t\u0001":1}',
      '{"t":[1,2}',
      '{"t":{"a":1]}',
      '{"t":\'x\'}',
      '{"t":"\\x"}',
      '{"t":01}',
      '{"t":1}}',
      '[1, 2]',
      '"x"',
      '',
      'nope',
    ];
    for (const text of texts) expect(ours(text), text).toEqual(reference(text));
  });

  it('refuses text that is not JSON as such, before any entry, in one line', () => {
    // The entry 't' is bad too, but the text is refused first; JSON.parse words the value's fault.
    expect(refusal(file('{"t":{"dtype":"F32"},\n"u":1 x}'))).toMatch(
      /^readSafetensors: argument 'header' \(30 bytes\) is not valid JSON \(in the value at character 26: [^\n]+\): not a safetensors file$/,
    );
    expect(refusal(file('{"t" {"dtype":"F32"}}'))).toBe(
      'readSafetensors: argument \'header\' (21 bytes) is not valid JSON (expected \':\' at character 5, found "{\\"dtype\\":\\"F3"…): not a safetensors file',
    );
  });

  it('keeps the last value of a repeated name, in its first place', () => {
    const text =
      '{"t":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"u":{"dtype":"U8","shape":[0],"data_offsets":[1,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    const t = readSafetensors(file(text, [7])).tensors;
    expect([...t.keys()]).toEqual(['t', 'u']);
    expect(t.get('t')).toEqual({ dtype: 'U8', shape: [1], data: new Float64Array([7]) });
  });

  it('agrees with JSON.parse on thousands of mangled headers', () => {
    const base = JSON.stringify({
      __metadata__: { format: 'pt', 'n"q': 'a\\b' },
      'stem.conv.weight': { dtype: 'F32', shape: [8, 3, 3, 3], data_offsets: [0, 864] },
      'stem.bn.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [864, 872] },
      e: { dtype: 'U8', shape: [0], data_offsets: [872, 872], x: [{ y: '}' }] },
    });
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      '"',
      '\\',
      ',',
      ':',
      ' ',
      '0',
      '1',
      '-',
      'e',
      '.',
      'u',
      '\n',
    ];
    let seed = 12345;
    const random = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    for (let round = 0; round < 3000; round++) {
      let text = base;
      for (let edits = 1 + random(3); edits > 0; edits--) {
        const at = random(text.length + 1);
        const kind = random(3);
        const piece = pieces[random(pieces.length)]!;
        text =
          kind === 0
            ? text.slice(0, at) + text.slice(at + 1)
            : kind === 1
              ? text.slice(0, at) + piece + text.slice(at)
              : text.slice(0, at) + piece + text.slice(at + 1);
      }
      expect(ours(text), text).toEqual(reference(text));
    }
  });
});
