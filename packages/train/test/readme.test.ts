/** The README's usage snippet is code: run it and check what it prints. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runReadmeSnippet } from '@repnets/devkit';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));

describe('README', () => {
  it('usage snippet runs and prints what its comments say', async () => {
    const { printed, expected } = await runReadmeSnippet(
      join(here, '..', 'README.md'),
      join(here, '.tmp'),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(printed).toEqual(expected);
  }, 120_000);
});
