/**
 * Latency statistics as every RepNets benchmark reports them (median with the
 * 10th and 90th percentiles, nearest rank), so the page's numbers compare with
 * the bench package's.
 */

export interface LatencyStats {
  readonly runs: number;
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
}

export function latencyStats(samples: readonly number[]): LatencyStats {
  if (samples.length === 0) throw new Error('latencyStats: no samples');
  if (!samples.every(Number.isFinite))
    throw new Error('latencyStats: a sample is not a finite number');
  const s = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { runs: s.length, median, p10: rank(0.1), p90: rank(0.9) };
}

/** How many times faster the deploy form is (ratio of medians; > 1 means faster). */
export function speedup(train: LatencyStats, deploy: LatencyStats): number {
  return train.median / deploy.median;
}

/** Milliseconds with the precision a reader can use: 3 significant digits, at most 3 decimals. */
export function formatMs(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}
