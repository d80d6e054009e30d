/** Latency statistics: the nearest-rank percentiles the bench package also reports. */
import { describe, expect, it } from 'vitest';
import { formatMs, latencyStats, speedup } from '../src/stats';

describe('latencyStats', () => {
  it('takes the median and nearest-rank p10/p90 of 1..10', () => {
    const s = latencyStats([7, 3, 10, 1, 5, 2, 9, 4, 8, 6]);
    expect(s).toEqual({ runs: 10, median: 5.5, p10: 1, p90: 9 });
  });

  it('takes the middle value of an odd count, whatever the order', () => {
    expect(latencyStats([30, 10, 20]).median).toBe(20);
  });

  it('collapses to the one sample', () => {
    expect(latencyStats([4.2])).toEqual({ runs: 1, median: 4.2, p10: 4.2, p90: 4.2 });
  });

  it('is not moved by one outlier run (a GC pause)', () => {
    const runs = Array.from({ length: 20 }, (_, i) => 10 + (i % 3) * 0.1);
    const withPause = [...runs.slice(1), 500];
    expect(latencyStats(withPause).median).toBeCloseTo(latencyStats(runs).median, 1);
    expect(latencyStats(withPause).p90).toBeLessThan(11);
  });

  it('refuses no samples and non-numbers', () => {
    expect(() => latencyStats([])).toThrow(/no samples/);
    expect(() => latencyStats([1, Number.NaN])).toThrow(/not a finite number/);
  });
});

describe('speedup', () => {
  it('is the ratio of medians, above 1 when the deploy form is faster', () => {
    const train = latencyStats([10, 12, 14]);
    const deploy = latencyStats([4, 6, 8]);
    expect(speedup(train, deploy)).toBe(2);
    expect(speedup(deploy, train)).toBe(0.5);
  });
});

describe('formatMs', () => {
  it('keeps about three significant digits', () => {
    expect(formatMs(123.456)).toBe('123');
    expect(formatMs(12.345)).toBe('12.3');
    expect(formatMs(1.2345)).toBe('1.23');
    expect(formatMs(0.12345)).toBe('0.123');
  });
});
