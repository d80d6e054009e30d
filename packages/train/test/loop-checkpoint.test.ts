import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
