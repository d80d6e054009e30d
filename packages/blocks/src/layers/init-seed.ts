/**
 * Seeded initial weights. TF.js initializers take a seed each; a model has
 * dozens of them, so a build scope hands out one per weight in creation order
 * (which is fixed for a given architecture). Outside a scope the initializers
 * are unseeded, as TF.js's own.
 */
import * as tf from '@tensorflow/tfjs';

let scope: { seed: number; count: number } | null = null;

/** Runs `build` with every RepNets initializer seeded from `seed` (no-op for undefined). */
export function withInitSeed<T>(seed: number | undefined, build: () => T): T {
  if (seed === undefined) return build();
  if (!Number.isInteger(seed) || seed < 0)
    throw new Error(`seed must be an integer >= 0, got ${seed}`);
  const outer = scope;
  scope = { seed, count: 0 };
  try {
    return build();
  } finally {
    scope = outer;
  }
}

function nextSeed(): { seed?: number } {
  if (!scope) return {};
  scope.count++;
  // Distinct, reproducible per (seed, weight index); seedrandom hashes the number's text.
  return { seed: scope.seed * 100_003 + scope.count };
}

let zeroInit = false;

/**
 * Runs `build` with every RepNets initializer giving zeros: for a model whose
 * weights are all set right after (a checkpoint import), where drawing random
 * numbers first is most of the build (14 s of RepVGG-B3's).
 */
export function withZeroInit<T>(build: () => T): T {
  const outer = zeroInit;
  zeroInit = true;
  try {
    return build();
  } finally {
    zeroInit = outer;
  }
}

type Initializer = ReturnType<typeof tf.initializers.zeros>;

export const heNormal = (): Initializer =>
  zeroInit ? tf.initializers.zeros() : tf.initializers.heNormal(nextSeed());
export const glorotUniform = (): Initializer =>
  zeroInit ? tf.initializers.zeros() : tf.initializers.glorotUniform(nextSeed());
