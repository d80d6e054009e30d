import { describe, expect, it } from 'vitest';
import { machineInfo, summarize } from '../src/measure.js';

describe('summarize', () => {
  it('gives the median, mean and nearest-rank percentiles of a sample, in any order', () => {
    expect(summarize([13, 11, 19, 10, 15, 12, 17, 14, 18, 16])).toEqual({
      median: 14.5,
      mean: 14.5,
      p10: 10,
      p90: 18,
      min: 10,
      max: 19,
    });
    expect(summarize([3, 1, 2])).toMatchObject({ median: 2, p10: 1, p90: 3 });
    expect(summarize([7])).toEqual({ median: 7, mean: 7, p10: 7, p90: 7, min: 7, max: 7 });
  });

  it('refuses an empty sample', () => {
    expect(() => summarize([])).toThrow(/summarize: no samples/);
  });
});

it('machineInfo names the cpu, core count, Node version and platform', () => {
  const m = machineInfo();
  expect(m.cores).toBeGreaterThan(0);
  expect(m.cpu).toBe(m.cpu.trim());
  expect(m.node).toBe(process.version);
  expect(m.platform).toBe(`${process.platform}-${process.arch}`);
});
