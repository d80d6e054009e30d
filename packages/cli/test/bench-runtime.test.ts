/**
 * `repnets bench --runtime`: ONNX Runtime as a second runtime, end to end in
 * a child process. (Kept out of test/ while that folder is being reworked;
 * uses its helpers.)
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createModel, fileSystem } from '@repnets/blocks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json, repnets } from './helpers/cli.js';

const dir = join(import.meta.dirname, '.tmp', 'bench-runtime');
const model = join(dir, 'train');

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const m = createModel('simplenet', {
    widthMultipliers: [0.25, 0.25],
    inputSize: 16,
    numClasses: 3,
  });
  await m.save(fileSystem(model));
  m.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('repnets bench --runtime', () => {
  it('--runtime onnxruntime prints the ONNX Runtime groups with version and threads', async () => {
    const r = await repnets(
      'bench',
      model,
      '--backend',
      'wasm',
      '--runs',
      '10',
      '--runtime',
      'onnxruntime',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/runtime\s+version\s+backend \/ EP\s+threads/);
    expect(r.out).toMatch(/onnxruntime\s+\d+\.\d+\.\d+\s+cpu\s+1\s+train form/);
    expect(r.out).toMatch(/deploy form.*x\s+\d\.\de-?\d+ \(\d\.\de-?\d+\)$/m);
    expect(r.out).toMatch(/intraOpNumThreads: 1/);
    expect(r.out).not.toMatch(/^tfjs\s/m);
    expect(r.out).toMatch(/^Final Original Accuracy: n\/a/m);
  });

  it('--json carries the runtimes; --runtime tfjs leaves them out; a bad name exits 2', async () => {
    const all = await repnets(
      'bench',
      model,
      '--backend',
      'wasm',
      '--runs',
      '10',
      '--runtime',
      'all',
      '--json',
    );
    expect(all.code, all.err).toBe(0);
    const report = json(all.out);
    expect(report.runtimes.map((g: { runtime: string }) => g.runtime).slice(0, 2)).toEqual([
      'tfjs',
      'onnxruntime',
    ]);
    for (const g of report.runtimes.slice(1)) {
      expect(g.threads).toBeGreaterThanOrEqual(1);
      expect(g.maxRelLogitDiff).toBeLessThan(1e-4);
      expect(g.train.median).toBeGreaterThan(0);
      expect(g.deploy.median).toBeGreaterThan(0);
    }
    const tfjs = json(
      (await repnets('bench', model, '--backend', 'wasm', '--runtime', 'tfjs', '--json')).out,
    );
    expect(tfjs.runtimes).toBeUndefined();
    const bad = await repnets('bench', model, '--runtime', 'torch');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--runtime must be one of tfjs, onnxruntime, all; got 'torch'/);
  });
});
