export interface Summary {
  readonly median: number;
  readonly mean: number;
  /** Nearest-rank 10th percentile. */
  readonly p10: number;
  /** Nearest-rank 90th percentile. */
  readonly p90: number;
  readonly min: number;
  readonly max: number;
}

/** Median, mean, nearest-rank p10/p90, min and max of a sample. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  const mid = s.length / 2;
  const median = s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { median, mean, p10: at(0.1), p90: at(0.9), min: s[0]!, max: s[s.length - 1]! };
}
