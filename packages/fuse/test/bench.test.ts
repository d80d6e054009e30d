/** The benchmark is code too: a tiny run must produce the report fields the issue names. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFuseBench } from '../bench/fuse-bench.js';

describe('fuse benchmark (smoke run at 1/64 width)', () => {
  it('writes fuse.json with model, params, foldMs, copyMs and ratio per model', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fuse-bench-')), 'fuse.json');
    runFuseBench({ runs: 1, warmup: 0, divisor: 64, out, log: () => {} });
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.results.map((r: { model: string }) => r.model)).toEqual(
      expect.arrayContaining(['RepVGG-B3', 'MobileOne-S4']),
    );
    for (const r of report.results) {
      expect(r.params).toBeGreaterThan(0);
      expect(r.foldMs).toBeGreaterThan(0);
      expect(r.copyMs).toBeGreaterThan(0);
      expect(r.ratio).toBeCloseTo(r.foldMs / r.copyMs, 10);
    }
  });

  it('builds the block structure of RepVGG-B3 and MobileOne-S4', async () => {
    const { repvggB3, mobileoneS4 } = await import('../bench/param-sets.js');
    const b3 = repvggB3('OIHW', 64);
    expect(b3.blocks).toHaveLength(28);
    const s4 = mobileoneS4('TFJS', 64);
    expect(s4.blocks).toHaveLength(1 + 2 * (2 + 8 + 10 + 1));
  });
});
