import { readFileSync } from 'node:fs';

/** The x86 flags that give int8 convs a fused multiply-add of bytes into int32 (no int16 saturation). */
const VNNI_FLAGS = ['avx512_vnni', 'avx_vnni', 'amx_int8'] as const;

/** What this CPU offers int8 convs, as /proc/cpuinfo lists it. */
export interface CpuDotProduct {
  /** The integer dot-product flags found (empty: none). */
  readonly found: readonly string[];
  /** Whether AVX2 is there: ONNX Runtime's u8 x s8 path without VNNI. */
  readonly avx2: boolean;
  /** One sentence for a report or a terminal. */
  readonly note: string;
}

const readCpuinfo = () => readFileSync('/proc/cpuinfo', 'utf8');

/**
 * The feature flags of the first CPU in /proc/cpuinfo (Linux); null where
 * that file is absent or unreadable, empty where it lists none.
 */
export function cpuFlags(read: () => string = readCpuinfo): Set<string> | null {
  let text: string;
  try {
    text = read();
  } catch {
    return null;
  }
  return new Set(/^flags\s*:(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? []);
}

/**
 * Whether this CPU has integer dot-product instructions, read from
 * /proc/cpuinfo (Linux); null where that file is absent or unreadable. Said
 * next to int8 timings because they decide whether int8 can beat float32, and
 * before quantizing because without them 8-bit weights can saturate.
 */
export function cpuDotProduct(read?: () => string): CpuDotProduct | null {
  const flags = cpuFlags(read);
  if (flags === null || flags.size === 0) return null;
  const found = VNNI_FLAGS.filter((f) => flags.has(f));
  const avx2 = flags.has('avx2');
  const note =
    found.length > 0
      ? `CPU integer dot-product instructions: ${found.join(', ')} (ONNX Runtime's int8 convs use them)`
      : `CPU without integer dot-product instructions (no ${VNNI_FLAGS.join(' / ')} in /proc/cpuinfo${avx2 ? '; AVX2' : ''}): ONNX Runtime's int8 convs multiply u8 x s8 pairs that can saturate at int16 with 8-bit weights (reduceRange, 7-bit weights, avoids it)`;
  return { found, avx2, note };
}

/** {@link cpuDotProduct}'s sentence alone. */
export function cpuDotProductNote(read?: () => string): string | null {
  return cpuDotProduct(read)?.note ?? null;
}
