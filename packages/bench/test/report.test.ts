import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { writeJsonAtomic } from '../src/files.js';
import {
  type BenchReport,
  buildReport,
  type LatencyResult,
  type ModelAccount,
  type ReportParts,
  renderChartSvg,
  reportMarkdown,
  reportTable,
  summaryLines,
  svgToPng,
  writeReport,
} from '../src/index.js';

const machine = { cpu: 'Test CPU', cores: 2, node: 'v20.0.0', platform: 'linux-x64' };

function latency(meanMs: number, medianMs: number): LatencyResult {
  return {
    backend: 'wasm',
    batch: 32,
    inputShape: [28, 28, 1],
    warmup: 3,
    runs: Array(10).fill(medianMs),
    medianMs,
    meanMs,
    p10Ms: medianMs * 0.9,
    p90Ms: medianMs * 1.2,
    minMs: medianMs * 0.8,
  };
}

function account(params: number, macs: number, bytes: number, layers: number): ModelAccount {
  return {
    params: { trainable: params, nonTrainable: 0, total: params },
    macs,
    flops: 2 * macs,
    memoryAccessBytes: bytes,
    layers,
  } as ModelAccount;
}

/** The numbers of the original PyTorch project's summary, as a report. */
function parts(overrides: Partial<ReportParts> = {}): ReportParts {
  return {
    model: 'repvgg_compact',
    dataset: 'mnist/test',
    machine,
    comparison: {
      backend: 'wasm',
      batch: 32,
      train: latency(7.736, 7.5),
      deploy: latency(3.202, 3.1),
      speedup: 7.5 / 3.1,
    },
    accounts: {
      train: account(447_000, 5_890_000, 3_750_000, 21),
      deploy: account(400_000, 5_300_000, 2_280_000, 6),
    },
    equivalence: {
      count: 2000,
      maxAbsLogitDiff: 1.9e-6,
      meanAbsLogitDiff: 3.2e-7,
      top1Agreement: 1,
      trainAccuracy: 0.839,
      deployAccuracy: 0.845,
    },
    ...overrides,
  };
}

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'repnets-bench-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('buildReport', () => {
  it('maps the measured parts onto the report shape', () => {
    const r = buildReport(parts());
    expect(r).toEqual({
      backend: 'wasm',
      model: 'repvgg_compact',
      dataset: 'mnist/test',
      train: {
        accuracy: 0.839,
        meanInferenceMs: 7.736,
        medianInferenceMs: 7.5,
        p10Ms: 7.5 * 0.9,
        p90Ms: 7.5 * 1.2,
        params: 447_000,
        flops: 11_780_000,
        mac: 3_750_000,
        layers: 21,
      },
      deploy: {
        accuracy: 0.845,
        meanInferenceMs: 3.202,
        medianInferenceMs: 3.1,
        p10Ms: 3.1 * 0.9,
        p90Ms: 3.1 * 1.2,
        params: 400_000,
        flops: 10_600_000,
        mac: 2_280_000,
        layers: 6,
      },
      speedup: 7.5 / 3.1,
      maxAbsLogitDiff: 1.9e-6,
      meanAbsLogitDiff: 3.2e-7,
      top1Agreement: 1,
      machine,
      batch: 32,
    } satisfies BenchReport);
  });

  it('rejects parts that do not fit, naming them', () => {
    const bad = parts();
    expect(() =>
      buildReport({ ...bad, equivalence: { ...bad.equivalence, trainAccuracy: 83.9 } }),
    ).toThrow(/train form accuracy must be a fraction in \[0, 1\], got 83.9/);
    expect(() =>
      buildReport({
        ...bad,
        comparison: { ...bad.comparison, deploy: latency(-1, 3) },
      }),
    ).toThrow(/deploy form latency meanMs must be a finite number >= 0, got -1/);
    expect(() => buildReport({ ...bad, model: '' })).toThrow(/model must be a non-empty name/);
    expect(() => buildReport({ ...bad, accounts: {} as ReportParts['accounts'] })).toThrow(
      /accounts needs \{ train, deploy \}/,
    );
  });
});

describe('summaryLines', () => {
  it('prints the original project summary word for word: fraction, seconds per batch', () => {
    expect(summaryLines(buildReport(parts()))).toEqual([
      'Final Original Accuracy: 0.839, Mean Inference Time: 0.007736',
      'Final Reparameterized Accuracy: 0.845, Mean Inference Time: 0.003202',
    ]);
  });

  it("says 'n/a' for accuracy without labels", () => {
    const p = parts();
    const r = buildReport({
      ...p,
      equivalence: { ...p.equivalence, trainAccuracy: null, deployAccuracy: null },
    });
    expect(summaryLines(r)[0]).toBe('Final Original Accuracy: n/a, Mean Inference Time: 0.007736');
  });
});

describe('text reports', () => {
  const report = buildReport(parts());

  it('table: aligned columns, ratios, speed-up and equivalence', () => {
    const text = reportTable(report);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      'repvgg_compact on mnist/test, backend wasm, batch 32; Test CPU (2 cores), Node v20.0.0, linux-x64',
    );
    const table = lines.slice(1, 11);
    // Right-aligned numeric columns end where the rule's segments end.
    const rule = table[1]!;
    expect(rule).toMatch(/^-+( +-+){3}$/);
    const ends = [...rule.matchAll(/-+/g)].map((m) => m.index! + m[0].length);
    const medianRow = table.find((l) => l.startsWith('median ms / batch of 32'))!;
    expect(medianRow.length).toBe(ends[3]);
    expect(medianRow).toMatch(/7\.50 +3\.10 +2\.42x$/);
    expect(table.find((l) => l.startsWith('layers'))).toMatch(/21 +6 +3\.50x$/);
    expect(table.find((l) => l.startsWith('MAC / image'))).toMatch(/3\.75 MB +2\.28 MB +1\.64x$/);
    expect(text).toContain('speed-up (median train form / median deploy form): 2.42x');
    expect(text).toContain('top-1 agreement 100.0%');
  });

  it('Markdown: table, units, the two summary lines verbatim and the chart', () => {
    const md = reportMarkdown(report, { chart: 'run.png' });
    expect(md).toContain(
      '```\nFinal Original Accuracy: 0.839, Mean Inference Time: 0.007736\nFinal Reparameterized Accuracy: 0.845, Mean Inference Time: 0.003202\n```',
    );
    expect(md).toContain('mean inference time is in seconds per batch of 32');
    expect(md).toContain('| metric | train form | deploy form | ratio |');
    expect(md).toContain('| --- | ---: | ---: | ---: |');
    expect(md.split('\n').filter((l) => l.startsWith('| '))).toHaveLength(10);
    expect(md).toContain('![train form vs deploy form](run.png)');
    expect(reportMarkdown(report)).not.toContain('![');
  });
});

describe('chart and files', () => {
  const report = buildReport(parts());

  it('renders an SVG with both forms and both panels, and a PNG from it', async () => {
    const svg = await renderChartSvg(report);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['train form', 'deploy form', 'Top-1 accuracy', '7.50 ms', '0.845']) {
      expect(svg).toContain(text);
    }
    const png = await svgToPng(svg, { scale: 1 });
    expect(png.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBeGreaterThan(400);
    const twice = await sharp(await svgToPng(svg)).metadata();
    // Trimmed margins and a fixed border keep the ratio near, not at, the scale.
    expect(twice.width! / meta.width!).toBeGreaterThan(1.8);
    expect(twice.width! / meta.width!).toBeLessThan(2.2);
    await expect(svgToPng('not svg')).rejects.toThrow(/must be an SVG document/);
  });

  it('leaves the accuracy panel out without labels', async () => {
    const p = parts();
    const unlabelled = buildReport({
      ...p,
      equivalence: { ...p.equivalence, trainAccuracy: null, deployAccuracy: null },
    });
    const svg = await renderChartSvg(unlabelled);
    expect(svg).toContain('Latency');
    expect(svg).not.toContain('Top-1 accuracy');
  });

  it('writes JSON, Markdown, SVG and PNG atomically, replacing older files', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'run.json'), '{"stale": true}');
    const files = await writeReport(report, { dir, name: 'run' });
    expect(files).toEqual({
      json: join(dir, 'run.json'),
      markdown: join(dir, 'run.md'),
      svg: join(dir, 'run.svg'),
      png: join(dir, 'run.png'),
    });
    expect(JSON.parse(readFileSync(files.json, 'utf8'))).toEqual(report);
    expect(readFileSync(files.markdown, 'utf8')).toContain('![train form vs deploy form](run.png)');
    expect(readdirSync(dir).sort()).toEqual(['run.json', 'run.md', 'run.png', 'run.svg']);
    await expect(writeReport(report, { dir, name: '../escape' })).rejects.toThrow(
      /name must be a file name stem/,
    );
  });

  it('writeJsonAtomic creates the directory and leaves no temp file', () => {
    const path = join(tempDir(), 'nested', 'deeper', 'r.json');
    writeJsonAtomic(path, { a: 1 });
    expect(readFileSync(path, 'utf8')).toBe('{\n  "a": 1\n}\n');
    expect(readdirSync(join(path, '..'))).toEqual(['r.json']);
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });
});
