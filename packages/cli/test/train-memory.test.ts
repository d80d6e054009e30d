/**
 * `repnets train --img-size` is checked against the memory of the backend that
 * runs it. On wasm every tensor lives in a heap of at most 4 GiB, one per
 * worker, so a size that fits the machine can still end in 'memory access out
 * of bounds' after the first step started (measured: --img-size 600 --workers
 * 1 did, 6 s in): it is refused in one line naming the heap, with the largest
 * size that fits it. The flags keep a run that was not refused to one short
 * step, so a regression fails instead of training for long.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repnets } from './helpers/cli.js';
import { oneLine } from './helpers/files.js';

const dir = join(import.meta.dirname, '.tmp', 'train-memory');
const short = ['--backend', 'wasm', '--train-size', '64', '--test-size', '8', '--epochs', '1'];
const fits = /the largest --img-size that fits is (\d+)$/;

describe('train --img-size on wasm is compared with the wasm heap', () => {
  it('one worker: a size the machine holds but one heap does not is refused, naming the heap', async () => {
    const out = join(dir, 'one');
    const r = await repnets('train', ...short, '--workers', '1', '--img-size', '600', '--out', out);
    expect(r.code, r.err).toBe(2);
    expect(r.out).not.toMatch(/backend:/);
    const line = oneLine(r.err, 2);
    expect(line).toMatch(
      /^repnets: train: --img-size 600 with --batch-size 64 needs about [\d.]+ GB to train repvgg_compact on wasm, more than the 4\.29 GB wasm heap \(4 GiB, a 32-bit wasm memory's maximum\); the largest --img-size that fits is \d+$/,
    );
    expect(Number(fits.exec(line)?.[1])).toBeLessThan(600);
    expect(existsSync(out)).toBe(false);
  });

  it('two workers: each heap holds its shard, so the size offered is larger', async () => {
    const one = await repnets(
      'train',
      ...short,
      '--workers',
      '1',
      '--img-size',
      '900',
      '--out',
      join(dir, 'w1'),
    );
    const two = await repnets(
      'train',
      ...short,
      '--workers',
      '2',
      '--img-size',
      '900',
      '--out',
      join(dir, 'w2'),
    );
    expect([one.code, two.code], `${one.err}\n${two.err}`).toEqual([2, 2]);
    const line = oneLine(two.err, 2);
    expect(line).toMatch(
      /^repnets: train: --img-size 900 with --batch-size 64 needs about [\d.]+ GB per worker to train repvgg_compact on wasm \(2 workers, up to 32 images each\), more than the 4\.29 GB wasm heap \(4 GiB, a 32-bit wasm memory's maximum\) each worker has; the largest --img-size that fits is \d+$/,
    );
    const largestTwo = Number(fits.exec(line)?.[1]);
    const largestOne = Number(fits.exec(oneLine(one.err, 2))?.[1]);
    expect(largestTwo).toBeGreaterThan(largestOne);
  });
});
