/**
 * What the checkpoint adapters say leads with the fix: a state dict saved from
 * (Distributed)DataParallel is read as timm reads it (the `module.` prefix
 * stripped, and said so in the result), a mismatch says first what would make
 * it fit, and long key lists are capped after that hint.
 */
import { describe, expect, it } from 'vitest';
import { fuseStateDict, parseStateDict, StateDictError, type StateTensor } from '../src/index.js';
import { tinyMobileOne, tinyRepVGG, trainCheckpoint } from './helpers/checkpoints.js';
import { publishedCheckpoint } from './helpers/published.js';
import { rng } from './helpers/random.js';
import { thrown } from './helpers/thrown.js';

const prefixed = (sd: ReadonlyMap<string, StateTensor>, prefix = 'module.') =>
  new Map([...sd].map(([k, t]) => [`${prefix}${k}`, t]));

describe('a state dict saved from DataParallel', () => {
  it.each([
    ['official-repvgg', () => trainCheckpoint('official-repvgg', tinyRepVGG(), rng(1))],
    ['timm-mobileone', () => trainCheckpoint('timm-mobileone', tinyMobileOne(), rng(2))],
  ] as const)('%s: is folded as without the prefix, which the result reports', (_, make) => {
    const plain = make();
    const ddp = prefixed(plain);
    const parsed = parseStateDict(ddp);
    expect(parsed.strippedPrefix).toEqual({ prefix: 'module.', keys: ddp.size });
    const folded = fuseStateDict(ddp);
    const reference = fuseStateDict(plain);
    expect(folded.strippedPrefix).toEqual({ prefix: 'module.', keys: ddp.size });
    // Written back as the unwrapped model names them, as timm's clean_state_dict does.
    expect([...folded.stateDict.keys()]).toEqual([...reference.stateDict.keys()]);
    for (const [k, t] of reference.stateDict) expect(folded.stateDict.get(k)!.data).toEqual(t.data);
    expect(reference.strippedPrefix).toBeUndefined();
  });

  it('keys with and without the prefix that would collide are refused naming both', () => {
    const plain = trainCheckpoint('official-repvgg', tinyRepVGG(), rng(1));
    const ddp = prefixed(plain);
    const [first] = plain.keys();
    ddp.set(first!, plain.get(first!)!);
    expect(thrown(() => parseStateDict(ddp)).message).toBe(
      `parseStateDict: argument 'stateDict' has both '${first}' and 'module.${first}': strip the DataParallel prefix 'module.' yourself, keeping the copy you mean`,
    );
  });
});

describe('a mismatch says first what would fit', () => {
  it('a published model under the wrong name: names the model the keys match', () => {
    const sd = publishedCheckpoint('official-repvgg', 'repvgg_a0');
    const e = thrown(() => parseStateDict(sd, { model: 'repvgg_a1' }));
    expect(e).toBeInstanceOf(StateDictError);
    expect(e.message).toMatch(
      /^parseStateDict: argument 'stateDict' does not match the official-repvgg layout of model 'repvgg_a1': its keys and shapes are those of 'repvgg_a0': pass that model \(or none, to detect it\)\. \d+ shape mismatches: /,
    );
  });

  it('a forced layout the keys are not in: names the layout they are in', () => {
    const sd = trainCheckpoint('timm-repvgg', tinyRepVGG(), rng(3));
    expect(thrown(() => parseStateDict(sd, { layout: 'official-repvgg' })).message).toMatch(
      /^parseStateDict: argument 'stateDict' does not match the official-repvgg layout: its keys are in the timm-repvgg layout: pass that layout \(or none, to detect it\)\. \d+ unexpected keys: /,
    );
  });

  it('long key lists are capped after the hint; the error keeps them all', () => {
    const sd = trainCheckpoint('timm-repvgg', tinyRepVGG(), rng(3));
    const e = thrown(() => parseStateDict(sd, { layout: 'official-repvgg' })) as StateDictError;
    expect(e.unexpected).toHaveLength(sd.size);
    const shown = [...sd.keys()].slice(0, 8).join(', ');
    expect(e.message).toContain(
      `${sd.size} unexpected keys: ${shown}, ... and ${sd.size - 8} more`,
    );
    // A short list is shown whole.
    const few = new Map(sd);
    few.set('aux.weight', sd.get('stem.conv_kxk.conv.weight')!);
    expect(thrown(() => parseStateDict(few)).message).toMatch(/1 unexpected key: aux\.weight$/);
  });
});
