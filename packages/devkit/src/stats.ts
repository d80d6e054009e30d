import { cpus } from 'node:os';

export interface Summary {
  readonly median: number;
  readonly p10: number;
  readonly p90: number;
}

/** Median and 10th/90th percentiles (nearest rank) of a sample. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  const mid = s.length / 2;
  const median = s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, p10: at(0.1), p90: at(0.9) };
}

export function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/**
 * A bench report as JSON text: two-space indent and a final newline. Write it
 * with `writeFileAtomicSync` of `@repnets/fuse/node` (the one atomic writer;
 * devkit cannot depend on @repnets/fuse, whose tests depend on devkit).
 */
export function reportJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
