/**
 * Records of the published models, by any spelling of their names, and the
 * key tables built from them, checked against published parameter counts, timm's grouping rule and
 * the hand-written checkpoints of helpers/checkpoints.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  architecture,
  canonicalArchitectureName,
  PUBLISHED_ARCHITECTURES,
} from '../src/arch/index.js';
import { deployStateDictShapes, type LayoutName, trainStateDictShapes } from '../src/index.js';
import { tinyMobileOne, tinyRepVGG, trainCheckpoint } from './helpers/checkpoints.js';
import { rng } from './helpers/random.js';
import { mobileoneNet, repvggNet } from './helpers/records.js';

/** The record a checkpoint name means (`RepVGG-A0`, `mobileone_s0.apple_in1k`, `s0`). */
const archConfig = (name: string) => architecture(canonicalArchitectureName(name));

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** Deploy-form parameters with a 1000-class linear head, in millions. */
function deployParams(name: string): number {
  const m = archConfig(name);
  const layout = m.family === 'repvgg' ? 'official-repvgg' : 'official-mobileone';
  let n = 0;
  for (const s of deployStateDictShapes(layout, m).values()) n += size(s);
  const features = m.blocks.at(-1)!.outChannels;
  return (n + features * 1000 + 1000) / 1e6;
}

describe('named architectures', () => {
  it.each([
    // Inference-time parameter counts as published: RepVGG (Ding et al. 2021,
    // Table 4) and MobileOne (Vasu et al. 2023, Table 8), in millions.
    ['repvgg_a0', 8.3],
    ['repvgg_a1', 12.78],
    ['repvgg_a2', 25.49],
    ['repvgg_b0', 14.33],
    ['repvgg_b1', 51.82],
    ['repvgg_b1g2', 41.36],
    ['repvgg_b1g4', 36.12],
    ['repvgg_b2', 80.31],
    ['repvgg_b2g4', 55.77],
    ['repvgg_b3', 110.96],
    ['repvgg_b3g4', 75.62],
    ['mobileone_s0', 2.1],
    ['mobileone_s1', 4.8],
    ['mobileone_s2', 7.8],
    ['mobileone_s3', 10.1],
    ['mobileone_s4', 14.8],
  ])('%s has %fM deploy parameters', (name, millions) => {
    expect(Math.abs(deployParams(name) - millions)).toBeLessThan(0.05);
  });

  it('groups the layers timm groups: every second block of a stage (g4 models)', () => {
    for (const name of ['repvgg_b1g4', 'repvgg_b2g4', 'repvgg_b3g4']) {
      const m = archConfig(name);
      for (const b of m.blocks) {
        // timm _rep_vgg_bcfg: group size chs // groups when (block_idx + 1) % 2 == 0.
        const timmGroups = b.stage > 0 && (b.index + 1) % 2 === 0 ? 4 : 1;
        expect(b.groups, `${name} ${b.stage}.${b.index}`).toBe(timmGroups);
      }
    }
  });

  it('has the stage strides, depths and branch counts of the sources', () => {
    const a0 = archConfig('RepVGG-A0');
    expect(a0.blocks.filter((b) => b.stride === 2).map((b) => `${b.stage}.${b.index}`)).toEqual([
      '0.0',
      '1.0',
      '2.0',
      '3.0',
      '4.0',
    ]);
    expect([1, 2, 3, 4].map((s) => a0.blocks.filter((b) => b.stage === s).length)).toEqual([
      2, 4, 14, 1,
    ]);
    expect(a0.blocks.at(-1)!.outChannels).toBe(1280);
    const s0 = archConfig('mobileone_s0.apple_in1k');
    expect(s0.blocks[0]!.branches.kxk).toBe(1);
    expect(s0.blocks.slice(1).every((b) => b.branches.kxk === 4)).toBe(true);
    expect(
      s0.blocks.filter((b) => b.kernelSize === 1).every((b) => !b.branches.scale && b.groups === 1),
    ).toBe(true);
    expect(
      s0.blocks
        .filter((b) => b.stage > 0 && b.kernelSize === 3)
        .every((b) => b.groups === b.inChannels),
    ).toBe(true);
    // use_se: last 5 units of stage 3 and the one unit of stage 4, both halves of each.
    const s4 = archConfig('MobileOne-S4');
    expect(s4.blocks.filter((b) => b.se !== 'none').map((b) => `${b.stage}.${b.index}`)).toEqual([
      ...[10, 11, 12, 13, 14, 15, 16, 17, 18, 19].map((i) => `3.${i}`),
      '4.0',
      '4.1',
    ]);
    expect(archConfig('repvgg_d2se').blocks.every((b) => b.se !== 'none')).toBe(true);
    expect(PUBLISHED_ARCHITECTURES).toHaveLength(19);
  });
});

describe('key tables', () => {
  const tinyRep = repvggNet('tiny', {
    stem: 8,
    stages: [
      { depth: 2, channels: 8 },
      { depth: 2, channels: 16 },
    ],
    groups: 2,
  });
  const tinyOne = mobileoneNet('tiny', {
    stem: 8,
    stages: [
      { depth: 2, channels: 8 },
      { depth: 1, channels: 16, seUnits: 1 },
    ],
    convBranches: 2,
  });

  it.each([
    ['timm-repvgg', tinyRep, tinyRepVGG({ groups: 2 })],
    ['official-repvgg', tinyRep, tinyRepVGG({ groups: 2 })],
  ] as const)(
    '%s: trainStateDictShapes matches a hand-written checkpoint',
    (layout, model, blocks) => {
      const ckpt = trainCheckpoint(layout, blocks, rng(1));
      const want = [...ckpt].filter(([k]) => !k.startsWith('head.') && !k.startsWith('linear.'));
      const got = trainStateDictShapes(layout as LayoutName, model, { withCounters: true });
      expect([...got.keys()]).toEqual(want.map(([k]) => k));
      for (const [k, t] of want) expect(got.get(k), k).toEqual(t.shape);
    },
  );

  it.each(['timm-mobileone', 'official-mobileone'] as const)(
    '%s: trainStateDictShapes matches a hand-written checkpoint (SE widths aside)',
    (layout) => {
      const ckpt = trainCheckpoint(layout, tinyMobileOne(), rng(1));
      const want = [...ckpt].filter(([k]) => !k.startsWith('head.') && !k.startsWith('linear.'));
      const got = trainStateDictShapes(layout, tinyOne, { withCounters: true });
      expect([...got.keys()]).toEqual(want.map(([k]) => k));
      for (const [k, t] of want) {
        // The test net picks its own SE widths; the table uses each source's rule.
        if (/\.(attn|se)\./.test(k)) continue;
        expect(got.get(k), k).toEqual(t.shape);
      }
    },
  );

  it('SE widths follow each source: C/16 officially, timm MobileOne rounds to a multiple of 8', () => {
    const s4 = archConfig('mobileone_s4');
    // For the named models both rules agree: 896 / 16 = 56.
    expect(
      trainStateDictShapes('official-mobileone', s4).get('stage3.10.se.reduce.weight'),
    ).toEqual([56, 896, 1, 1]);
    expect(trainStateDictShapes('timm-mobileone', s4).get('stages.2.10.attn.fc1.weight')).toEqual([
      56, 896, 1, 1,
    ]);
    // For 448 channels, int(448 * 0.0625) = 28 but make_divisible(28, 8) = 32.
    const m = mobileoneNet('se448', {
      stem: 64,
      stages: [{ depth: 1, channels: 448, seUnits: 1 }],
      convBranches: 1,
    });
    expect(trainStateDictShapes('official-mobileone', m).get('stage1.1.se.reduce.weight')).toEqual([
      28, 448, 1, 1,
    ]);
    expect(trainStateDictShapes('timm-mobileone', m).get('stages.0.1.attn.fc1.weight')).toEqual([
      32, 448, 1, 1,
    ]);
    const d2se = trainStateDictShapes('timm-repvgg', archConfig('repvgg_d2se'));
    expect(d2se.get('stem.attn.fc1.weight')).toEqual([4, 64, 1, 1]);
  });

  it('refuses a model of the other family', () => {
    expect(() => deployStateDictShapes('timm-repvgg', tinyOne)).toThrow(
      /'tiny' is a mobileone model, but layout 'timm-repvgg' holds repvgg blocks/,
    );
  });
});
