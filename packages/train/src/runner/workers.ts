/**
 * How many replicas a run gets. Platform-free: the caller says how many cores
 * there are.
 */
import type { WorkersOption } from '../loop/train-options.js';

/** Backends whose replicas run on CPU cores: one per worker thread makes sense there. */
export const PARALLEL_BACKENDS = ['wasm', 'cpu'] as const;

/**
 * Fewest examples per shard 'auto' gives a replica: BatchNorm normalizes each
 * shard with its own statistics, which get noisy on tiny shards, and each
 * replica pays a fixed cost per step (weight packing, per-op overhead) that a
 * tiny shard does not amortize.
 */
export const MIN_AUTO_SHARD = 8;

/**
 * The replica count for a run. 'auto' is one per core on a CPU backend, as
 * long as every shard keeps MIN_AUTO_SHARD examples, and 1 elsewhere: a GPU
 * backend is one device, and tfjs-node already runs its ops on every core. An
 * explicit number that cannot work is an error naming why.
 */
export function resolveWorkers(
  option: WorkersOption | undefined,
  backend: string,
  batchSize: number,
  cores: number,
): { workers: number; note?: string } {
  const cpuBackend = (PARALLEL_BACKENDS as readonly string[]).includes(backend);
  if (option === undefined || option === 1) return { workers: 1 };
  if (option === 'auto') {
    if (!cpuBackend) {
      return { workers: 1, note: `workers: auto -> 1 on the '${backend}' backend (one device)` };
    }
    const workers = Math.max(1, Math.min(cores, Math.floor(batchSize / MIN_AUTO_SHARD)));
    return workers < cores
      ? {
          workers,
          note: `workers: auto -> ${workers} of ${cores} cores (batch ${batchSize}: at least ${MIN_AUTO_SHARD} examples per replica)`,
        }
      : { workers };
  }
  if (!Number.isInteger(option) || option < 1) {
    throw new Error(
      `train: workers must be a positive integer or 'auto', got ${JSON.stringify(option)}`,
    );
  }
  if (!cpuBackend) {
    throw new Error(
      `train: workers: ${option} needs a CPU backend (${PARALLEL_BACKENDS.join(' or ')}); the active backend is '${backend}' (train it with workers: 1)`,
    );
  }
  if (option > batchSize) {
    throw new Error(
      `train: workers: ${option} is more than the batch size ${batchSize}: some replicas would get no examples`,
    );
  }
  if (option > cores) {
    // Run, not refused: the worker count is part of what repeats a run bit for bit,
    // so a run trained with more workers than this machine has cores can still be
    // repeated or resumed here. It only costs time, said with what it cost when measured.
    return {
      workers: option,
      note: `workers: ${option} is more than the ${cores} cores here: the replicas take turns on them, so each step is slower than with ${cores} workers (measured: ${OVERSUBSCRIBED_COST}); keep it only to repeat a run trained with ${option} workers bit for bit`,
    };
  }
  return { workers: option };
}

/**
 * What twice as many workers as cores cost when measured: bench/workers.ts,
 * the MNIST recipe's model, batch 64, wasm, on the 2-core development machine
 * (2026-12-07, three runs under other load: 1.17x, 1.32x and 1.22x the time per image).
 */
export const OVERSUBSCRIBED_COST =
  'twice as many workers as cores took 1.2 to 1.3 times as long per image, bench/workers.ts';
