/**
 * No tensor of a state dict holds a stride: the parse says where each came
 * from (the model asked for, the published record matched, or inferred with
 * the stem and each stage's first block assumed stride 2), and `stemStride`
 * states the stem's, for a network trained at 32 px with a stride-1 stem.
 */
import { describe, expect, it } from 'vitest';
import {
  FuseError,
  fuseStateDict,
  type LayoutName,
  parseStateDict,
  StateDictError,
  type StateTensor,
} from '../src/index.js';
import { tinyMobileOne, tinyRepVGG, trainCheckpoint } from './helpers/checkpoints.js';
import { publishedCheckpoint } from './helpers/published.js';
import { rng } from './helpers/random.js';
import { repvggNet } from './helpers/records.js';

const LAYOUTS: readonly LayoutName[] = [
  'timm-repvgg',
  'official-repvgg',
  'timm-mobileone',
  'official-mobileone',
];
const tiny = (layout: LayoutName) =>
  trainCheckpoint(layout, layout.endsWith('repvgg') ? tinyRepVGG() : tinyMobileOne(), rng(3));

/** A train-form state dict of a published model, every tensor 0.5, with a timm head. */
const published = (layout: LayoutName, name: string) =>
  publishedCheckpoint(layout, name).set('head.fc.weight', {
    shape: [10, 1280],
    data: new Float32Array(12800),
  });

describe('a state dict whose geometry no record has: strides inferred, and said to be', () => {
  it.each(LAYOUTS)('%s: the stem and each stage start are assumed stride 2', (layout) => {
    const sd = tiny(layout);
    for (const result of [parseStateDict(sd), fuseStateDict(sd)]) {
      expect(result.strides.from).toBe('inferred');
      expect(result.strides.stemStride).toBe(2);
      expect(result.strides.stemStrideFrom).toBe('assumed');
      // Exactly the blocks without an identity branch: with one, stride 1 is certain.
      const blocks = 'blocks' in result ? result.blocks : result.folded;
      const unsure = blocks.filter((b) =>
        [...b.sourceKeys].every((k) => !/\.(identity|rbr_identity|rbr_skip)\./.test(k)),
      );
      expect(result.strides.assumed).toEqual(
        unsure.map((b) => ({ name: b.name, stride: b.stride })),
      );
      expect(result.strides.assumed[0]).toEqual({ name: blocks[0]!.name, stride: 2 });
    }
  });

  it.each(LAYOUTS)('%s: stemStride 1 makes the stem stride 1 and nothing else', (layout) => {
    const sd = tiny(layout);
    const assumed = fuseStateDict(sd);
    const stated = fuseStateDict(sd, { stemStride: 1 });
    expect(stated.strides).toEqual({
      from: 'inferred',
      stemStride: 1,
      stemStrideFrom: 'option',
      assumed: assumed.strides.assumed.slice(1),
    });
    expect(stated.folded.map((b) => b.stride)).toEqual([
      1,
      ...assumed.folded.slice(1).map((b) => b.stride),
    ]);
    // The folded weights do not depend on strides; only the geometry does.
    expect(stated.stateDict).toEqual(assumed.stateDict);
    expect(parseStateDict(sd, { stemStride: 1 }).blocks[0]!.stride).toBe(1);
  });
});

describe('strides from a record', () => {
  it('a published model it matches: the record says, stemStride still states the stem', () => {
    const sd = published('timm-repvgg', 'repvgg_a0');
    const asPublished = parseStateDict(sd);
    expect(asPublished.strides).toEqual({
      from: 'published',
      stemStride: 2,
      stemStrideFrom: 'record',
      assumed: [],
    });
    const cifar = parseStateDict(sd, { stemStride: 1 });
    expect(cifar.model?.name).toBe('repvgg_a0');
    expect(cifar.strides).toMatchObject({
      from: 'published',
      stemStride: 1,
      stemStrideFrom: 'option',
    });
    expect(cifar.blocks.map((b) => b.stride)).toEqual([
      1,
      ...asPublished.blocks.slice(1).map((b) => b.stride),
    ]);
  });

  it('options.model, by name or as a record: its strides, stemStride overriding the stem', () => {
    const sd = published('official-repvgg', 'repvgg_a0');
    sd.delete('head.fc.weight');
    expect(parseStateDict(sd, { model: 'RepVGG-A0' }).strides).toEqual({
      from: 'model',
      stemStride: 2,
      stemStrideFrom: 'record',
      assumed: [],
    });
    const named = parseStateDict(sd, { model: 'repvgg_a0', stemStride: 1 });
    expect(named.blocks[0]!.stride).toBe(1);
    expect(named.strides.stemStrideFrom).toBe('option');
    // The record's stem stride is 2: stemStride states the one it was trained with.
    const config = repvggNet('tiny', { stem: 8, stages: [{ depth: 2, channels: 8 }] });
    const tinySd = trainCheckpoint('official-repvgg', tinyRepVGG().slice(0, 3), rng(4));
    const custom = parseStateDict(tinySd, { model: config, stemStride: 1 });
    expect(custom.blocks.map((b) => b.stride)).toEqual([1, 2, 1]);
    expect(custom.model?.blocks[0]?.stride).toBe(1);
  });

  it.each([0, 3, 1.5, -1, Number.NaN, '1'])('stemStride %s is refused, naming the option', (v) => {
    expect(() => parseStateDict(tiny('timm-repvgg'), { stemStride: v as never })).toThrow(
      FuseError,
    );
    expect(() => fuseStateDict(tiny('timm-repvgg'), { stemStride: v as never })).toThrow(
      /options\.stemStride.*expected 1 or 2/,
    );
  });
});

describe('a squeeze-excite of width 0 is named, key and shape', () => {
  /**
   * The official sources' SE widths: DingXiaoH's `c // 16`, apple's
   * `int(c * 0.0625)`, both 0 for the tiny networks' 8-channel blocks.
   */
  function officialSE(layout: LayoutName): Map<string, StateTensor> {
    const blocks = layout === 'official-repvgg' ? tinyRepVGG({ se: true }) : tinyMobileOne();
    const sd = trainCheckpoint(layout, blocks, rng(5));
    for (const key of [...sd.keys()]) {
      const m = /^(.*)\.se\.(down|up|reduce|expand)\.(weight|bias)$/.exec(key);
      if (m === null) continue;
      const down = m[2] === 'down' || m[2] === 'reduce';
      const upWeight = [...sd.keys()].find(
        (k) => k.startsWith(`${m[1]}.se.`) && /(up|expand)\.weight$/.test(k),
      )!;
      const c = sd.get(upWeight)!.shape[0]!;
      const r = Math.floor(c / 16);
      const shape = m[3] === 'bias' ? [down ? r : c] : down ? [r, c, 1, 1] : [c, r, 1, 1];
      sd.set(key, { shape, data: new Float32Array(shape.reduce((p, d) => p * d, 1)) });
    }
    return sd;
  }

  it.each([
    ['official-repvgg', 'stage0', 'down', 'up', /the same in stage1\.0, stage1\.1\b/],
    ['official-mobileone', 'stage2.0', 'reduce', 'expand', /holds an SE/],
  ] as const)(
    '%s: one StateDictError naming the empty keys with their shapes, not a kernel error',
    (layout, first, down, up, others) => {
      let error: unknown;
      try {
        fuseStateDict(officialSE(layout));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(StateDictError);
      const message = (error as Error).message;
      expect(message).not.toMatch(/makeKernel/);
      const q = (k: string) => k.replace(/\./g, '\\.');
      expect(message).toMatch(new RegExp(`${q(first)}\\.se\\.${down}\\.weight \\[0, 8, 1, 1\\]`));
      expect(message).toMatch(new RegExp(`${q(first)}\\.se\\.${up}\\.weight \\[8, 0, 1, 1\\]`));
      expect(message).toMatch(/squeeze-excite of width 0/);
      expect(message).toMatch(others);
      // The 16-channel blocks have a width-1 SE, which is fine: not named.
      expect(message).not.toMatch(
        /(stage2\.\d|stage2\.1)\.se\.(down|up|reduce|expand)\.weight \[1/,
      );
    },
  );
});
