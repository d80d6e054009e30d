/**
 * Seeded randomness for data order and augmentation. Every stream is derived
 * from (seed, epoch, sample index) rather than drawn from one global generator,
 * so batches do not depend on prefetch timing or worker order, and a run resumed
 * at epoch k sees exactly the data an uninterrupted run would.
 *
 * The generator is mulberry32, as @repnets/devkit's `rng` (the test generator
 * of the packages below train): a published package may not depend on the
 * private devkit, nor devkit on a published package, so each keeps its copy;
 * train's own tests and benches use this one, and test/random.test.ts pins
 * that the two give the same numbers.
 */

/** A seeded generator of floats in [0, 1) with a few helpers. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** The generator's state (one uint32), enough to continue it with {@link rngFromState}. */
  state(): number;
}

/** A 32-bit integer hash (murmur3's finalizer) used to mix seeds and indices. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** mulberry32 continued from `state`. */
export function rngFromState(state: number): Rng {
  let a = state >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    chance: (p) => next() < p,
    state: () => a,
  };
}

/** The generator for one purpose: `deriveRng(seed, epoch, index)` and so on. */
export function deriveRng(...keys: number[]): Rng {
  let h = 0x9e3779b9;
  for (const k of keys) h = mix32(h ^ mix32(k >>> 0) ^ Math.floor(k / 4294967296));
  return rngFromState(h);
}

/** Fisher-Yates permutation of 0..n-1 under `rng`. */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
