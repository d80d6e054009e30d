/**
 * The seeded streams of data order and augmentation, pinned: a checkpoint
 * resumes on them and a seed repeats a run only while they give these numbers.
 * @repnets/devkit's `rng` is the same mulberry32 for the tests of the packages
 * below train (neither may import the other); train's own tests use this one.
 */
import { rng } from '@repnets/devkit';
import { describe, expect, it } from 'vitest';
import { deriveRng, permutation, rngFromState } from '../src/random.js';

describe('random', () => {
  it('gives the same numbers at the same seed as always', () => {
    const a = rngFromState(0);
    expect([a.next(), a.next(), a.next()]).toEqual([
      0.26642920868471265, 0.0003297457005828619, 0.2232720274478197,
    ]);
    const b = rngFromState(12345);
    expect([b.next(), b.next()]).toEqual([0.9797282677609473, 0.3067522644996643]);
    const d = deriveRng(7, 2, 31);
    expect([d.state(), d.next()]).toEqual([700843832, 0.10998683306388557]);
    expect(Array.from(permutation(8, deriveRng(1)))).toEqual([1, 5, 2, 7, 4, 0, 6, 3]);
  });

  it("is devkit's test generator, number for number", () => {
    for (const seed of [0, 1, 12345, 0xffff_ffff]) {
      const ours = rngFromState(seed);
      const theirs = rng(seed);
      for (let i = 0; i < 100; i++) expect(ours.next()).toBe(theirs());
    }
  });
});
