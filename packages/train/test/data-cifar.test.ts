import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cifar10Dataset, cifar100Dataset } from '../src/index.js';

const tmpRoot = join(import.meta.dirname, '.tmp');
mkdirSync(tmpRoot, { recursive: true });
const tmp = mkdtempSync(join(tmpRoot, 'cifar-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PLANE = 1024;
const CIFAR10_NAMES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
];

/** A record as the official files hold it: label byte(s), then R, G, B planes of 32x32 row-major. */
function record(labels: number[], pixels: { y: number; x: number; c: number; v: number }[]) {
  const r = new Uint8Array(labels.length + 3 * PLANE);
  r.set(labels);
  // A background that differs per plane, so a wrong plane or stride shows up.
  for (let c = 0; c < 3; c++)
    r.fill(10 + c, labels.length + c * PLANE, labels.length + (c + 1) * PLANE);
  for (const { y, x, c, v } of pixels) r[labels.length + c * PLANE + y * 32 + x] = v;
  return r;
}

function concat(records: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(records.reduce((a, r) => a + r.length, 0));
  let at = 0;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

function writeCifar10(dir: string, opts: { skip?: string; testBin?: Uint8Array } = {}) {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, Uint8Array | string> = {
    'batches.meta.txt': `${CIFAR10_NAMES.join('\n')}\n\n`,
    'test_batch.bin': opts.testBin ?? concat([record([9], [{ y: 31, x: 31, c: 2, v: 255 }])]),
  };
  for (let k = 1; k <= 5; k++) {
    files[`data_batch_${k}.bin`] = concat([
      record([k], [{ y: 3, x: 5, c: 1, v: 200 + k }]),
      record([k - 1], []),
    ]);
  }
  for (const [name, content] of Object.entries(files)) {
    if (name !== opts.skip) writeFileSync(join(dir, name), content);
  }
}

describe('cifar10Dataset', () => {
  it('reads the five training batches and the test batch, converting CHW to HWC', async () => {
    const dir = join(tmp, 'c10');
    writeCifar10(join(dir, 'cifar-10-batches-bin'));
    for (const root of [dir, join(dir, 'cifar-10-batches-bin')]) {
      const { train, test } = await cifar10Dataset(root);
      expect([train.size, test.size]).toEqual([10, 1]);
      expect([train.name, test.name]).toEqual(['cifar10/train', 'cifar10/test']);
      expect(train.shape).toEqual([32, 32, 3]);
      expect(train.classNames).toEqual(CIFAR10_NAMES);
      expect([...train.labels]).toEqual([1, 0, 2, 1, 3, 2, 4, 3, 5, 4]);
      // data_batch_3's first record: G (c = 1) at (y 3, x 5) is 203.
      const { image, label } = train.get(4);
      expect(label).toBe(3);
      expect(image.data[(3 * 32 + 5) * 3 + 1]).toBeCloseTo(203 / 255, 6);
      expect(image.data[(3 * 32 + 5) * 3 + 0]).toBeCloseTo(10 / 255, 6);
      expect(image.data[(5 * 32 + 3) * 3 + 1]).toBeCloseTo(11 / 255, 6);
      expect(image.data[(0 * 32 + 0) * 3 + 2]).toBeCloseTo(12 / 255, 6);
      const last = test.get(0);
      expect(last.label).toBe(9);
      expect(last.image.data[(31 * 32 + 31) * 3 + 2]).toBe(1);
      expect(() => test.get(1)).toThrow(/cifar10\/test: index 1 is out of range/);
    }
  });

  it('says where the files were expected, the layout, and where they come from', async () => {
    const missing = join(tmp, 'nowhere');
    const err = await cifar10Dataset(missing).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toContain(`directory ${missing} does not exist`);
    expect(msg).toContain(join(missing, 'cifar-10-batches-bin', 'data_batch_1.bin'));
    expect(msg).toContain('data_batch_5.bin, test_batch.bin, batches.meta.txt');
    expect(msg).toContain('cifar-10-binary.tar.gz');
    expect(msg).toContain('University of Toronto');
    expect(msg).not.toMatch(/https?:|www\.|\.edu/);

    const dir = join(tmp, 'c10-no-test');
    writeCifar10(dir, { skip: 'test_batch.bin' });
    await expect(cifar10Dataset(dir)).rejects.toThrow(
      `CIFAR-10: missing ${join(dir, 'test_batch.bin')}`,
    );
    const noMeta = join(tmp, 'c10-no-meta');
    writeCifar10(noMeta, { skip: 'batches.meta.txt' });
    await expect(cifar10Dataset(noMeta)).rejects.toThrow(/missing .*batches\.meta\.txt/);
  });

  it('names the file and record of a truncated file or an out-of-range label', async () => {
    const truncated = join(tmp, 'c10-trunc');
    const good = concat([record([1], []), record([2], [])]);
    writeCifar10(truncated, { testBin: good.subarray(0, good.length - 7) });
    await expect(cifar10Dataset(truncated)).rejects.toThrow(
      new RegExp(
        `${join(truncated, 'test_batch.bin')} is truncated.*6139 bytes.*3073-byte.*record 1 is incomplete`,
      ),
    );
    const badLabel = join(tmp, 'c10-label');
    writeCifar10(badLabel, {
      testBin: concat([record([1], []), record([1], []), record([10], [])]),
    });
    await expect(cifar10Dataset(badLabel)).rejects.toThrow(
      new RegExp(
        `${join(badLabel, 'test_batch.bin')} is corrupt: record 2 .*label 10, outside 0..9`,
      ),
    );
  });
});

describe('cifar100Dataset', () => {
  const dir = join(tmp, 'c100');
  const bin = join(dir, 'cifar-100-binary');
  mkdirSync(bin, { recursive: true });
  const fine = Array.from({ length: 100 }, (_, i) => `fine${i}`);
  const coarse = Array.from({ length: 20 }, (_, i) => `coarse${i}`);
  writeFileSync(join(bin, 'fine_label_names.txt'), fine.join('\n'));
  writeFileSync(join(bin, 'coarse_label_names.txt'), coarse.join('\r\n'));
  writeFileSync(
    join(bin, 'train.bin'),
    concat([record([3, 42], [{ y: 0, x: 31, c: 0, v: 77 }]), record([19, 99], [])]),
  );
  writeFileSync(join(bin, 'test.bin'), concat([record([0, 5], [])]));

  it('reads fine labels by default and coarse ones on request', async () => {
    const f = await cifar100Dataset(dir);
    expect(f.train.classNames).toEqual(fine);
    expect([...f.train.labels]).toEqual([42, 99]);
    expect([...f.test.labels]).toEqual([5]);
    expect(f.train.get(0).image.data[(0 * 32 + 31) * 3 + 0]).toBeCloseTo(77 / 255, 6);
    const c = await cifar100Dataset(bin, { labels: 'coarse' });
    expect(c.train.classNames).toEqual(coarse);
    expect([...c.train.labels]).toEqual([3, 19]);
    expect(c.test.name).toBe('cifar100/test');
  });

  it('checks both label bytes and the class-name files', async () => {
    const bad = join(tmp, 'c100-bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'fine_label_names.txt'), fine.join('\n'));
    writeFileSync(join(bad, 'coarse_label_names.txt'), coarse.join('\n'));
    writeFileSync(join(bad, 'train.bin'), concat([record([20, 1], [])]));
    writeFileSync(join(bad, 'test.bin'), concat([record([0, 5], [])]));
    await expect(cifar100Dataset(bad, { labels: 'fine' })).rejects.toThrow(
      /train\.bin is corrupt: record 0 \(byte 0\) has label 20, outside 0\.\.19/,
    );
    writeFileSync(join(bad, 'train.bin'), concat([record([0, 1], []), record([2, 100], [])]));
    await expect(cifar100Dataset(bad)).rejects.toThrow(/record 1 \(byte 3075\) has label 100/);
    writeFileSync(join(bad, 'train.bin'), concat([record([0, 1], [])]));
    writeFileSync(join(bad, 'coarse_label_names.txt'), coarse.slice(1).join('\n'));
    await expect(cifar100Dataset(bad)).rejects.toThrow(
      /coarse_label_names\.txt lists 19 class names, expected 20/,
    );
    const err = await cifar100Dataset(join(tmp, 'c100-none')).catch((e: Error) => e.message);
    expect(err).toContain('cifar-100-binary.tar.gz');
    expect(err).toContain('train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt');
    await expect(cifar100Dataset(dir, { labels: 'both' as 'fine' })).rejects.toThrow(
      /labels must be 'fine' or 'coarse'/,
    );
  });
});
