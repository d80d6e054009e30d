import { expect } from 'vitest';

/** max |got - want| / max |want|; refuses non-finite logits and an all-zero reference. */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    expect(Number.isFinite(got[i]!), `logit ${i} is ${got[i]}`).toBe(true);
    diff = Math.max(diff, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  expect(scale, 'the reference logits are all zero').toBeGreaterThan(0);
  return diff / scale;
}

/** The largest |logit|. */
export function largestLogit(logits: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, Math.abs(logits[i]!));
  return m;
}
