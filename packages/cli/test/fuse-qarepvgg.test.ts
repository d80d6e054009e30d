/**
 * `repnets info` and `repnets fuse` on a QARepVGG checkpoint in
 * cxxgtxy/QARepVGG's layout (the small QARepVGG-A0 that PyTorch saved for
 * blocks' tests): the layout is named with its source, and the fold writes
 * the source's own deploy form, the keys and shapes PyTorch saved for it.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, readTorchCheckpoint } from '@repnets/fuse';
import { afterAll, describe, expect, it } from 'vitest';
import { json, repnets } from './helpers/cli.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'blocks', 'test', 'fixtures', 'torch');
const train = join(FIXTURES, 'qarepvgg-a0-tiny.pth');
const dir = join(import.meta.dirname, '.tmp', 'fuse-qarepvgg');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a QARepVGG checkpoint (official-qarepvgg)', () => {
  it('info names the layout and its source, and the blocks to fold', async () => {
    const r = await repnets('info', train);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/layout +official-qarepvgg \(cxxgtxy\/QARepVGG\)/);
    expect(r.out).toMatch(/form +train \(22 blocks to fold: qarepvgg\)/);
  });

  it("fuse writes the source's deploy form: the keys and shapes PyTorch saved for it", async () => {
    const out = join(dir, 'deploy.safetensors');
    const r = await repnets('fuse', train, '--from', 'official', '--out', out, '--json');
    expect(r.code, r.err).toBe(0);
    expect(json(r.out)).toMatchObject({ layout: 'official-qarepvgg' });
    const fused = readSafetensors(new Uint8Array(readFileSync(out))).tensors;
    const torch = readTorchCheckpoint(
      new Uint8Array(readFileSync(join(FIXTURES, 'qarepvgg-a0-tiny-deploy.pth'))),
    );
    expect([...fused].map(([k, t]) => [k, t.shape])).toEqual(
      [...torch].map(([k, t]) => [k, t.shape]),
    );
  });
});
