import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from '../src/index.js';

const dir = join(import.meta.dirname, '.tmp', 'checkpoint');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample = (): Checkpoint => ({
  format: 1,
  epoch: 3,
  step: 120,
  seed: 7,
  run: { history: [{ epoch: 1 }], optimizer: { type: 'sgd', lr: 0.1 } },
  weights: [
    { name: '0:a', shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    { name: '1:b', shape: [1], values: Float32Array.from([-0.5]) },
  ],
  optimizer: {
    step: 120,
    slots: [
      { name: '0:a/momentum', shape: [2, 3], values: Float32Array.from([0.1, 0, 0, 0, 0, 0.2]) },
    ],
  },
});

describe('checkpoint files', () => {
  it('round-trip every field and tensor exactly, leaving no temporary file', async () => {
    const path = join(dir, 'a.ckpt');
    await saveCheckpoint(path, sample());
    const back = await loadCheckpoint(path);
    expect(back.epoch).toBe(3);
    expect(back.step).toBe(120);
    expect(back.seed).toBe(7);
    expect(back.run).toEqual(sample().run);
    expect(back.weights.map((w) => [w.name, w.shape, Array.from(w.values)])).toEqual(
      sample().weights.map((w) => [w.name, w.shape, Array.from(w.values)]),
    );
    expect(back.optimizer.step).toBe(120);
    expect(Array.from(back.optimizer.slots[0]!.values)).toEqual(
      Array.from(sample().optimizer.slots[0]!.values),
    );
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('overwrites atomically: the old checkpoint stays readable until the new one is complete', async () => {
    const path = join(dir, 'b.ckpt');
    await saveCheckpoint(path, sample());
    const next = { ...sample(), epoch: 4 };
    await saveCheckpoint(path, next);
    expect((await loadCheckpoint(path)).epoch).toBe(4);
    // A value that cannot be written (wrong length) fails before the rename.
    const broken = {
      ...sample(),
      weights: [{ name: 'x', shape: [3], values: new Float32Array(2) }],
    };
    await expect(saveCheckpoint(path, broken)).rejects.toThrow(/'x' has 2 values for shape \[3\]/);
    expect((await loadCheckpoint(path)).epoch).toBe(4);
  });

  it('refuses truncated, corrupted and foreign files, naming the file and the problem', async () => {
    const path = join(dir, 'c.ckpt');
    await saveCheckpoint(path, sample());
    const bytes = readFileSync(path);
    writeFileSync(join(dir, 'trunc.ckpt'), bytes.subarray(0, bytes.length - 4));
    await expect(loadCheckpoint(join(dir, 'trunc.ckpt'))).rejects.toThrow(/trunc\.ckpt.*truncated/);
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 1]! ^= 0x40;
    writeFileSync(join(dir, 'flip.ckpt'), flipped);
    await expect(loadCheckpoint(join(dir, 'flip.ckpt'))).rejects.toThrow(/flip\.ckpt.*SHA-256/);
    writeFileSync(join(dir, 'foreign.ckpt'), 'hello world, not a checkpoint');
    await expect(loadCheckpoint(join(dir, 'foreign.ckpt'))).rejects.toThrow(/foreign\.ckpt.*magic/);
    await expect(loadCheckpoint(join(dir, 'missing.ckpt'))).rejects.toThrow(
      /missing\.ckpt.*cannot read/,
    );
  });
});

const MAGIC = Buffer.from('RNCKPT01', 'ascii');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The bytes of a checkpoint file with this header text and tensor data. */
function assemble(headerText: string, body: Buffer): Buffer {
  const json = Buffer.from(headerText, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  const pad = (4 - ((MAGIC.length + 4 + json.length) % 4)) % 4;
  return Buffer.concat([MAGIC, len, json, Buffer.alloc(pad), body]);
}

/** A format-1 file, as the previous writer made them: the SHA-256 covers the tensor bytes only. */
const format1 = (header: unknown, body: Buffer) =>
  assemble(
    JSON.stringify(
      header && typeof header === 'object' && !Array.isArray(header)
        ? { ...header, sha256: sha(body) }
        : header,
    ),
    body,
  );

/** Header and tensor bytes of a file this version wrote. */
function parts(file: Buffer): { header: Record<string, unknown>; body: Buffer } {
  const n = file.readUInt32LE(8);
  const header = JSON.parse(file.toString('utf8', 12, 12 + n));
  const bytes = (header.tensors as { shape: number[] }[]).reduce(
    (s, t) => s + 4 * t.shape.reduce((p, d) => p * d, 1),
    0,
  );
  return { header, body: file.subarray(file.length - bytes) };
}

describe('checkpoint headers', () => {
  it('validate every header field, naming the file and the field', async () => {
    const path = join(dir, 'h.ckpt');
    await saveCheckpoint(path, sample());
    const { header, body } = parts(readFileSync(path));
    const { sha256: _, ...fields } = header;
    const tensors = header.tensors as Record<string, unknown>[];
    const cases: [unknown, RegExp][] = [
      [null, /header must be a JSON object, got null/],
      [[1, 2], /header must be a JSON object, got \[1,2\]/],
      [{ format: 1 }, /header field 'epoch' is missing/],
      [{ ...fields, format: '1' }, /header field 'format' must be a positive integer, got "1"/],
      [{ ...fields, format: 9 }, /format 9 is newer than this version reads \(1 to 2\)/],
      [
        { ...fields, epoch: 'two' },
        /header field 'epoch' must be a non-negative integer, got "two"/,
      ],
      [{ ...fields, epoch: -5 }, /header field 'epoch' must be a non-negative integer, got -5/],
      [{ ...fields, epoch: 1.5 }, /header field 'epoch' must be a non-negative integer, got 1.5/],
      [{ ...fields, step: null }, /header field 'step' must be a non-negative integer, got null/],
      [{ ...fields, seed: 'x' }, /header field 'seed' must be a finite number, got "x"/],
      [{ ...fields, run: [] }, /header field 'run' must be a JSON object, got \[\]/],
      [{ ...fields, optimizerStep: undefined }, /header field 'optimizerStep' is missing/],
      [{ ...fields, tensors: {} }, /header field 'tensors' must be an array, got \{\}/],
      [
        { ...fields, tensors: [tensors[0], { ...tensors[1], section: 'bias' }, tensors[2]] },
        /header field 'tensors\[1\]\.section' must be one of "weights", "optimizer", got "bias"/,
      ],
      [
        { ...fields, tensors: [{ ...tensors[0], name: 7 }, tensors[1], tensors[2]] },
        /header field 'tensors\[0\]\.name' must be a non-empty string, got 7/,
      ],
      [
        { ...fields, tensors: [{ ...tensors[0], shape: [3, -2] }, tensors[1], tensors[2]] },
        /header field 'tensors\[0\]\.shape\[1\]' must be a non-negative integer, got -2/,
      ],
      [
        { ...fields, tensors: [tensors[0], { ...tensors[1], name: '0:a' }, tensors[2]] },
        /header field 'tensors\[1\]\.name' repeats the weights tensor '0:a'/,
      ],
      [
        { ...fields, tensors: [{ ...tensors[0], shape: [2, 4] }, tensors[1], tensors[2]] },
        /tensor data is 52 bytes, the header lists 60 \(file truncated\?\)/,
      ],
    ];
    for (const [i, [h, message]] of cases.entries()) {
      const file = join(dir, `field-${i}.ckpt`);
      writeFileSync(file, format1(h, body));
      const err = await loadCheckpoint(file).then(
        () => new Error('loaded'),
        (e: Error) => e,
      );
      // soft: every case is reported, not only the first that fails
      expect.soft(err.message, JSON.stringify(h)).toMatch(message);
      expect.soft(err.message).toContain(`checkpoint '${file}': `);
    }
  });

  it('refuse trailing bytes as such, not as a truncation', async () => {
    const path = join(dir, 't.ckpt');
    await saveCheckpoint(path, sample());
    const longer = join(dir, 'longer.ckpt');
    writeFileSync(longer, Buffer.concat([readFileSync(path), Buffer.alloc(8)]));
    const err = await loadCheckpoint(longer).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /longer\.ckpt': 8 bytes after the last tensor \(the header lists 52 bytes of tensor data\)/,
    );
    expect((err as Error).message).not.toMatch(/truncated/);
  });

  it('cover the header by the SHA-256: an edited epoch or digest is refused', async () => {
    const path = join(dir, 's.ckpt');
    await saveCheckpoint(path, sample());
    const bytes = readFileSync(path);
    const text = bytes.toString('latin1');
    expect(text).toContain('"epoch":3,');
    const edited = join(dir, 'edited.ckpt');
    writeFileSync(edited, Buffer.from(text.replace('"epoch":3,', '"epoch":4,'), 'latin1'));
    await expect(loadCheckpoint(edited)).rejects.toThrow(/edited\.ckpt.*SHA-256/);
    const { header } = parts(bytes);
    const digest = header.sha256 as string;
    const other = digest.replace(/^./, digest[0] === 'a' ? 'b' : 'a');
    writeFileSync(edited, Buffer.from(text.replace(digest, other), 'latin1'));
    await expect(loadCheckpoint(edited)).rejects.toThrow(/edited\.ckpt.*SHA-256/);
  });

  it('still read format-1 files (SHA-256 of the tensor bytes), fields checked the same way', async () => {
    const path = join(dir, 'new.ckpt');
    await saveCheckpoint(path, sample());
    const { header, body } = parts(readFileSync(path));
    const old = join(dir, 'old.ckpt');
    writeFileSync(old, format1({ ...header, format: 1 }, body));
    const back = await loadCheckpoint(old);
    expect(back.format).toBe(1);
    expect([back.epoch, back.step, back.seed]).toEqual([3, 120, 7]);
    expect(Array.from(back.weights[0]!.values)).toEqual([1, 2, 3, 4, 5, 6]);
    const flipped = format1({ ...header, format: 1 }, body);
    flipped[flipped.length - 1]! ^= 0x40;
    writeFileSync(old, flipped);
    await expect(loadCheckpoint(old)).rejects.toThrow(/old\.ckpt.*SHA-256/);
  });
});

/** A pid no process can have (above Linux's largest pid_max), checked dead. */
function deadPid(): number {
  for (let pid = 2 ** 22 + 4321; ; pid++) {
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') return pid;
    }
  }
}

describe('temporary files of killed writes', () => {
  it('are removed on the next save into the directory, those of live processes kept', async () => {
    const d = join(dir, 'stale');
    mkdirSync(d, { recursive: true });
    const dead = deadPid();
    const partial = readFileSync(join(dir, 'a.ckpt')).subarray(0, 100);
    const files = {
      stale: `.last.ckpt.${dead}.tmp`,
      staleEmpty: `.epoch-002.ckpt.${dead}.tmp`,
      live: `.last.ckpt.${process.ppid}.tmp`, // the parent process: alive
      own: `.epoch-001.ckpt.${process.pid}.tmp`,
      foreign: `.notes.${dead}.tmp`, // not a checkpoint's bytes: not ours to remove
      other: 'notes.txt',
    };
    writeFileSync(join(d, files.stale), partial);
    writeFileSync(join(d, files.staleEmpty), '');
    writeFileSync(join(d, files.live), partial);
    writeFileSync(join(d, files.own), partial);
    writeFileSync(join(d, files.foreign), 'hello');
    writeFileSync(join(d, files.other), 'hello');
    await saveCheckpoint(join(d, 'last.ckpt'), sample());
    expect(existsSync(join(d, files.stale))).toBe(false);
    expect(existsSync(join(d, files.staleEmpty))).toBe(false);
    for (const kept of [files.live, files.own, files.foreign, files.other, 'last.ckpt'])
      expect(existsSync(join(d, kept)), kept).toBe(true);
    expect((await loadCheckpoint(join(d, 'last.ckpt'))).epoch).toBe(3);
  });
});
