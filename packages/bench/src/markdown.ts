import type { BenchReport } from './report.js';
import { summaryLines } from './report.js';
import {
  reportContext,
  reportEquivalence,
  reportRows,
  runtimeNotes,
  runtimeRows,
} from './table.js';

export interface MarkdownOptions {
  /** Path of the chart image relative to the Markdown file, e.g. 'mnist.png'. */
  readonly chart?: string;
}

const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');

/**
 * The report as Markdown: context, the metric table, speed-up, equivalence, the
 * original PyTorch project's two summary lines (with their units, in its words:
 * see summaryLines) and the chart.
 */
function markdownTable(all: string[][], leftColumns = 1): string[] {
  const [head, ...rows] = all;
  return [
    `| ${head!.map(escapeCell).join(' | ')} |`,
    `|${head!.map((_, c) => (c < leftColumns ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`),
  ];
}

export function reportMarkdown(report: BenchReport, options: MarkdownOptions = {}): string {
  const table = markdownTable(reportRows(report));
  const runtimes = report.runtimes?.length
    ? [
        '## Runtimes',
        '',
        'Both forms on each runtime, on the same input batch, each runtime timed interleaved in this',
        'process; max |diff| is against the TF.js logits of the same form.',
        '',
        ...markdownTable(runtimeRows(report), 3),
        '',
        ...runtimeNotes(report).map((n) => `- ${n}`),
        '',
      ]
    : [];
  const [trainLine, deployLine] = summaryLines(report);
  return [
    `# ${report.model}: train form vs deploy form`,
    '',
    `${reportContext(report)}.`,
    '',
    ...table,
    '',
    `Speed-up (median train form / median deploy form latency): **${report.speedup.toFixed(2)}x**.`,
    `Equivalence, ${reportEquivalence(report)}.`,
    '',
    'FLOPs are 2 x the multiply-accumulates of conv and dense ops per image (BatchNorm, adds,',
    'activations and pooling count 0). MAC is the memory access cost per image in the ShuffleNetV2',
    'sense: bytes of weights, input activations read and outputs written by every op (float32);',
    'layers counts the conv, dense and BatchNorm ops executed. Params include BN running statistics.',
    '',
    ...runtimes,
    '## Summary',
    '',
    `Accuracy is a fraction; mean inference time is in seconds per batch of ${report.batch}.`,
    '',
    '```',
    // 'Final Original/Reparameterized Accuracy': the PyTorch project's words, kept verbatim.
    trainLine,
    deployLine,
    '```',
    ...(options.chart ? ['', `![train form vs deploy form](${options.chart})`] : []),
    '',
  ].join('\n');
}
