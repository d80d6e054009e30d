/** The Node-only file helpers (`@repnets/fuse/node`): atomic save, load with file names in errors. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSafetensorsFile, saveSafetensorsFile } from '../src/io/node.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fuse-safetensors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('safetensors files', () => {
  it('saves and loads a file, leaving no temporary file behind', async () => {
    const path = join(dir, 'model.safetensors');
    const w = { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) };
    await saveSafetensorsFile(path, { w }, { format: 'pt' });
    const back = await loadSafetensorsFile(path);
    expect(back.tensors.get('w')).toEqual({ dtype: 'F32', ...w });
    expect(back.metadata).toEqual({ format: 'pt' });
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  it('replaces an existing file whole, and leaves it untouched when encoding fails', async () => {
    const path = join(dir, 'replace.safetensors');
    await saveSafetensorsFile(path, { a: { shape: [1], data: new Float32Array([1]) } });
    await saveSafetensorsFile(path, { b: { shape: [1], data: new Float32Array([2]) } }, undefined, {
      dtype: 'F16',
    });
    const before = await readFile(path);
    await expect(
      saveSafetensorsFile(path, { c: { shape: [1], data: new Float32Array([1e6]) } }, undefined, {
        dtype: 'F16',
      }),
    ).rejects.toThrow(/too large for F16/);
    expect(await readFile(path)).toEqual(before);
    expect([...(await loadSafetensorsFile(path)).tensors.keys()]).toEqual(['b']);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('names the file when it cannot be read, written, or is not safetensors', async () => {
    const missing = join(dir, 'nope.safetensors');
    await expect(loadSafetensorsFile(missing)).rejects.toThrow(
      new RegExp(`^loadSafetensorsFile: argument 'path' '${missing}' cannot be read: ENOENT`),
    );
    const bad = join(dir, 'pickle.pt');
    await writeFile(bad, Uint8Array.from([0x80, 0x02, 0x63, 0x00, 0, 0, 0, 0, 1]));
    await expect(loadSafetensorsFile(bad)).rejects.toThrow(
      `readSafetensors(${bad}): argument 'bytes' starts with 0x80 0x02 (pickle protocol 2): this is a PyTorch pickle`,
    );
    const noDir = join(dir, 'missing-dir', 'x.safetensors');
    await expect(saveSafetensorsFile(noDir, {})).rejects.toThrow(
      new RegExp(`^saveSafetensorsFile: argument 'path' '${noDir}' cannot be written: ENOENT`),
    );
  });
});
