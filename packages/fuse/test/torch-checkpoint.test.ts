/**
 * The .pth reader against files PyTorch 1.13 wrote (test/fixtures/make-pth.py,
 * values in expected.json as torch.load read them), and against archives and
 * pickles crafted here to be wrong in one way each.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  FuseError,
  fuseStateDict,
  parseStateDict,
  readTorchCheckpoint,
  type StateDict,
  writeSafetensors,
} from '../src/index.js';
import { readTorchFile } from '../src/io/node.js';
import { PickleWriter, storedZip, torchZip } from './helpers/stored-zip.js';

const dir = fileURLToPath(new URL('./fixtures/pth/', import.meta.url));
const fixture = (name: string) => new Uint8Array(readFileSync(join(dir, name)));
const read = (name: string) => readTorchCheckpoint(fixture(name), { source: name });

interface Expected {
  readonly dtype: string;
  readonly shape: number[];
  readonly data: number[];
}
const expected: Record<string, Record<string, Expected>> = JSON.parse(
  readFileSync(join(dir, 'expected.json'), 'utf8'),
);

function asJson(sd: StateDict) {
  return Object.fromEntries(
    [...sd].map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: Array.from(t.data) }]),
  );
}

/** The error `f` throws; fails when it throws none or something other than a FuseError. */
function errorOf(f: () => unknown): FuseError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FuseError);
    return e as FuseError;
  }
  throw new Error('expected a FuseError, nothing was thrown');
}

describe('readTorchCheckpoint: files torch.save wrote', () => {
  it.each(['plain.pth', 'wrapped.pth', 'conv-bn.pth', 'zip64.pth'])(
    '%s: every tensor exactly as torch.load reads it, in order',
    (name) => {
      const sd = read(name);
      const want = expected[name];
      expect(want).toBeDefined();
      expect([...sd.keys()]).toEqual(Object.keys(want ?? {}));
      expect(asJson(sd)).toEqual(want);
    },
  );

  it('views (transpose, slice with a storage offset, a row) come out contiguous, row-major', () => {
    const sd = read('plain.pth');
    const base = Array.from(sd.get('base')?.data ?? []);
    const at = (r: number, c: number) => base[r * 4 + c];
    expect(Array.from(sd.get('transposed')?.data ?? [])).toEqual(
      [0, 1, 2, 3].flatMap((c) => [0, 1, 2].map((r) => at(r, c))),
    );
    expect(Array.from(sd.get('sliced')?.data ?? [])).toEqual(
      [1, 2].flatMap((r) => [1, 2, 3].map((c) => at(r, c))),
    );
    expect(Array.from(sd.get('row')?.data ?? [])).toEqual(base.slice(8, 12));
  });

  it('floats come back as Float32Array (F16, BF16 and F64 converted), integers as exact Float64Array', () => {
    const sd = read('plain.pth');
    for (const key of ['base', 'half', 'bf16', 'double', 'scalar', 'param', 'empty']) {
      expect(sd.get(key)?.data, key).toBeInstanceOf(Float32Array);
    }
    const counter = sd.get('bn.num_batches_tracked');
    expect(counter?.dtype).toBe('I64');
    expect(counter?.data).toBeInstanceOf(Float64Array);
    expect(counter?.shape).toEqual([]);
    expect(Array.from(counter?.data ?? [])).toEqual([7]);
    expect(sd.get('empty')?.shape).toEqual([0, 3]);
  });

  it('a tensor read does not alias the file bytes', () => {
    const bytes = fixture('plain.pth');
    const sd = readTorchCheckpoint(bytes);
    expect(sd.get('base')?.data.buffer).not.toBe(bytes.buffer);
  });

  it('reads what readSafetensors reads: a state dict writeSafetensors takes', () => {
    const sd = read('conv-bn.pth');
    expect(() => writeSafetensors(sd)).not.toThrow();
  });

  it('the zip64 fixture really is zip64 (saturated end record and entry sizes)', () => {
    const bytes = fixture('zip64.pth');
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const end = bytes.length - 22;
    expect(view.getUint32(end, true)).toBe(0x06054b50);
    expect(view.getUint16(end + 10, true)).toBe(0xffff);
    expect(view.getUint32(end + 16, true)).toBe(0xffffffff);
    const firstCentral = bytes.findIndex(
      (b, j) => b === 0x50 && view.getUint32(j, true) === 0x02014b50,
    );
    expect(view.getUint32(firstCentral + 24, true)).toBe(0xffffffff);
  });
});

describe('readTorchCheckpoint: wrappers and prefixes', () => {
  it("takes 'state_dict' from { state_dict, epoch, args }, ignores the rest, strips 'module.'", () => {
    const sd = read('wrapped.pth');
    expect([...sd.keys()]).toEqual(['conv.weight', 'bn.running_var', 'head.bias']);
  });

  it('`key` picks the entry; a missing or non-dict entry is named', () => {
    expect([...readTorchCheckpoint(fixture('wrapped.pth'), { key: 'state_dict' }).keys()]).toEqual([
      'conv.weight',
      'bn.running_var',
      'head.bias',
    ]);
    expect(errorOf(() => readTorchCheckpoint(fixture('wrapped.pth'), { key: 'ema' })).message).toBe(
      "readTorchCheckpoint: argument 'key' 'ema' is not a top-level entry; the file has 'state_dict', 'epoch', 'args'",
    );
    expect(
      errorOf(() => readTorchCheckpoint(fixture('wrapped.pth'), { key: 'epoch' })).message,
    ).toBe("readTorchCheckpoint: argument 'key' 'epoch' holds the value 3, not a dict of tensors");
  });

  it.each(['model', 'model_state_dict', 'module'])('unwraps { %s: state dict }', (wrapper) => {
    const p = new PickleWriter().op(0x7d).str('epoch').int(3).op(0x73).str(wrapper).op(0x7d);
    p.str('module.w').tensor('0', 2, 0, [2], [1]).op(0x73, 0x73);
    const sd = readTorchCheckpoint(torchZip(p.bytes(), { 0: [1.5, -2] }));
    expect(asJson(sd)).toEqual({ w: { dtype: 'F32', shape: [2], data: [1.5, -2] } });
  });

  it('reads a tensor pickled through _rebuild_from_type_v2 (a tensor with Python attributes)', () => {
    const p = new PickleWriter().op(0x7d).str('w');
    p.global('torch._tensor', '_rebuild_from_type_v2').op(0x28);
    p.global('torch._utils', '_rebuild_tensor_v2').global('torch.nn.parameter', 'Parameter');
    p.op(0x28).op(0x28).str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(2);
    p.op(0x74, 0x51).int(0).int(2).op(0x85).int(1).op(0x85, 0x89, 0x7d, 0x74); // (pid, 0, (2,), (1,), False, {})
    p.op(0x7d, 0x74, 0x52, 0x73); // state {}, TUPLE, REDUCE, SETITEM
    const sd = readTorchCheckpoint(torchZip(p.bytes(), { 0: [0.5, 2] }));
    expect(asJson(sd)).toEqual({ w: { dtype: 'F32', shape: [2], data: [0.5, 2] } });
  });

  it('a key with and without the module. prefix is refused, naming both', () => {
    const p = new PickleWriter().op(0x7d).str('w').tensor('0', 1, 0, [1], [1]).op(0x73);
    p.str('module.w').tensor('0', 1, 0, [1], [1]).op(0x73);
    expect(errorOf(() => readTorchCheckpoint(torchZip(p.bytes(), { 0: [1] }))).message).toBe(
      "readTorchCheckpoint: argument 'module.w' and 'w' are both in the state dict; with 'module.' stripped they are one key, so which is meant is unknown",
    );
  });

  it('a non-tensor where a tensor must be is named by its key', () => {
    const p = new PickleWriter().op(0x7d).str('w').tensor('0', 1, 0, [1], [1]).op(0x73);
    p.str('bn.momentum').op(0x47, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 0x73); // 0.1
    expect(errorOf(() => readTorchCheckpoint(torchZip(p.bytes(), { 0: [1] }))).message).toBe(
      "readTorchCheckpoint: argument 'bn.momentum' is the value 0.1 where a tensor must be",
    );
  });
});

describe('readTorchCheckpoint: nothing in the file is run', () => {
  it('refuses a pickled os.system call by name, and nothing was executed', () => {
    const marker = '/tmp/repnets-pth-fixture-was-executed';
    const e = errorOf(() => read('evil.pth'));
    expect(e.message).toBe(
      "readTorchCheckpoint(evil.pth): argument 'evil/data.pkl' refuses global 'posix.system': only tensor rebuilds, storages, OrderedDict and plain containers are read, as torch.load(weights_only=True) reads them; nothing in the file was run (at byte 13)",
    );
    expect(existsSync(marker)).toBe(false);
  });

  it.each([
    ['builtins', 'eval'],
    ['torch', 'load'],
    ['torch.nn.modules.conv', 'Conv2d'],
    ['__main__', 'Net'],
  ])('refuses %s.%s named by GLOBAL or STACK_GLOBAL', (module, name) => {
    const viaGlobal = new PickleWriter().global(module, name).op(0x29, 0x52).bytes();
    const viaStack = new PickleWriter().str(module).str(name).op(0x93, 0x29, 0x52).bytes();
    for (const pickle of [viaGlobal, viaStack]) {
      expect(errorOf(() => readTorchCheckpoint(torchZip(pickle))).message).toContain(
        `refuses global '${module}.${name}'`,
      );
    }
  });

  it('refuses a call of something that is not an allowed global', () => {
    const p = new PickleWriter().str('posix').op(0x29, 0x52).bytes();
    expect(errorOf(() => readTorchCheckpoint(torchZip(p))).message).toContain(
      'calls something that is not an allowed global with REDUCE',
    );
  });
});

describe('readTorchCheckpoint: refusals name the file, entry and problem', () => {
  it('a legacy (pre-zip) checkpoint gets one line with the resave advice', () => {
    const e = errorOf(() => read('legacy.pth'));
    expect(e.message).not.toContain('\n');
    expect(e.message).toContain('readTorchCheckpoint(legacy.pth)');
    expect(e.message).toContain('torch.save(obj, path, _use_new_zipfile_serialization=True)');
  });

  it('an unknown opcode is named with its byte', () => {
    expect(errorOf(() => read('bad-opcode.pth')).message).toBe(
      "readTorchCheckpoint(bad-opcode.pth): argument 'bad/data.pkl' has opcode 0xff, which a checkpoint written by torch.save does not use: the file is corrupt or not a PyTorch checkpoint (at byte 5)",
    );
  });

  it('a compressed entry is refused, naming the entry and the method', () => {
    expect(errorOf(() => read('deflated.pth')).message).toContain(
      "readTorchCheckpoint(deflated.pth): argument 'plain/data.pkl' is compressed (deflate); torch.save stores entries uncompressed",
    );
  });

  it('a big-endian checkpoint is refused with what to do', () => {
    expect(errorOf(() => read('big-endian.pth')).message).toContain(
      "argument 'plain/byteorder' says the storages are big-endian ('big')",
    );
  });

  it('every truncation of a checkpoint is a FuseError naming the file', () => {
    const bytes = fixture('plain.pth');
    for (let n = 0; n < bytes.length; n += 37) {
      const e = errorOf(() => readTorchCheckpoint(bytes.subarray(0, n), { source: 'plain.pth' }));
      expect(e.message).toMatch(/^readTorchCheckpoint\(plain\.pth\): argument '/);
    }
    expect(errorOf(() => readTorchCheckpoint(bytes.subarray(0, 1500))).message).toMatch(
      /has no zip end-of-central-directory record: the zip is truncated or corrupt$/,
    );
  });

  it('a corrupt pickle fails its CRC check, by entry', () => {
    const bytes = fixture('plain.pth').slice();
    const at = bytes.indexOf(0x80, 30); // the pickle's PROTO, right after the first local header
    bytes[at + 1] = 0x03;
    expect(errorOf(() => readTorchCheckpoint(bytes)).message).toBe(
      "readTorchCheckpoint: argument 'plain/data.pkl' fails its CRC-32 check: the file is corrupt",
    );
  });

  it('a truncated pickle, a storage of the wrong size and a view past its storage are named', () => {
    const whole = new PickleWriter().op(0x7d).str('w').tensor('0', 4, 1, [2, 2], [1, 2]).op(0x73);
    const cut = whole.bytes().subarray(0, 40);
    expect(errorOf(() => readTorchCheckpoint(torchZip(cut, { 0: [1, 2, 3, 4] }))).message).toMatch(
      /^readTorchCheckpoint: argument 'archive\/data\.pkl' ends .*: the pickle is truncated \(at byte \d+\)$/,
    );
    expect(
      errorOf(() => readTorchCheckpoint(torchZip(whole.bytes(), { 0: [1, 2, 3] }))).message,
    ).toMatch(
      /argument 'archive\/data\/0' holds 12 bytes, but 4 elements of torch\.FloatStorage need 16: the file is corrupt$/,
    );
    expect(
      errorOf(() => readTorchCheckpoint(torchZip(whole.bytes(), { 0: [1, 2, 3, 4] }))).message,
    ).toBe(
      "readTorchCheckpoint: argument 'w' reads elements 1 to 4 of storage '0', which holds 4: the file is corrupt (w [2, 2])",
    );
    const within = new PickleWriter().op(0x7d).str('w').tensor('0', 5, 1, [2, 2], [1, 2]).op(0x73);
    const sd = readTorchCheckpoint(torchZip(within.bytes(), { 0: [0, 1, 2, 3, 4] }));
    expect(Array.from(sd.get('w')?.data ?? [])).toEqual([1, 3, 2, 4]);
  });

  it('a storage missing from the archive is named', () => {
    const p = new PickleWriter().op(0x7d).str('w').tensor('7', 1, 0, [1], [1]).op(0x73);
    expect(errorOf(() => readTorchCheckpoint(torchZip(p.bytes()))).message).toContain(
      "refers to storage '7', but the archive has no archive/data/7",
    );
  });

  it('bytes of other formats are named as what they are', () => {
    expect(errorOf(() => readTorchCheckpoint(writeSafetensors({}))).message).toContain(
      'looks like a safetensors file',
    );
    expect(errorOf(() => readTorchCheckpoint(new Uint8Array([1, 2, 3]))).message).toBe(
      "readTorchCheckpoint: argument 'bytes' (3 bytes, starting 0x01 0x02 0x03) is not a torch.save zip archive, which starts with PK\\x03\\x04",
    );
    const noPickle = storedZip([['a/readme.txt', new Uint8Array([104, 105])]]);
    expect(errorOf(() => readTorchCheckpoint(noPickle)).message).toBe(
      "readTorchCheckpoint: argument 'bytes' is a zip of 1 entries without <folder>/data.pkl: not a torch.save archive",
    );
    const top = torchZip(new PickleWriter().op(0x5d).bytes());
    expect(errorOf(() => readTorchCheckpoint(top)).message).toBe(
      "readTorchCheckpoint: argument 'archive/data.pkl' holds a list of 0, not a dict of tensors (a state dict)",
    );
  });
});

describe('a .pth checkpoint into the fold', () => {
  it('the conv+BN fixture parses as an official RepVGG train form and fuses', () => {
    const sd = read('conv-bn.pth');
    const parsed = parseStateDict(sd);
    expect(parsed.layout).toBe('official-repvgg');
    expect(parsed.blocks.map((b) => b.name)).toEqual([
      'stage0',
      'stage1.0',
      'stage1.1',
      'stage2.0',
      'stage3.0',
      'stage4.0',
    ]);
    const { folded, stateDict } = fuseStateDict(sd);
    expect(folded.map((b) => `${b.inChannels}->${b.outChannels}/s${b.stride}`)).toEqual([
      '3->4/s2',
      '4->4/s2',
      '4->4/s1',
      '4->4/s2',
      '4->8/s2',
      '8->8/s2',
    ]);
    expect(stateDict.get('linear.weight')?.shape).toEqual([10, 8]);
  });
});

describe('platform', () => {
  it('the reader imports nothing of Node (it runs in a browser bundle)', () => {
    for (const file of ['torch-checkpoint.ts', 'pickle.ts', 'zip-stored.ts']) {
      const source = readFileSync(
        fileURLToPath(new URL(`../src/io/${file}`, import.meta.url)),
        'utf8',
      );
      expect(source, file).not.toMatch(/from '(node:|fs|path|buffer)/);
    }
  });
});

describe('readTorchFile (node)', () => {
  it('reads a file; errors name the path', async () => {
    const sd = await readTorchFile(join(dir, 'wrapped.pth'));
    expect([...sd.keys()]).toEqual(['conv.weight', 'bn.running_var', 'head.bias']);
    await expect(readTorchFile(join(dir, 'legacy.pth'))).rejects.toThrow(
      `readTorchCheckpoint(${join(dir, 'legacy.pth')}): argument 'bytes' is a legacy PyTorch checkpoint`,
    );
    const tmp = mkdtempSync(join(tmpdir(), 'pth-'));
    try {
      await expect(readTorchFile(join(tmp, 'none.pth'))).rejects.toThrow(
        /^readTorchFile: argument 'path' '.*none\.pth' cannot be read: ENOENT/,
      );
      await expect(readTorchFile(tmp)).rejects.toThrow(/^readTorchFile: argument 'path' .*folder/);
    } finally {
      rmSync(tmp, { recursive: true });
    }
  });
});
