import { int8Context, int8LayerRows, int8Rows, int8SummaryLines } from './int8-table.js';
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
  const q = report.int8;
  const int8 = q
    ? [
        '## float32 vs int8',
        '',
        `${int8Context(q)}. ONNX Runtime timed both .onnx files interleaved in this process on the`,
        'same input; top-1 is on the same images for every form; TF.js sizes are of weights.bin.',
        '',
        ...markdownTable(int8Rows(report), 2),
        '',
        ...int8SummaryLines(q).map((l) => `- ${l}`),
        ...q.skipped.map((s) => `- float: ${s.layer}: ${s.why}`),
        ...q.notes.map((n) => `- ${n}`),
        '',
        '### Quantization error per layer (lowest SQNR first)',
        '',
        'SQNR of the int8 weights against the float ones, and of the uint8 input and output',
        'activations on the calibration set; exact: no error.',
        '',
        ...markdownTable(int8LayerRows(q), 2),
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
    ...int8,
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
