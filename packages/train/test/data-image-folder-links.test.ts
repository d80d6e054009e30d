/**
 * An image folder lists each real file once and walks each real folder once,
 * whatever links lead to them, and a folder that is not a classification set
 * (fewer than two classes) is refused by name.
 */
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { imageFolderDataset } from '../src/index.js';

const tmpRoot = join(import.meta.dirname, '.tmp');
mkdirSync(tmpRoot, { recursive: true });
const tmp = mkdtempSync(join(tmpRoot, 'links-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function png(path: string, grey: number): Promise<void> {
  await sharp(Buffer.alloc(4, grey), { raw: { width: 2, height: 2, channels: 1 } })
    .png()
    .toFile(path);
}

/** <name>/a/{1,2}.png and <name>/b/3.png. */
async function twoClasses(name: string): Promise<string> {
  const root = join(tmp, name);
  mkdirSync(join(root, 'a'), { recursive: true });
  mkdirSync(join(root, 'b'), { recursive: true });
  await png(join(root, 'a', '1.png'), 10);
  await png(join(root, 'a', '2.png'), 20);
  await png(join(root, 'b', '3.png'), 30);
  return root;
}

const rel = (root: string, files: readonly string[]) => files.map((f) => f.slice(root.length + 1));

describe('imageFolderDataset lists each real file and folder once', () => {
  it('a symlink loop (a folder linking to its parent) is never followed twice', async () => {
    const root = await twoClasses('loop');
    symlinkSync('..', join(root, 'a', 'up'));
    symlinkSync('.', join(root, 'b', 'self'));
    const ds = await imageFolderDataset(root, { size: 2 });
    expect(rel(root, ds.files)).toEqual(['a/1.png', 'a/2.png', 'b/3.png']);
    expect([...ds.labels]).toEqual([0, 0, 1]);
  });

  it('two links to one file in one class count once: symlink and hard link alike', async () => {
    const root = await twoClasses('same-file');
    symlinkSync(join(root, 'a', '1.png'), join(root, 'a', 'link.png'));
    linkSync(join(root, 'a', '2.png'), join(root, 'a', 'hard.png'));
    mkdirSync(join(root, 'a', 'sub'));
    symlinkSync(join(root, 'a', '1.png'), join(root, 'a', 'sub', 'deep.png'));
    const ds = await imageFolderDataset(root, { size: 2 });
    // The first path in sorted order is the one kept.
    expect(rel(root, ds.files)).toEqual(['a/1.png', 'a/2.png', 'b/3.png']);
    expect(ds.size).toBe(3);
  });

  it('a folder reached twice in one class (two links to it) is walked once', async () => {
    const root = await twoClasses('same-folder');
    const shared = join(tmp, 'shared');
    mkdirSync(shared);
    await png(join(shared, 's.png'), 40);
    symlinkSync(shared, join(root, 'b', 'one'));
    symlinkSync(shared, join(root, 'b', 'two'));
    const ds = await imageFolderDataset(root, { size: 2 });
    expect(rel(root, ds.files)).toEqual(['a/1.png', 'a/2.png', 'b/3.png', 'b/one/s.png']);
  });

  it('one file under two classes is refused, naming both paths: either label would be wrong', async () => {
    const root = await twoClasses('two-labels');
    symlinkSync(join(root, 'a', '1.png'), join(root, 'b', 'also.png'));
    await expect(imageFolderDataset(root, { size: 2 })).rejects.toThrow(
      `imagefolder:${root}: ${join(root, 'b', 'also.png')} is the same file as ${join(root, 'a', '1.png')}, in class 'a': one image cannot have two labels; remove one of them`,
    );
    const aliased = await twoClasses('class-alias');
    symlinkSync(join(aliased, 'a'), join(aliased, 'c'));
    await expect(imageFolderDataset(aliased, { size: 2 })).rejects.toThrow(
      `imagefolder:${aliased}: ${join(aliased, 'c')} is the same folder as ${join(aliased, 'a')}, the class 'a': one image cannot have two labels; remove one of them`,
    );
  });
});

describe('imageFolderDataset refuses a folder with fewer than two classes', () => {
  it('names the one class it found', async () => {
    const root = join(tmp, 'one-class');
    mkdirSync(join(root, 'cats'), { recursive: true });
    await png(join(root, 'cats', 'x.png'), 1);
    await expect(imageFolderDataset(root, { size: 2 })).rejects.toThrow(
      `imagefolder:${root}: one class folder ('cats') in ${root}: a classifier needs at least two. Expected layout: <root>/<class name>/<image>`,
    );
  });
});
