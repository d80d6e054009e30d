/** Examples [from, to) of a batch of `n` that replica `rank` of `workers` trains on: sizes differ by at most one, larger first. */
export function shardBounds(n: number, workers: number, rank: number): [number, number] {
  const base = Math.floor(n / workers);
  const extra = n % workers;
  const from = rank * base + Math.min(rank, extra);
  return [from, from + base + (rank < extra ? 1 : 0)];
}
