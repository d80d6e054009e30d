/**
 * Without `model`, parseStateDict checks a state dict against the records of
 * every published model of its family and reports the one it matches; only a
 * geometry that no record has falls back to inference.
 */
import { describe, expect, it } from 'vitest';
import { architecture, type LayoutName, parseStateDict } from '../src/index.js';
import { tinyRepVGG, trainCheckpoint } from './helpers/checkpoints.js';
import { publishedCheckpoint } from './helpers/published.js';
import { rng } from './helpers/random.js';

/** A train-form state dict of a named model with every tensor at 0.5, as a plain object. */
const published = (layout: LayoutName, name: string) =>
  Object.fromEntries(publishedCheckpoint(layout, name));

describe('parseStateDict without a model', () => {
  it.each([
    ['official-repvgg', 'repvgg_a0'],
    ['timm-repvgg', 'repvgg_b1g4'],
    ['official-mobileone', 'mobileone_s0'],
    ['timm-mobileone', 'mobileone_s4'],
  ] as const)('%s: a %s state dict is recognized as that model', (layout, name) => {
    const parsed = parseStateDict(published(layout, name), { layout, strict: false });
    expect(parsed.model?.name).toBe(name);
    expect(parsed.blocks.map((b) => b.stride)).toEqual(
      architecture(name).blocks.map((b) => b.stride),
    );
  });

  it('a geometry no record has is parsed by inference and names no model', () => {
    const sd = trainCheckpoint('official-repvgg', tinyRepVGG(), rng(1));
    const parsed = parseStateDict(sd as never, { layout: 'official-repvgg' });
    expect(parsed.model).toBeUndefined();
    expect(parsed.blocks.length).toBeGreaterThan(0);
  });
});
