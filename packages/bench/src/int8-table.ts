/** The int8 section of a report as rows and lines, for the terminal table and the Markdown. */
import { formatBytes, formatMs, formatRatio } from './format.js';
import { type Int8Layer, type Int8Report, layerWorstDb } from './int8.js';
import type { BenchReport } from './report.js';

const acc = (a: number | null | undefined) =>
  a === null || a === undefined ? 'n/a' : a.toFixed(3);
const dB = (v: number | null | undefined) =>
  v === undefined ? '-' : v === null ? 'exact' : v.toFixed(1);
const threadWord = (n: number) => `${n} thread${n === 1 ? '' : 's'}`;

/**
 * One row per form and runtime: ONNX Runtime float32 and int8 per thread
 * count (n/a latency where onnxruntime-node is absent), then the TF.js folders
 * with float32, float16 and uint8 weights, whose latency is the float32 deploy
 * form's (they are dequantized at load).
 */
export function int8Rows(report: BenchReport): string[][] {
  const q = report.int8;
  if (!q) return [];
  const a = q.accuracy;
  const rows = [
    [
      'runtime',
      'form',
      'threads',
      `median ms / batch of ${q.batch}`,
      'p10-p90 ms',
      'int8 speed-up',
      'size',
      'top-1',
    ],
  ];
  const ortName = q.onnxruntime ? `onnxruntime ${q.onnxruntime.version}` : 'onnxruntime';
  const onnxSize = { fp32: q.sizes.onnxFp32, int8: q.sizes.onnxInt8 };
  const onnxTop = { fp32: a?.onnxFp32, int8: a?.onnxInt8 };
  const label = { fp32: 'float32 .onnx', int8: 'int8 QDQ .onnx' };
  if (q.onnxruntime) {
    for (const r of q.onnxruntime.rows) {
      for (const form of ['fp32', 'int8'] as const) {
        const t = r[form];
        rows.push([
          form === 'fp32' ? ortName : '',
          label[form],
          String(r.threads),
          formatMs(t.median),
          `${formatMs(t.p10)}-${formatMs(t.p90)}`,
          form === 'int8' ? formatRatio(r.fp32.median, r.int8.median) : '',
          formatBytes(onnxSize[form]),
          acc(onnxTop[form]),
        ]);
      }
    }
  } else {
    for (const form of ['fp32', 'int8'] as const) {
      rows.push([
        form === 'fp32' ? `${ortName} (not installed)` : '',
        label[form],
        '-',
        'n/a',
        'n/a',
        '',
        formatBytes(onnxSize[form]),
        'n/a',
      ]);
    }
  }
  const tfjs = [
    ['float32', q.sizes.tfjsFloat32, a?.tfjsFloat32],
    ['float16', q.sizes.tfjsFloat16, a?.tfjsFloat16],
    ['uint8', q.sizes.tfjsUint8, a?.tfjsUint8],
  ] as const;
  for (const [k, [dtype, bytes, top]] of tfjs.entries()) {
    const d = report.deploy;
    rows.push([
      k === 0 ? `tfjs (${report.backend})` : '',
      `${dtype} weights`,
      '',
      k === 0 ? formatMs(d.medianInferenceMs) : '= float32',
      k === 0 ? `${formatMs(d.p10Ms)}-${formatMs(d.p90Ms)}` : '',
      '',
      formatBytes(bytes),
      acc(top),
    ]);
  }
  return rows;
}

export const INT8_ALIGN = [
  'left',
  'left',
  'right',
  'right',
  'right',
  'right',
  'right',
  'right',
] as const;

/** The int8 layers, worst (lowest SQNR) first; `limit` of them (default all). */
export function int8LayerRows(q: Int8Report, limit?: number): string[][] {
  const worst = [...q.layers].sort((x, y) => layerWorstDb(x) - layerWorstDb(y));
  const shown: Int8Layer[] = limit === undefined ? worst : worst.slice(0, limit);
  return [
    ['layer', 'op', 'weight SQNR dB', 'input SQNR dB', 'output SQNR dB'],
    ...shown.map((l) => [l.layer, l.op, dB(l.weightSqnrDb), dB(l.inputSqnrDb), dB(l.outputSqnrDb)]),
  ];
}

/** What the int8 export was: method, calibration, layers quantized and left float. */
export function int8Context(q: Int8Report): string {
  return `int8: weights per channel${q.reduceRange ? ' (7-bit, reduce range)' : ''}, activations ${q.method} on ${q.calibrationImages} calibration images; ${q.layers.length} layers int8, ${q.skipped.length} float`;
}

/**
 * float32 against int8 in two lines: top-1 (and agreement), file sizes and
 * ONNX Runtime latency per thread count; then the TF.js weight files.
 */
export function int8SummaryLines(q: Int8Report): [string, string] {
  const a = q.accuracy;
  const parts: string[] = [];
  if (a?.onnxFp32 != null) parts.push(`top-1 fp32 ${acc(a.onnxFp32)} -> int8 ${acc(a.onnxInt8)}`);
  if (a?.int8Agreement != null) {
    parts.push(
      `int8 top-1 = fp32 top-1 on ${Math.round(a.int8Agreement * a.images)} of ${a.images} images`,
    );
  }
  parts.push(
    `.onnx ${formatBytes(q.sizes.onnxFp32)} -> ${formatBytes(q.sizes.onnxInt8)} (${formatRatio(q.sizes.onnxFp32, q.sizes.onnxInt8)} smaller)`,
  );
  if (q.onnxruntime) {
    for (const r of q.onnxruntime.rows) {
      parts.push(
        `ORT ${threadWord(r.threads)} ${formatMs(r.fp32.median)} -> ${formatMs(r.int8.median)} ms (${formatRatio(r.fp32.median, r.int8.median)})`,
      );
    }
  } else parts.push('ORT latency skipped (onnxruntime-node not installed)');
  const s = q.sizes;
  const tfjs = `TF.js weights float32 ${formatBytes(s.tfjsFloat32)} (top-1 ${acc(a?.tfjsFloat32)}), float16 ${formatBytes(s.tfjsFloat16)} (${acc(a?.tfjsFloat16)}), uint8 ${formatBytes(s.tfjsUint8)} (${acc(a?.tfjsUint8)}); dequantized at load, so float32 speed`;
  return [`fp32 vs int8: ${parts.join(' | ')}`, tfjs];
}
