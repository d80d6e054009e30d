/**
 * A reusable barrier for the replica threads over one shared Int32Array, with
 * an abort flag the training thread raises when a replica fails: the others
 * are then waiting in Atomics.wait and must leave instead of waiting forever.
 */
const ABORT = 0;
const COUNT = 1;
const GENERATION = 2;
/** Int32 slots the control buffer needs. */
export const CONTROL_INTS = 3;

export class AbortedError extends Error {
  constructor() {
    super('aborted: another replica failed');
    this.name = 'AbortedError';
  }
}

export class Barrier {
  constructor(
    private readonly control: Int32Array,
    private readonly parties: number,
  ) {}

  /** Returns when all parties have arrived; throws AbortedError once the run is aborted. */
  arrive(): void {
    const c = this.control;
    if (Atomics.load(c, ABORT)) throw new AbortedError();
    const generation = Atomics.load(c, GENERATION);
    if (Atomics.add(c, COUNT, 1) === this.parties - 1) {
      Atomics.store(c, COUNT, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    for (;;) {
      if (Atomics.load(c, ABORT)) throw new AbortedError();
      if (Atomics.load(c, GENERATION) !== generation) return;
      Atomics.wait(c, GENERATION, generation, 250);
    }
  }
}

/** Wakes every waiting replica with the abort flag raised (training thread side). */
export function abortBarrier(control: Int32Array): void {
  Atomics.store(control, ABORT, 1);
  Atomics.notify(control, GENERATION);
}
