import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoader, imageFolderDataset } from '../src/index.js';

const tmpRoot = join(import.meta.dirname, '.tmp');
mkdirSync(tmpRoot, { recursive: true });
const tmp = mkdtempSync(join(tmpRoot, 'folder-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A solid-colour image of `w`x`h` (RGB, RGBA or grey) written in `format`. */
async function solid(
  path: string,
  format: 'png' | 'jpeg' | 'webp',
  colour: number[],
  w = 8,
  h = 6,
): Promise<void> {
  const channels = colour.length as 1 | 3 | 4;
  const raw = Buffer.alloc(w * h * channels);
  for (let p = 0; p < w * h; p++) raw.set(colour, p * channels);
  const img = sharp(raw, { raw: { width: w, height: h, channels } });
  await (format === 'png'
    ? img.png()
    : format === 'jpeg'
      ? img.jpeg({ quality: 100 })
      : img.webp({ lossless: true })
  ).toFile(path);
}

const root = join(tmp, 'pets');
beforeAll(async () => {
  // Class folders are created out of order: classes must come out sorted.
  for (const cls of ['dog', 'cat', 'bird']) mkdirSync(join(root, cls), { recursive: true });
  mkdirSync(join(root, 'cat', 'nested'));
  mkdirSync(join(root, '.hidden'));
  await solid(join(root, 'dog', 'b.png'), 'png', [0, 0, 255]);
  await solid(join(root, 'dog', 'a.JPG'), 'jpeg', [255, 0, 0]);
  await solid(join(root, 'cat', 'one.webp'), 'webp', [0, 255, 0, 128]);
  await solid(join(root, 'cat', 'nested', 'two.png'), 'png', [51]);
  await solid(join(root, 'bird', 'x.png'), 'png', [255, 255, 255], 20, 4);
  await solid(join(root, '.hidden', 'ignored.png'), 'png', [1, 2, 3]);
  writeFileSync(join(root, 'dog', 'notes.txt'), 'not an image');
  writeFileSync(join(root, 'top-level.png'), 'ignored: not in a class folder');
});

const at = (data: Float32Array, w: number, c: number, y: number, x: number, ch: number) =>
  data[(y * w + x) * c + ch]!;

describe('imageFolderDataset', () => {
  it('lists sorted classes and files, decodes and resizes to HWC floats', async () => {
    const ds = await imageFolderDataset(root, { size: [4, 5] });
    expect(ds.name).toBe(`imagefolder:${root}`);
    expect(ds.classNames).toEqual(['bird', 'cat', 'dog']);
    expect(ds.files.map((f) => f.slice(root.length + 1))).toEqual([
      'bird/x.png',
      'cat/nested/two.png',
      'cat/one.webp',
      'dog/a.JPG',
      'dog/b.png',
    ]);
    expect([...ds.labels]).toEqual([0, 1, 1, 2, 2]);
    expect(ds.shape).toEqual([4, 5, 3]);
    const expected: [number, number[]][] = [
      [0, [1, 1, 1]],
      [1, [0.2, 0.2, 0.2]], // grey expanded to RGB
      [2, [0, 1, 0]], // alpha dropped
      [3, [1, 0, 0]],
      [4, [0, 0, 1]],
    ];
    for (const [i, rgb] of expected) {
      const { image, label } = await ds.get(i);
      expect(label).toBe(ds.labels[i]);
      expect([image.height, image.width, image.channels]).toEqual([4, 5, 3]);
      for (let ch = 0; ch < 3; ch++) {
        // JPEG's chroma rounding moves solid red by a few levels.
        expect(Math.abs(at(image.data, 5, 3, 2, 3, ch) - rgb[ch]!)).toBeLessThan(0.03);
      }
    }
    await expect(ds.get(5)).rejects.toThrow(/index 5 is out of range/);
  });

  it('gives one grey channel on request and letterboxes with fit contain', async () => {
    const grey = await imageFolderDataset(root, { size: 4, channels: 1 });
    expect(grey.shape).toEqual([4, 4, 1]);
    const white = await grey.get(0);
    expect(white.image.data.length).toBe(16);
    expect(white.image.data[0]).toBeCloseTo(1, 2);
    // bird/x.png is 20x4: contained in 4x4 it is a 4x~1 white band in black.
    const boxed = await imageFolderDataset(root, { size: 4, fit: 'contain' });
    const { image } = await boxed.get(0);
    expect(at(image.data, 4, 3, 0, 0, 0)).toBe(0);
    expect(at(image.data, 4, 3, 3, 0, 0)).toBe(0);
    expect(Math.max(...image.data)).toBeGreaterThan(0.9);
  });

  it('names an unreadable file on get, and skips it with onError skip', async () => {
    const dir = join(tmp, 'broken');
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'), { recursive: true });
    await solid(join(dir, 'a', 'ok.png'), 'png', [10, 20, 30]);
    await solid(join(dir, 'b', 'ok.png'), 'png', [30, 20, 10]);
    writeFileSync(join(dir, 'b', 'bad.png'), Buffer.from('\x89PNG\r\n\x1a\n garbage'));
    const strict = await imageFolderDataset(dir, { size: 2 });
    expect(strict.size).toBe(3);
    const badIndex = strict.files.indexOf(join(dir, 'b', 'bad.png'));
    await expect(strict.get(badIndex)).rejects.toThrow(
      `cannot decode ${join(dir, 'b', 'bad.png')} (example ${badIndex})`,
    );
    const loader = new DataLoader(strict, { batchSize: 3 });
    await expect(async () => {
      for await (const _ of loader);
    }).rejects.toThrow(new RegExp(`example ${badIndex} \\(batch 0, epoch 0\\).*bad\\.png`));

    const lenient = await imageFolderDataset(dir, { size: 2, onError: 'skip', cache: true });
    expect(lenient.size).toBe(2);
    expect(lenient.skipped.map((s) => s.file)).toEqual([join(dir, 'b', 'bad.png')]);
    expect(lenient.skipped[0]!.error.length).toBeGreaterThan(0);
    expect([...lenient.labels]).toEqual([0, 1]);
    expect((await lenient.get(1)).image.data[0]).toBeCloseTo(30 / 255, 5);
  });

  it('explains a missing root, a root without class folders and an empty class', async () => {
    await expect(imageFolderDataset(join(tmp, 'none'), { size: 2 })).rejects.toThrow(
      /is not a directory\. Expected layout: <root>\/<class name>/,
    );
    const flat = join(tmp, 'flat');
    mkdirSync(flat);
    await solid(join(flat, 'x.png'), 'png', [1, 2, 3]);
    await expect(imageFolderDataset(flat, { size: 2 })).rejects.toThrow(/no class folders in/);
    mkdirSync(join(flat, 'empty'));
    await expect(imageFolderDataset(flat, { size: 2 })).rejects.toThrow(
      `class folder ${join(flat, 'empty')} has no image files`,
    );
    await expect(imageFolderDataset(root, { size: [2, 0] as [number, number] })).rejects.toThrow(
      /size must be a positive integer or \[height, width\], not \[2,0\]/,
    );
  });
});

describe("imageFolderDataset with labels: 'none'", () => {
  const flat = join(tmp, 'calib');
  beforeAll(async () => {
    mkdirSync(join(flat, 'more'), { recursive: true });
    await solid(join(flat, 'b.png'), 'png', [0, 0, 255]);
    await solid(join(flat, 'a.jpeg'), 'jpeg', [255, 0, 0]);
    await solid(join(flat, 'more', 'c.png'), 'png', [51]);
    writeFileSync(join(flat, 'readme.txt'), 'not an image');
    mkdirSync(join(tmp, 'no-images', 'sub'), { recursive: true });
    writeFileSync(join(tmp, 'no-images', 'sub', 'notes.txt'), 'nothing to see');
  });

  it('takes every image under the root, sub-folders included, sorted, all in one unlabelled class', async () => {
    const ds = await imageFolderDataset(flat, { size: 4, channels: 1, labels: 'none' });
    expect(ds.files.map((f) => f.slice(flat.length + 1))).toEqual([
      'a.jpeg',
      'b.png',
      'more/c.png',
    ]);
    expect(ds.classNames).toEqual(['(unlabelled)']);
    expect([...ds.labels]).toEqual([0, 0, 0]);
    const grey = await ds.get(2);
    expect(grey.image.channels).toBe(1);
    expect(grey.image.data[0]).toBeCloseTo(51 / 255, 6);
    expect(grey.label).toBe(0);
  });

  it('a class-folder tree is read as one unlabelled set too', async () => {
    const ds = await imageFolderDataset(root, { size: 4, labels: 'none' });
    // Class folders and the stray top-level file alike; hidden folders stay out.
    expect(ds.files.map((f) => f.slice(root.length + 1))).toEqual([
      'bird/x.png',
      'cat/nested/two.png',
      'cat/one.webp',
      'dog/a.JPG',
      'dog/b.png',
      'top-level.png',
    ]);
  });

  it('refuses a folder without images, and a labels value it does not know', async () => {
    await expect(
      imageFolderDataset(join(tmp, 'no-images'), { size: 4, labels: 'none' }),
    ).rejects.toThrow(/no image files \(.*\) in .*no-images or its sub-folders$/);
    await expect(imageFolderDataset(flat, { size: 4, labels: 'flat' as 'none' })).rejects.toThrow(
      /labels must be 'folders' or 'none', not flat/,
    );
  });
});
