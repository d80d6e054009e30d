/**
 * Every place the CLI names models reads the one list, @repnets/fuse's
 * `ARCHITECTURES` (`listModels()` of @repnets/blocks): `repnets models` lists
 * exactly it, in its order, and `train --model` accepts exactly it.
 */
import { ARCHITECTURES } from '@repnets/fuse';
import { describe, expect, it } from 'vitest';
import { repnets } from './helpers/cli.js';

describe('model names come from the architecture records', () => {
  it('repnets models --json lists every architecture, in the records order', async () => {
    const r = await repnets('models', '--json');
    expect(r.code, r.err).toBe(0);
    const names = (JSON.parse(r.out) as { name: string }[]).map((m) => m.name);
    expect(names).toEqual([...ARCHITECTURES]);
  });

  it('train --model refuses a name the records do not have, listing theirs', async () => {
    const r = await repnets('train', '--model', 'repvgg_z9');
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `train: --model must be one of ${ARCHITECTURES.join(', ')}; got 'repvgg_z9'`,
    );
  });
});
