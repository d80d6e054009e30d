/** Number formatting shared by the table, the Markdown report and the chart. */

/** 1234567 -> '1.23M': three significant digits, SI-style suffix (K, M, G, T). */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [scale, suffix] of units) {
    if (Math.abs(n) >= scale) return `${(n / scale).toPrecision(3)}${suffix}`;
  }
  return String(n);
}

/** Decimal byte units (1 MB = 10^6 bytes), three significant digits. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const units: [number, string][] = [
    [1e9, 'GB'],
    [1e6, 'MB'],
    [1e3, 'kB'],
  ];
  for (const [scale, suffix] of units) {
    if (Math.abs(n) >= scale) return `${(n / scale).toPrecision(3)} ${suffix}`;
  }
  return `${n} B`;
}

/** Milliseconds with three significant digits, at least one decimal. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  return ms >= 100 ? ms.toFixed(1) : ms.toPrecision(3);
}

/** a / b as '2.41x', or '-' when it has no meaning. */
export function formatRatio(a: number, b: number): string {
  return b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x` : '-';
}

/** A small difference in scientific notation: 1.2e-6. */
export function formatDiff(v: number): string {
  return Number.isFinite(v) ? v.toExponential(1) : String(v);
}
