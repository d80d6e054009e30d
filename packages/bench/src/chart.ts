import type { TopLevelSpec } from 'vega-lite';
import { formatMs } from './format.js';
import type { BenchReport } from './report.js';

const FORMS = ['train', 'deploy'] as const;
/** The human labels of the forms on the chart's axes. */
const LABELS = ['train form', 'deploy form'] as const;
const COLORS = ['#8c8c8c', '#e4572e'];
const PANEL = { width: 240, height: 220 };

/**
 * The Vega-Lite spec of a report's chart: median latency per batch with
 * p10-p90 whiskers, and top-1 accuracy (left out without labels), one bar per
 * form. Everything inline: rendering needs no network or file access.
 */
export function chartSpec(report: BenchReport): TopLevelSpec {
  const rows = FORMS.map((form, i) => {
    const f = report[form];
    return {
      form: LABELS[i],
      median: f.medianInferenceMs,
      p10: f.p10Ms,
      p90: f.p90Ms,
      label: `${formatMs(f.medianInferenceMs)} ms`,
      accuracy: f.accuracy,
      accuracyLabel: f.accuracy === null ? 'n/a' : f.accuracy.toFixed(3),
    };
  });
  const x = {
    field: 'form',
    type: 'nominal' as const,
    sort: [...LABELS],
    title: null,
    axis: { labelAngle: 0 },
  };
  const color = {
    field: 'form',
    type: 'nominal' as const,
    scale: { domain: [...LABELS], range: [...COLORS] },
    legend: null,
  };
  const bar = { type: 'bar' as const, width: { band: 0.6 } };
  const label = { type: 'text' as const, dy: -8, fontSize: 12 };
  const labelled = rows.every((r) => r.accuracy !== null);
  const topMs = Math.max(...rows.map((r) => r.p90), Number.MIN_VALUE);
  const runtimeValues = (report.runtimes ?? []).flatMap((g) =>
    FORMS.map((form, i) => ({
      runtime: `${g.runtime === 'tfjs' ? `tfjs ${g.backend}` : 'ORT'}, ${g.threads === null ? 'default' : g.threads} thr`,
      form: LABELS[i],
      median: g[form].median,
    })),
  );
  const runtimePanel =
    runtimeValues.length > 0
      ? [
          {
            ...PANEL,
            width: Math.max(PANEL.width, 80 * (report.runtimes?.length ?? 0)),
            // The forms' colors as in the other panels (one shared scale, no legend).
            title: `Median ms per batch of ${report.batch}, by runtime (grey: train, red: deploy)`,
            data: { values: runtimeValues },
            mark: bar,
            encoding: {
              x: {
                field: 'runtime',
                type: 'nominal' as const,
                sort: null,
                title: null,
                axis: { labelAngle: 0 },
              },
              xOffset: { field: 'form', type: 'nominal' as const, sort: [...LABELS] },
              y: { field: 'median', type: 'quantitative' as const, title: 'median ms' },
              color,
            },
          },
        ]
      : [];
  return {
    title: {
      text: `${report.model} on ${report.dataset}: train form vs deploy form`,
      subtitle: `${report.backend}, batch ${report.batch}; speed-up ${report.speedup.toFixed(2)}x (median); top-1 agreement ${(report.top1Agreement * 100).toFixed(1)}%`,
      anchor: 'start',
    },
    data: { values: rows },
    hconcat: [
      {
        ...PANEL,
        title: `Latency, ms per batch of ${report.batch}`,
        layer: [
          {
            mark: bar,
            encoding: {
              x,
              y: {
                field: 'median',
                type: 'quantitative',
                title: 'median ms (line: p10-p90)',
                // Headroom for the value labels, so they stay inside the panel.
                scale: { domainMax: topMs * 1.15 },
              },
              color,
            },
          },
          {
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: { x, y: { field: 'p10', type: 'quantitative' }, y2: { field: 'p90' } },
          },
          {
            mark: label,
            encoding: { x, y: { field: 'p90', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
      ...(labelled
        ? [
            {
              ...PANEL,
              title: 'Top-1 accuracy',
              layer: [
                {
                  mark: bar,
                  encoding: {
                    x,
                    y: {
                      field: 'accuracy',
                      type: 'quantitative' as const,
                      title: 'accuracy',
                      scale: { domain: [0, 1.1] },
                      axis: { values: [0, 0.2, 0.4, 0.6, 0.8, 1] },
                    },
                    color,
                  },
                },
                {
                  mark: label,
                  encoding: {
                    x,
                    y: { field: 'accuracy', type: 'quantitative' as const },
                    text: { field: 'accuracyLabel' },
                  },
                },
              ],
            },
          ]
        : []),
      ...runtimePanel,
    ],
    background: 'white',
    padding: 12,
    config: { font: 'DejaVu Sans, Liberation Sans, Arial, sans-serif', view: { stroke: null } },
  };
}

/** The chart as an SVG document, rendered headless by Vega (no canvas, no browser). */
export async function renderChartSvg(report: BenchReport): Promise<string> {
  // Loaded on demand: accounting and timing should not pay for the plotting stack.
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vegaLite.compile(chartSpec(report)).spec), {
    renderer: 'none',
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface PngOptions {
  /** Pixels per SVG unit (default 2: a 2x image for sharp text). */
  readonly scale?: number;
}

/**
 * Rasterizes an SVG with sharp (librsvg inside its prebuilt libvips). Text is
 * drawn with the system's fonts through fontconfig: a machine without any
 * (a bare container) needs a font package, e.g. Debian's fonts-dejavu-core.
 */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Buffer> {
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 8))
    throw new Error(`svgToPng: scale must be in (0, 8], got ${scale}`);
  if (typeof svg !== 'string' || !svg.includes('<svg')) {
    throw new Error('svgToPng: svg must be an SVG document string');
  }
  const { default: sharp } = await import('sharp');
  // Vega sizes the SVG from estimated text widths (no canvas to measure with),
  // which leaves blank margins: trim them and put back an even white border.
  const margin = Math.round(12 * scale);
  const white = { r: 255, g: 255, b: 255, alpha: 1 };
  const trimmed = await sharp(Buffer.from(svg), { density: 72 * scale })
    .flatten({ background: white })
    .trim({ background: white })
    .toBuffer();
  return sharp(trimmed)
    .extend({ top: margin, bottom: margin, left: margin, right: margin, background: white })
    .png()
    .toBuffer();
}
