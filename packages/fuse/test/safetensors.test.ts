/**
 * The safetensors reader and writer: round trips, F16/BF16 conversion on
 * known bit patterns, and every refusal with the numbers it names. Files are
 * also built byte by byte here, so the reader is not only checked against the
 * writer.
 */
import { describe, expect, it } from 'vitest';
import { FuseError, readSafetensors, writeSafetensors } from '../src/index.js';
import {
  bf16BitsToNumber,
  f16BitsToNumber,
  numberToBF16Bits,
  numberToF16Bits,
} from '../src/io/half.js';

/** A file from a header (object or raw text) and data bytes; `claim` overrides the length field. */
function file(header: unknown, data: ArrayLike<number> = [], claim?: number): Uint8Array {
  const json = new TextEncoder().encode(
    typeof header === 'string' ? header : JSON.stringify(header),
  );
  const out = new Uint8Array(8 + json.length + data.length);
  const view = new DataView(out.buffer);
  const n = claim ?? json.length;
  view.setUint32(0, n % 2 ** 32, true);
  view.setUint32(4, Math.floor(n / 2 ** 32), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Little-endian bytes of 16-bit patterns. */
const u16 = (bits: number[]) => new Uint8Array(new Uint16Array(bits).buffer);

function refusal(bytes: Uint8Array): string {
  try {
    readSafetensors(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(FuseError);
    return (e as FuseError).message;
  }
  throw new Error('expected readSafetensors to refuse the bytes');
}

/** The header a writer produced, and the byte offset its data starts at. */
function headerOf(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  return { header, dataStart: 8 + n };
}

describe('safetensors round trip', () => {
  it('writes F32 tensors packed in order, 8-byte aligned, and reads them back exactly', () => {
    const tensors = new Map([
      [
        'conv.weight',
        { shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, j) => j / 7 - 1) },
      ],
      ['scalar', { shape: [], data: new Float32Array([Math.PI]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
      ['bn.running_var', { shape: [3], data: new Float32Array([0.5, 1e-30, 3e38]) }],
    ]);
    const bytes = writeSafetensors(tensors, { format: 'pt', note: 'ünïcode' });
    const { header, dataStart } = headerOf(bytes);
    expect(dataStart % 8).toBe(0);
    expect(header.__metadata__).toEqual({ format: 'pt', note: 'ünïcode' });
    expect(Object.keys(header)).toEqual([
      '__metadata__',
      'conv.weight',
      'scalar',
      'empty',
      'bn.running_var',
    ]);
    expect((header['conv.weight'] as { data_offsets: number[] }).data_offsets).toEqual([0, 72]);
    expect((header.scalar as { data_offsets: number[] }).data_offsets).toEqual([72, 76]);
    expect((header.empty as { data_offsets: number[] }).data_offsets).toEqual([76, 76]);
    expect((header['bn.running_var'] as { data_offsets: number[] }).data_offsets).toEqual([76, 88]);
    expect(bytes.length).toBe(dataStart + 88);

    const back = readSafetensors(bytes);
    expect(back.metadata).toEqual({ format: 'pt', note: 'ünïcode' });
    expect([...back.tensors.keys()]).toEqual(['conv.weight', 'scalar', 'empty', 'bn.running_var']);
    for (const [k, t] of tensors) {
      expect(back.tensors.get(k)).toEqual({ dtype: 'F32', shape: t.shape, data: t.data });
    }
  });

  it('reads a view into a larger buffer (byteOffset != 0) and a file without metadata', () => {
    const inner = writeSafetensors({ x: { shape: [2], data: new Float32Array([1, 2]) } });
    const outer = new Uint8Array(inner.length + 3);
    outer.set(inner, 3);
    const back = readSafetensors(outer.subarray(3));
    expect(back.metadata).toEqual({});
    expect(back.tensors.get('x')?.data).toEqual(new Float32Array([1, 2]));
  });

  it('keeps each tensor dtype on a round trip: F16 stays F16, I64 stays I64', () => {
    const first = writeSafetensors(
      {
        w: { shape: [3], data: new Float32Array([1, -2.5, 0.1]) },
        n: { shape: [], data: [42], dtype: 'I64' },
      },
      undefined,
      { dtype: 'F16' },
    );
    const once = readSafetensors(first);
    expect(once.tensors.get('w')?.dtype).toBe('F16');
    expect(once.tensors.get('n')).toEqual({
      dtype: 'I64',
      shape: [],
      data: new Float64Array([42]),
    });
    const twice = readSafetensors(writeSafetensors(once.tensors));
    expect(twice.tensors.get('w')).toEqual(once.tensors.get('w'));
    expect(twice.tensors.get('n')).toEqual(once.tensors.get('n'));
    // 0.1 is not an F16: it comes back as the nearest one.
    expect(once.tensors.get('w')?.data[2]).toBe(f16BitsToNumber(0x2e66));
  });
});

describe('F16 and BF16', () => {
  const F16 = [
    [0x3c00, 1],
    [0xc100, -2.5],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x8000, -0],
    [0x7c00, Number.POSITIVE_INFINITY],
    [0xfc00, Number.NEGATIVE_INFINITY],
  ] as const;

  it('reads known F16 bit patterns: normals, the largest, subnormals, signed zero, infinities', () => {
    const bytes = file(
      { h: { dtype: 'F16', shape: [F16.length + 1], data_offsets: [0, 2 * F16.length + 2] } },
      u16([...F16.map(([b]) => b), 0x7e00]),
    );
    const data = readSafetensors(bytes).tensors.get('h')!.data;
    F16.forEach(([, v], j) => {
      expect(Object.is(data[j], v), `element ${j}`).toBe(true);
    });
    expect(data[F16.length]).toBeNaN();
  });

  it('writes F16 with round-to-nearest-even, as PyTorch .half() does', () => {
    const cases: [number, number][] = [
      ...F16.map(([b, v]) => [v, b] as [number, number]),
      [1 + 2 ** -11, 0x3c00], // halfway, ties to the even mantissa 0
      [1 + 3 * 2 ** -11, 0x3c02], // halfway, ties to the even mantissa 2
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above halfway rounds up
      [2 ** -25, 0x0000], // half the smallest subnormal: ties to even (zero)
      [3 * 2 ** -26, 0x0001], // 0.75 of the smallest subnormal rounds up to it
      [1023.5 * 2 ** -24, 0x0400], // rounds up out of the subnormals into the smallest normal
      [65519, 0x7bff], // below the overflow threshold 65520
      [1e-10, 0x0000],
      [Number.NaN, 0x7e00],
    ];
    for (const [v, bits] of cases) expect(numberToF16Bits(v), `${v}`).toBe(bits);
    const bytes = writeSafetensors(
      { h: { shape: [cases.length], data: cases.map(([v]) => v) } },
      undefined,
      {
        dtype: 'F16',
      },
    );
    const { header, dataStart } = headerOf(bytes);
    expect((header.h as { dtype: string }).dtype).toBe('F16');
    const raw = new Uint16Array(bytes.slice(dataStart).buffer);
    expect([...raw]).toEqual(cases.map(([, b]) => b));
  });

  it('reads and writes BF16: the top half of a float32, rounded to nearest even', () => {
    const BF16 = [
      [0x3f80, 1],
      [0xc020, -2.5],
      [0x4049, 3.140625],
      [0x0001, 2 ** -133],
      [0x7f80, Number.POSITIVE_INFINITY],
    ] as const;
    const bytes = file(
      { b: { dtype: 'BF16', shape: [5], data_offsets: [0, 10] } },
      u16(BF16.map(([b]) => b)),
    );
    const data = readSafetensors(bytes).tensors.get('b')!.data;
    BF16.forEach(([b, v], j) => {
      expect(data[j]).toBe(v);
      expect(bf16BitsToNumber(b)).toBe(v);
      expect(numberToBF16Bits(v)).toBe(b);
    });
    expect(numberToBF16Bits(Math.fround(Math.PI))).toBe(0x4049);
    expect(numberToBF16Bits(1 + 2 ** -8)).toBe(0x3f80); // halfway: ties to even
    expect(numberToBF16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(numberToBF16Bits(Number.NaN) & 0x7fc0).toBe(0x7fc0);
  });

  it('refuses to turn a finite value into infinity when writing F16 or BF16', () => {
    const write = (dtype: 'F16' | 'BF16', v: number) => () =>
      writeSafetensors({ 'head.fc.weight': { shape: [2], data: [0, v] } }, undefined, { dtype });
    expect(write('F16', 65520)).toThrow(
      "writeSafetensors: argument 'head.fc.weight' has value 65520 at element 1, too large for F16 (it would become infinity) (head.fc.weight [2])",
    );
    expect(write('BF16', 3.4028234663852886e38)).toThrow(/too large for BF16/);
    expect(write('F16', Number.POSITIVE_INFINITY)).not.toThrow();
  });
});

describe('integer tensors', () => {
  it('reads I64 (BatchNorm num_batches_tracked), I32, U8 and BOOL as exact numbers', () => {
    const i64 = new Uint8Array(new BigInt64Array([123456789012n, -5n]).buffer);
    const i32 = new Uint8Array(new Int32Array([-7, 2 ** 31 - 1]).buffer);
    const bytes = file(
      {
        n: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
        i: { dtype: 'I32', shape: [2], data_offsets: [16, 24] },
        u: { dtype: 'U8', shape: [1], data_offsets: [24, 25] },
        b: { dtype: 'BOOL', shape: [2], data_offsets: [25, 27] },
      },
      [...i64, ...i32, 200, 0, 1],
    );
    const t = readSafetensors(bytes).tensors;
    expect(t.get('n')).toEqual({
      dtype: 'I64',
      shape: [2],
      data: new Float64Array([123456789012, -5]),
    });
    expect(t.get('i')?.data).toEqual(new Float64Array([-7, 2 ** 31 - 1]));
    expect(t.get('u')?.data).toEqual(new Float64Array([200]));
    expect(t.get('b')?.data).toEqual(new Float64Array([0, 1]));
  });

  it('reads F64 into float32', () => {
    const bytes = file(
      { d: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } },
      new Uint8Array(new Float64Array([0.1]).buffer),
    );
    expect(readSafetensors(bytes).tensors.get('d')).toEqual({
      dtype: 'F64',
      shape: [1],
      data: new Float32Array([0.1]),
    });
  });

  it('refuses an I64 beyond 2^53 and integers a dtype cannot hold', () => {
    const big = new Uint8Array(new BigInt64Array([2n ** 60n]).buffer);
    expect(refusal(file({ n: { dtype: 'I64', shape: [], data_offsets: [0, 8] } }, big))).toBe(
      "readSafetensors: argument 'n' holds I64 value 1152921504606846976 at element 0, beyond the 2^53 a number holds exactly (n [])",
    );
    expect(() => writeSafetensors({ c: { shape: [1], data: [300], dtype: 'U8' } })).toThrow(
      "writeSafetensors: argument 'c' has value 300 at element 0, which U8 cannot hold (c [1])",
    );
    expect(() => writeSafetensors({ c: { shape: [1], data: [0.5], dtype: 'I32' } })).toThrow(
      /which I32 cannot hold/,
    );
  });
});

describe('readSafetensors refusals', () => {
  const ok = { t: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

  it('too short to be safetensors', () => {
    expect(refusal(new Uint8Array(5))).toBe(
      "readSafetensors: argument 'bytes' is 5 bytes long, too short for a safetensors file (an 8-byte header length comes first)",
    );
  });

  it('an absurd header length (a PyTorch pickle, a zip, random bytes)', () => {
    expect(refusal(file(ok, new Uint8Array(8), 1_000_000))).toBe(
      "readSafetensors: argument 'header length' is 1000000 bytes, but 62 bytes follow it (and a header is 2 to 100000000 bytes): not a safetensors file",
    );
    expect(refusal(file(ok, new Uint8Array(8), 2 ** 40))).toMatch(/is 1099511627776 bytes/);
    // A zip archive (torch.save) is named as such rather than as an absurd header length.
    expect(refusal(Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 8, 0]))).toMatch(
      /^readSafetensors: argument 'bytes' starts with the zip signature PK\\x03\\x04: this is a PyTorch zip/,
    );
  });

  it('a header that is not UTF-8 JSON, or not an object', () => {
    expect(refusal(file('{"t": [1, 2', []))).toMatch(
      /^readSafetensors: argument 'header' \(11 bytes\) is not valid JSON \(.+\): not a safetensors file$/,
    );
    const bad = file('{"a":1}');
    bad[9] = 0xff;
    expect(refusal(bad)).toBe(
      "readSafetensors: argument 'header' (7 bytes) is not valid UTF-8: not a safetensors file",
    );
    expect(refusal(file('[1, 2]'))).toMatch(/argument 'header' must be a JSON object/);
  });

  it('a dtype outside the format', () => {
    expect(
      refusal(file({ t: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, [0, 0])),
    ).toBe(
      'readSafetensors: argument \'t\' has dtype "F8_E4M3", expected one of F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL',
    );
  });

  it('malformed shapes and offsets', () => {
    expect(refusal(file({ t: { dtype: 'F32', shape: [-1], data_offsets: [0, 0] } }))).toMatch(
      /argument 't' has shape \[-1\], expected non-negative integers/,
    );
    expect(refusal(file({ t: { dtype: 'F32', shape: [2] } }, new Uint8Array(8)))).toMatch(
      /argument 't' has data_offsets undefined, expected \[begin, end\] with 0 <= begin <= end/,
    );
    expect(
      refusal(file({ t: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, new Uint8Array(8))),
    ).toMatch(/has data_offsets \[8,0\], expected \[begin, end\]/);
  });

  it('a byte count that does not match shape x itemsize', () => {
    expect(
      refusal(
        file(
          { 'stem.conv.weight': { dtype: 'F16', shape: [2, 3], data_offsets: [0, 8] } },
          new Uint8Array(8),
        ),
      ),
    ).toBe(
      "readSafetensors: argument 'stem.conv.weight' has data_offsets [0, 8] holding 8 bytes, but shape [2, 3] of F16 needs 12 (stem.conv.weight [2, 3])",
    );
  });

  it('offsets beyond the data buffer', () => {
    expect(
      refusal(file({ t: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8))),
    ).toBe(
      "readSafetensors: argument 't' has data_offsets [0, 16] out of range: the data buffer holds 8 bytes (t [4])",
    );
  });

  it('overlapping tensors, holes and trailing bytes', () => {
    const two = (a: [number, number], b: [number, number], n: number) =>
      file(
        {
          a: { dtype: 'F32', shape: [(a[1] - a[0]) / 4], data_offsets: a },
          b: { dtype: 'F32', shape: [(b[1] - b[0]) / 4], data_offsets: b },
        },
        new Uint8Array(n),
      );
    expect(refusal(two([0, 8], [4, 12], 12))).toBe(
      "readSafetensors: argument 'b' has data_offsets [4, 12] overlapping 'a' at [0, 8]",
    );
    expect(refusal(two([0, 4], [8, 12], 12))).toBe(
      "readSafetensors: argument 'b' starts at byte 8, leaving a hole of 4 bytes after byte 4 of the data buffer",
    );
    expect(refusal(two([0, 4], [4, 8], 12))).toBe(
      "readSafetensors: argument 'bytes' has 4 bytes after the last tensor (the data buffer holds 12 bytes, tensors cover 8)",
    );
  });

  it('metadata that is not a string map', () => {
    expect(refusal(file({ __metadata__: { epoch: 3 } }))).toBe(
      "readSafetensors: argument '__metadata__.epoch' is 3, expected a string",
    );
  });

  it('names the source when given one', () => {
    expect(() => readSafetensors(new Uint8Array(3), { source: 'model.safetensors' })).toThrow(
      /^readSafetensors\(model\.safetensors\): argument 'bytes' is 3 bytes long/,
    );
  });
});

describe('writeSafetensors refusals', () => {
  it('names the tensor whose data does not fill its shape', () => {
    expect(() => writeSafetensors({ w: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(
      "writeSafetensors: argument 'w' has 3 elements, but its shape [2, 2] needs 4 (w [2, 2])",
    );
  });

  it('refuses reserved names, unknown dtypes and non-string metadata', () => {
    expect(() => writeSafetensors({ __metadata__: { shape: [], data: [1] } })).toThrow(
      /not a usable tensor name/,
    );
    expect(() => writeSafetensors({ w: { shape: [1], data: [1], dtype: 'F8' as 'F32' } })).toThrow(
      /has dtype "F8"/,
    );
    expect(() => writeSafetensors({}, { epoch: 3 as unknown as string })).toThrow(
      "writeSafetensors: argument 'metadata.epoch' is 3, expected a string",
    );
  });
});
