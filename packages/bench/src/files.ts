import { join } from 'node:path';
import { writeFileAtomicSync } from '@repnets/fuse/node';
import { renderChartSvg, svgToPng } from './chart.js';
import { reportMarkdown } from './markdown.js';
import type { BenchReport } from './report.js';

/**
 * JSON with two-space indent and a final newline, written atomically (a temp
 * file beside it, fsync, rename: `writeFileAtomicSync` of `@repnets/fuse/node`),
 * so a killed run or a concurrent reader never sees half a report.
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomicSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

export interface ReportFiles {
  readonly json: string;
  readonly markdown: string;
  readonly svg: string;
  readonly png: string;
}

/**
 * Writes `<dir>/<name>.json`, `.md`, `.svg` and `.png` (the Markdown shows the
 * PNG), each atomically, and returns their paths.
 */
export async function writeReport(
  report: BenchReport,
  options: { dir: string; name: string; scale?: number },
): Promise<ReportFiles> {
  const { dir, name } = options;
  if (typeof dir !== 'string' || dir.length === 0) {
    throw new Error('writeReport: dir must be a directory path');
  }
  if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) {
    throw new Error(
      `writeReport: name must be a file name stem (letters, digits, _ . -), got '${name}'`,
    );
  }
  const files: ReportFiles = {
    json: join(dir, `${name}.json`),
    markdown: join(dir, `${name}.md`),
    svg: join(dir, `${name}.svg`),
    png: join(dir, `${name}.png`),
  };
  const svg = await renderChartSvg(report);
  const png = await svgToPng(svg, { scale: options.scale });
  writeJsonAtomic(files.json, report);
  writeFileAtomicSync(files.svg, svg);
  writeFileAtomicSync(files.png, png);
  writeFileAtomicSync(files.markdown, reportMarkdown(report, { chart: `${name}.png` }));
  return files;
}
