/**
 * `@repnets/fuse/measure`: what a benchmark records beside its timings, the
 * percentile summary of a sample and the machine it ran on. @repnets/bench's
 * reports and the benchmark scripts of every package (fuse's own included) use
 * these; they live in fuse because it is the one package all of them depend
 * on: bench is published and cannot depend on the private devkit, and the
 * packages below bench cannot depend on bench.
 */
import { cpus } from 'node:os';

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
  // Every index below is clamped to [0, s.length - 1], and s is not empty.
  const at = (i: number) => s[Math.min(s.length - 1, Math.max(0, i))]!;
  const rank = (q: number) => at(Math.ceil(q * s.length) - 1);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? at(mid) : (at(mid - 1) + at(mid)) / 2;
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { median, mean, p10: rank(0.1), p90: rank(0.9), min: at(0), max: at(s.length - 1) };
}

/** The machine a measurement ran on. */
export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpu: c[0]?.model?.trim() || 'unknown',
    cores: c.length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}
