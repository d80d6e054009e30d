/** Error helpers shared by the datasets and the loader, so every message names what failed. */

/** The RangeError every dataset's `get` throws for an index outside [0, size). */
export function checkIndex(dataset: string, index: number, size: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= size) {
    throw new RangeError(
      `${dataset}: index ${index} is out of range; the dataset has ${size} examples (0..${size - 1})`,
    );
  }
}

/**
 * What the loader throws when reading or transforming one example fails: the
 * message names the dataset, the index and the batch, the original is the cause.
 */
export class DataLoadError extends Error {
  override readonly name = 'DataLoadError';
  constructor(
    message: string,
    readonly dataset: string,
    readonly index: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
