/**
 * The benchmark is code too: a tiny run must report, per model, layout and
 * engine, the parameter counts of the architecture it claims to fold and
 * throughputs that follow from those counts, and the folds it times must
 * compute what the allocating fold computes. No timing thresholds: speed is
 * the benchmark's business, not a unit test's.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFuseBench } from '../bench/fuse-bench.js';
import { mobileoneS4, repvggB3 } from '../bench/param-sets.js';
import { type FoldEngine, setFoldEngine } from '../src/index.js';

/** Train-form floats (kernels + 4 BN vectors per branch) and deploy floats (kernel + bias) of one block. */
interface Count {
  train: number;
  deploy: number;
  blocks: number;
}
const add = (c: Count, train: number, deploy: number) => {
  c.train += train;
  c.deploy += deploy;
  c.blocks++;
};

/** RepVGG-B3 from Ding et al. 2021, Table 2, counted here; `bnFloats` 4 (mean/var too) or 2 (PyTorch parameters). */
function countRepVGGB3(divisor: number, bnFloats = 4): Count {
  const c = { train: 0, deploy: 0, blocks: 0 };
  const widths = [64, 192, 384, 768, 2560].map((w) => Math.max(1, Math.round(w / divisor)));
  let inC = 3;
  [1, 4, 6, 16, 1].forEach((depth, s) => {
    const w = widths[s]!;
    for (let b = 0; b < depth; b++) {
      const identity = inC === w && b > 0 ? bnFloats * w : 0;
      add(c, 9 * inC * w + bnFloats * w + inC * w + bnFloats * w + identity, 9 * inC * w + w);
      inC = w;
    }
  });
  return c;
}

/** MobileOne-S4 from Vasu et al. 2023, Table 7, without SE: stem, then depthwise 3x3 + pointwise 1x1 units, k = 1. */
function countMobileOneS4(divisor: number): Count {
  const c = { train: 0, deploy: 0, blocks: 0 };
  const d = (w: number) => Math.max(1, Math.round(w / divisor));
  let inC = d(64);
  // Stem 3 -> 64, stride 2: one 3x3 branch and the 1x1 scale branch, no identity.
  add(c, 9 * 3 * inC + 4 * inC + 3 * inC + 4 * inC, 9 * 3 * inC + inC);
  [192, 448, 896, 2048].map(d).forEach((w, s) => {
    for (let b = 0; b < [2, 8, 10, 1][s]!; b++) {
      // Depthwise 3x3 (stride 2 on the first unit of a stage: no identity there), scale branch.
      add(c, 9 * inC + 4 * inC + inC + 4 * inC + (b > 0 ? 4 * inC : 0), 9 * inC + inC);
      // Pointwise 1x1: no scale branch (k = 1), identity when the width stays.
      add(c, inC * w + 4 * w + (inC === w ? 4 * w : 0), inC * w + w);
      inC = w;
    }
  });
  return c;
}

describe('fuse benchmark (smoke run at 1/64 width)', () => {
  it('the counts this test uses are the papers’: RepVGG-B3 has 123.09M train-form and 110.96M deploy parameters', () => {
    const fc = 2560 * 1000 + 1000; // the classifier the bench leaves out
    const pytorch = countRepVGGB3(1, 2); // BN weight and bias only, as PyTorch counts parameters
    expect((pytorch.train + fc) / 1e6).toBeCloseTo(123.09, 2);
    expect((pytorch.deploy + fc) / 1e6).toBeCloseTo(110.96, 2);
    expect(pytorch.blocks).toBe(28);
  });

  it('writes fuse.json: one row per model, layout and engine, with the architecture’s counts and consistent rates', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fuse-bench-')), 'fuse.json');
    const lines: string[] = [];
    const returned = runFuseBench({
      runs: 3,
      warmup: 0,
      divisor: 64,
      out,
      log: (l) => lines.push(l),
    });
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report).toEqual(JSON.parse(JSON.stringify(returned)));
    expect(report).toMatchObject({ benchmark: 'fuse', runs: 3, warmup: 0, divisor: 64 });
    expect(report.machine.cores).toBe(cpus().length);
    expect(
      report.results.map((r: { model: string; layout: string; engine: string }) =>
        [r.model, r.layout, r.engine].join(' '),
      ),
    ).toEqual([
      'RepVGG-B3 OIHW simd',
      'RepVGG-B3 OIHW js',
      'RepVGG-B3 TFJS simd',
      'RepVGG-B3 TFJS js',
      'MobileOne-S4 OIHW simd',
      'MobileOne-S4 OIHW js',
      'MobileOne-S4 TFJS simd',
      'MobileOne-S4 TFJS js',
    ]);
    const expected: Record<string, Count> = {
      'RepVGG-B3': countRepVGGB3(64),
      'MobileOne-S4': countMobileOneS4(64),
    };
    for (const r of report.results) {
      const want = expected[r.model]!;
      expect({ params: r.params, deployParams: r.deployParams, blocks: r.blocks }, r.model).toEqual(
        { params: want.train, deployParams: want.deploy, blocks: want.blocks },
      );
      // Medians of 3 runs lie within their p10..p90 band.
      expect(r.foldP10Ms).toBeLessThanOrEqual(r.foldMs);
      expect(r.foldMs).toBeLessThanOrEqual(r.foldP90Ms);
      expect(r.copyP10Ms).toBeLessThanOrEqual(r.copyMs);
      expect(r.copyMs).toBeLessThanOrEqual(r.copyP90Ms);
      // Bytes moved, from the counts above: fold reads train-form and writes deploy
      // floats; copy reads and writes the train-form floats.
      expect(r.foldGBps).toBeCloseTo(((want.train + want.deploy) * 4) / (r.foldMs * 1e6), 6);
      expect(r.copyGBps).toBeCloseTo((want.train * 8) / (r.copyMs * 1e6), 6);
    }
    // The log: a header pair, one line per row naming it, and where the file went.
    expect(lines).toHaveLength(2 + report.results.length + 1);
    report.results.forEach((r: { model: string; layout: string; engine: string }, j: number) => {
      expect(lines[2 + j]).toMatch(new RegExp(`^${r.model}\\s+${r.layout}\\s+${r.engine}\\s`));
    });
    expect(lines.at(-1)).toBe(`wrote ${out}`);
  });

  it.each([
    ['simd', 'OIHW'],
    ['js', 'TFJS'],
  ] as const)(
    'the folds it times (%s engine, %s) compute what the allocating fold computes',
    (engine, layout) => {
      setFoldEngine(engine as FoldEngine);
      try {
        for (const set of [repvggB3(layout, 64), mobileoneS4(layout, 64)]) {
          for (const [j, b] of set.blocks.entries()) {
            const fresh = b.fold();
            const into = b.fold(b.into);
            // Written where the bench pointed it, not into a fresh buffer.
            expect(into.kernel.data, `${set.model} block ${j}`).toBe(b.into.kernel?.data);
            expect(into.bias).toBe(b.into.bias);
            expect(Array.from(into.kernel.data)).toEqual(Array.from(fresh.kernel.data));
            expect(Array.from(into.bias)).toEqual(Array.from(fresh.bias));
          }
        }
      } finally {
        setFoldEngine('auto');
      }
    },
  );
});
