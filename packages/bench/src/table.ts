import type { ModelAccount } from './accounting.js';
import { formatBytes, formatCount, formatDiff, formatMs, formatRatio } from './format.js';
import { INT8_ALIGN, int8Context, int8LayerRows, int8Rows } from './int8-table.js';
import type { BenchReport } from './report.js';

export type Align = 'left' | 'right';

/**
 * A plain-text table: columns padded to their widest cell, a dashed rule under
 * the first row. `align` per column (default: first left, the rest right).
 */
export function formatTable(
  rows: readonly (readonly string[])[],
  align?: readonly Align[],
): string {
  if (rows.length === 0) return '';
  const cols = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, c) =>
    Math.max(...rows.map((r) => (r[c] ?? '').length)),
  );
  const alignOf = (c: number): Align => align?.[c] ?? (c === 0 ? 'left' : 'right');
  const line = (r: readonly string[]) =>
    widths
      .map((w, c) => {
        const cell = r[c] ?? '';
        return alignOf(c) === 'left' ? cell.padEnd(w) : cell.padStart(w);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
}

const acc = (a: number | null) => (a === null ? 'n/a' : a.toFixed(3));

/** The metric rows of a report: [metric, train form, deploy form, train form / deploy form]. */
export function reportRows(report: BenchReport): string[][] {
  const o = report.train;
  const r = report.deploy;
  const b = report.batch;
  return [
    ['metric', 'train form', 'deploy form', 'ratio'],
    ['top-1 accuracy', acc(o.accuracy), acc(r.accuracy), ''],
    [
      `median ms / batch of ${b}`,
      formatMs(o.medianInferenceMs),
      formatMs(r.medianInferenceMs),
      formatRatio(o.medianInferenceMs, r.medianInferenceMs),
    ],
    [
      `mean ms / batch of ${b}`,
      formatMs(o.meanInferenceMs),
      formatMs(r.meanInferenceMs),
      formatRatio(o.meanInferenceMs, r.meanInferenceMs),
    ],
    [
      'p10-p90 ms',
      `${formatMs(o.p10Ms)}-${formatMs(o.p90Ms)}`,
      `${formatMs(r.p10Ms)}-${formatMs(r.p90Ms)}`,
      '',
    ],
    ['params', formatCount(o.params), formatCount(r.params), formatRatio(o.params, r.params)],
    ['FLOPs / image', formatCount(o.flops), formatCount(r.flops), formatRatio(o.flops, r.flops)],
    ['MAC / image', formatBytes(o.mac), formatBytes(r.mac), formatRatio(o.mac, r.mac)],
    ['layers', String(o.layers), String(r.layers), formatRatio(o.layers, r.layers)],
  ];
}

const threadsText = (t: number | null) => (t === null ? 'backend' : String(t));

/**
 * The per-runtime rows of a report (empty without `report.runtimes`): one row
 * group per runtime and thread count, a row per form, version and threads on
 * the group's first row, the speed-up on its second.
 */
export function runtimeRows(report: BenchReport): string[][] {
  const groups = report.runtimes ?? [];
  if (groups.length === 0) return [];
  const rows = [
    [
      'runtime',
      'version',
      'backend / EP',
      'threads',
      'form',
      `median ms / batch of ${report.batch}`,
      'p10-p90 ms',
      'mean ms',
      'speed-up',
      'max |diff| vs TF.js (relative)',
    ],
  ];
  for (const g of groups) {
    for (const [i, form] of (['train', 'deploy'] as const).entries()) {
      const t = g[form];
      rows.push([
        i === 0 ? g.runtime : '',
        i === 0 ? g.version : '',
        i === 0 ? g.backend : '',
        i === 0 ? threadsText(g.threads) : '',
        `${form} form`,
        formatMs(t.median),
        `${formatMs(t.p10)}-${formatMs(t.p90)}`,
        formatMs(t.mean),
        i === 1 ? `${g.speedup.toFixed(2)}x` : '',
        i === 1
          ? g.runtime === 'tfjs'
            ? '(reference)'
            : `${formatDiff(g.maxAbsLogitDiff)} (${formatDiff(g.maxRelLogitDiff)})`
          : '',
      ]);
    }
  }
  return rows;
}

/** Where each runtime group's thread count came from, one line per group. */
export function runtimeNotes(report: BenchReport): string[] {
  return (report.runtimes ?? []).map(
    (g) =>
      `${g.runtime} ${g.version} (${g.backend}), threads ${threadsText(g.threads)}: ${g.threadsNote}`,
  );
}

const RUNTIME_ALIGN: Align[] = ['left', 'left', 'left', 'right', 'left'];

/** The one-line context of a report: what ran where. */
export function reportContext(report: BenchReport): string {
  const m = report.machine;
  return `${report.model} on ${report.dataset}, backend ${report.backend}, batch ${report.batch}; ${m.cpu} (${m.cores} cores), Node ${m.node}, ${m.platform}`;
}

/** The equivalence line of a report. */
export function reportEquivalence(report: BenchReport): string {
  return `logits: max |diff| ${formatDiff(report.maxAbsLogitDiff)}, mean |diff| ${formatDiff(report.meanAbsLogitDiff)}, top-1 agreement ${(report.top1Agreement * 100).toFixed(1)}%`;
}

/** Layers with the lowest SQNR in the terminal table (all of them in Markdown and JSON). */
const WORST_LAYERS = 3;

/** The int8 part of the terminal table: float32 vs int8 per runtime, the worst layers, the notes. */
function int8Block(report: BenchReport): string[] {
  const q = report.int8;
  if (!q) return [];
  const worst = Math.min(WORST_LAYERS, q.layers.length);
  return [
    `${int8Context(q)}:`,
    formatTable(int8Rows(report), INT8_ALIGN),
    ...(worst > 0
      ? [
          `lowest SQNR, ${worst} of ${q.layers.length} int8 layers (all in the JSON and Markdown report):`,
          formatTable(int8LayerRows(q, worst), ['left', 'left']),
        ]
      : []),
    ...q.skipped.map((s) => `float: ${s.layer}: ${s.why}`),
    ...q.notes,
  ];
}

/** The report for a terminal: context, the metric table, speed-up and equivalence. */
export function reportTable(report: BenchReport): string {
  return [
    reportContext(report),
    formatTable(reportRows(report)),
    `speed-up (median train form / median deploy form): ${report.speedup.toFixed(2)}x`,
    reportEquivalence(report),
    ...(report.runtimes?.length
      ? [
          'runtimes (same input, each runtime timed interleaved in this process):',
          formatTable(runtimeRows(report), RUNTIME_ALIGN),
          ...runtimeNotes(report),
        ]
      : []),
    ...int8Block(report),
  ].join('\n');
}

/** Per-layer costs of one model and the total, for a terminal. */
export function accountTable(account: ModelAccount): string {
  const rows = [
    ['layer', 'class', 'output', 'params', 'MACs', 'MAC bytes', 'layers'],
    ...account.perLayer.map((l) => [
      l.name,
      l.className,
      l.outputShape.slice(1).join('x'),
      formatCount(l.params.total),
      formatCount(l.macs),
      formatBytes(l.memoryAccessBytes),
      String(l.layers),
    ]),
    [
      'total',
      '',
      `in ${account.inputShape.join('x')}`,
      formatCount(account.params.total),
      formatCount(account.macs),
      formatBytes(account.memoryAccessBytes),
      String(account.layers),
    ],
  ];
  return formatTable(rows, ['left', 'left', 'right', 'right', 'right', 'right', 'right']);
}
