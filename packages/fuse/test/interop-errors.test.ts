/**
 * Layout detection and the errors of the checkpoint adapters: every missing,
 * unexpected and mis-shaped key is reported by name, all in one error.
 */
import { describe, expect, it } from 'vitest';
import {
  architecture,
  detectLayout,
  fuseStateDict,
  type LayoutName,
  parseStateDict,
  StateDictError,
  trainStateDictShapes,
} from '../src/index.js';
import {
  type Checkpoint,
  tinyMobileOne,
  tinyRepVGG,
  trainCheckpoint,
} from './helpers/checkpoints.js';
import { rng } from './helpers/random.js';
import { repvggNet } from './helpers/records.js';
import { thrown } from './helpers/thrown.js';

function stateDictError(f: () => unknown): StateDictError {
  const e = thrown(f);
  expect(e).toBeInstanceOf(StateDictError);
  return e as StateDictError;
}

const repvgg = (layout: LayoutName, seed = 1) => trainCheckpoint(layout, tinyRepVGG(), rng(seed));
const without = (c: Checkpoint, ...keys: string[]) => {
  const out = new Map(c);
  for (const k of keys) out.delete(k);
  return out;
};

describe('detectLayout', () => {
  it.each([
    ['timm-repvgg', repvgg('timm-repvgg')],
    ['official-repvgg', repvgg('official-repvgg')],
    ['timm-mobileone', trainCheckpoint('timm-mobileone', tinyMobileOne(), rng(1))],
    ['official-mobileone', trainCheckpoint('official-mobileone', tinyMobileOne(), rng(1))],
  ] as const)('picks %s from train-form keys', (layout, ckpt) => {
    expect(detectLayout(ckpt.keys())).toBe(layout);
  });

  it('recognizes deploy-form checkpoints: official ones by key, timm ones by shape', () => {
    for (const layout of ['official-repvgg', 'official-mobileone'] as const) {
      const blocks = layout === 'official-repvgg' ? tinyRepVGG() : tinyMobileOne();
      const deploy = fuseStateDict(trainCheckpoint(layout, blocks, rng(2))).stateDict;
      expect(detectLayout(deploy.keys())).toBe(layout);
    }
    const timmRep = fuseStateDict(repvgg('timm-repvgg')).stateDict;
    const timmOne = fuseStateDict(
      trainCheckpoint('timm-mobileone', tinyMobileOne(), rng(2)),
    ).stateDict;
    // Both leave stem/stages.N.M.reparam_conv: the names alone cannot tell them apart...
    expect(detectLayout(timmRep.keys())).toBeNull();
    expect(detectLayout(timmOne.keys())).toBeNull();
    // ...but MobileOne has pointwise (1x1) blocks and RepVGG does not.
    expect(detectLayout(timmRep)).toBe('timm-repvgg');
    expect(detectLayout(timmOne)).toBe('timm-mobileone');
  });

  it('returns null for mixed layouts and foreign keys; sees through DataParallel prefixes', () => {
    const mixed = [...repvgg('timm-repvgg').keys(), 'stage1.0.rbr_dense.conv.weight'];
    expect(detectLayout(mixed)).toBeNull();
    expect(detectLayout(['layer1.0.conv1.weight', 'fc.weight'])).toBeNull();
    expect(detectLayout([])).toBeNull();
    const prefixed = new Map([...repvgg('official-repvgg')].map(([k, t]) => [`module.${k}`, t]));
    // The branch names still say which source it is...
    expect(detectLayout(prefixed.keys())).toBe('official-repvgg');
    // ...and fusing strips the prefix, as timm does, saying so in the result.
    expect(fuseStateDict(prefixed).strippedPrefix).toEqual({
      prefix: 'module.',
      keys: prefixed.size,
    });
  });

  it('says why when no layout matches', () => {
    const t = { shape: [1], data: new Float32Array(1) };
    expect(thrown(() => fuseStateDict(new Map([['layer1.0.conv1.weight', t]]))).message).toBe(
      "parseStateDict: argument 'stateDict' has no recognizable layout: no key names a branch of timm-repvgg, timm-mobileone, official-repvgg, official-mobileone, official-qarepvgg (first keys: layer1.0.conv1.weight)",
    );
  });

  it('says which keys point to which layout when they are mixed', () => {
    const c = repvgg('timm-repvgg');
    c.set('stage1.0.rbr_dense.conv.weight', c.get('stem.conv_kxk.conv.weight')!);
    const e = thrown(() => parseStateDict(c));
    expect(e.message).toContain(
      "mixes key layouts: timm-repvgg (e.g. 'stem.conv_kxk.conv.weight')",
    );
    expect(e.message).toContain("official-repvgg (e.g. 'stage1.0.rbr_dense.conv.weight')");
  });
});

describe('parseStateDict errors', () => {
  it('reports every missing key at once, across blocks', () => {
    const c = without(
      repvgg('official-repvgg'),
      'stage1.0.rbr_1x1.bn.running_var',
      'stage2.1.rbr_dense.conv.weight',
      'stage2.1.rbr_identity.weight',
    );
    const e = stateDictError(() => parseStateDict(c));
    expect(e.missing).toEqual([
      'stage1.0.rbr_1x1.bn.running_var',
      'stage2.1.rbr_identity.weight',
      'stage2.1.rbr_dense.conv.weight',
    ]);
    expect(e.message).toMatch(
      /^parseStateDict: argument 'stateDict' does not match the official-repvgg layout: 3 missing keys: /,
    );
  });

  it('reports unexpected keys inside blocks and at the top level, all of them', () => {
    const c = repvgg('timm-repvgg');
    const t = c.get('stem.conv_kxk.bn.bias')!;
    c.set('stages.0.1.conv_kxk.conv.bias', t);
    c.set('stages.1.0.attn.gate.weight', t);
    c.set('aux_head.weight', t);
    const e = stateDictError(() => parseStateDict(c));
    expect([...e.unexpected].sort()).toEqual(
      ['aux_head.weight', 'stages.0.1.conv_kxk.conv.bias', 'stages.1.0.attn.gate.weight'].sort(),
    );
    expect(e.missing).toEqual([]);
  });

  it('with strict: false, passes unknown keys through instead', () => {
    const c = repvgg('timm-repvgg');
    const t = c.get('stem.conv_kxk.bn.bias')!;
    c.set('stages.1.0.extra.scale', t);
    c.set('aux_head.weight', t);
    const { stateDict } = fuseStateDict(c, { strict: false });
    expect(stateDict.get('aux_head.weight')).toBe(t);
    expect(stateDict.get('stages.1.0.extra.scale')).toBe(t);
  });

  it('names the key and both shapes of a shape mismatch', () => {
    const c = repvgg('official-repvgg');
    const w = c.get('stage1.1.rbr_dense.conv.weight')!;
    c.set('stage1.1.rbr_1x1.conv.weight', w);
    c.set('stage2.0.rbr_dense.bn.running_mean', { shape: [15], data: new Float32Array(15) });
    const e = stateDictError(() => parseStateDict(c));
    expect(e.mismatched).toEqual([
      { key: 'stage1.1.rbr_1x1.conv.weight', shape: [8, 8, 3, 3], expected: [8, 8, 1, 1] },
      { key: 'stage2.0.rbr_dense.bn.running_mean', shape: [15], expected: [16] },
    ]);
    expect(e.message).toContain(
      'stage1.1.rbr_1x1.conv.weight is [8, 8, 3, 3], expected [8, 8, 1, 1]; stage2.0.rbr_dense.bn.running_mean is [15], expected [16]',
    );
  });

  it('against a model, lists the keys of whole missing blocks and of blocks the model lacks', () => {
    const model = repvggNet('tiny3', {
      stem: 8,
      stages: [
        { depth: 3, channels: 8 },
        { depth: 2, channels: 16 },
      ],
    });
    const e = stateDictError(() => parseStateDict(repvgg('official-repvgg'), { model }));
    // The checkpoint's stage1 has 2 blocks, the model 3: stage1.2 is missing (its 14 tensors,
    // counters not required), and stage2.0 then reads 8 channels as the model says.
    expect(e.missing.filter((k) => k.startsWith('stage1.2.'))).toHaveLength(14);
    expect(e.missing.every((k) => k.startsWith('stage1.2.'))).toBe(true);
    expect(e.message).toContain("does not match the official-repvgg layout of model 'tiny3'");
    const wider = repvggNet('one-stage', { stem: 8, stages: [{ depth: 2, channels: 8 }] });
    const e2 = stateDictError(() => parseStateDict(repvgg('official-repvgg'), { model: wider }));
    expect(e2.unexpected).toContain('stage2.0.rbr_dense.conv.weight');
    expect(e2.unexpected).toContain('stage2.1.rbr_identity.num_batches_tracked');
  });

  it('against a named model, a tiny checkpoint mismatches the real widths', () => {
    const e = stateDictError(() => parseStateDict(repvgg('timm-repvgg'), { model: 'repvgg_a0' }));
    expect(e.mismatched[0]).toEqual({
      key: 'stem.conv_kxk.conv.weight',
      shape: [8, 3, 3, 3],
      expected: [48, 3, 3, 3],
    });
    expect(e.missing).toContain('stages.3.0.conv_kxk.conv.weight');
  });

  it('explains a weight whose channels are no whole number of groups of its input', () => {
    const c = repvgg('official-repvgg');
    c.set('stage1.1.rbr_dense.conv.weight', { shape: [8, 3, 3, 3], data: new Float32Array(216) });
    c.set('stage1.1.rbr_1x1.conv.weight', { shape: [8, 3, 1, 1], data: new Float32Array(24) });
    const e = stateDictError(() => parseStateDict(c));
    expect(e.other[0]).toBe(
      "stage1.1.rbr_dense.conv.weight [8, 3, 3, 3] reads 3 channels per group, but the block's input has 8 (its identity branch): not a whole number of groups",
    );
  });

  it('refuses an identity branch whose input width differs from the block output', () => {
    const c = repvgg('official-repvgg');
    const from = trainCheckpoint('official-repvgg', tinyRepVGG(), rng(5));
    // stage1.0 now outputs 16 channels, but stage1.1 has identity with 8.
    c.set('stage1.0.rbr_dense.conv.weight', {
      shape: [16, 8, 3, 3],
      data: new Float32Array(16 * 72),
    });
    for (const k of [...from.keys()].filter(
      (k) => k.startsWith('stage1.0.') && !k.endsWith('conv.weight') && !k.endsWith('tracked'),
    )) {
      c.set(k, { shape: [16], data: new Float32Array(16).fill(1) });
    }
    c.set('stage1.0.rbr_1x1.conv.weight', { shape: [16, 8, 1, 1], data: new Float32Array(128) });
    const e = stateDictError(() => parseStateDict(c));
    expect(e.other).toContain(
      'stage1.1 has an identity branch, so its input must have its 8 output channels, but stage1.0 outputs 16',
    );
  });

  it('refuses integer data where a fold needs floats, and names the tensor', () => {
    const c = repvgg('official-repvgg');
    c.set('stage0.rbr_dense.bn.running_var', {
      shape: [8],
      data: new Float64Array(8).fill(1),
      dtype: 'I64',
    });
    const e = stateDictError(() => parseStateDict(c));
    expect(e.other).toEqual([
      'stage0.rbr_dense.bn.running_var holds integer data (I64), but a conv or BatchNorm tensor must be float',
    ]);
  });

  it('refuses a tensor whose data does not fill its shape, naming the key', () => {
    const c = repvgg('timm-repvgg');
    c.set('stem.conv_kxk.conv.weight', { shape: [8, 3, 3, 3], data: new Float32Array(10) });
    expect(thrown(() => parseStateDict(c)).message).toBe(
      "parseStateDict: argument 'stem.conv_kxk.conv.weight' has 10 elements, but its shape [8, 3, 3, 3] needs 216 (stem.conv_kxk.conv.weight [8, 3, 3, 3])",
    );
  });

  it('refuses a model of the other family, an unknown model and an unknown layout', () => {
    const c = repvgg('timm-repvgg');
    expect(thrown(() => parseStateDict(c, { model: 'mobileone_s0' })).message).toMatch(
      /'mobileone_s0' is a mobileone model, but layout 'timm-repvgg' holds repvgg blocks/,
    );
    expect(thrown(() => parseStateDict(c, { model: 'repvgg_z9' })).message).toMatch(
      /parseStateDict: argument 'options.model' is 'repvgg_z9', expected one of repvgg_a0, /,
    );
    expect(thrown(() => parseStateDict(c, { layout: 'keras' as LayoutName })).argument).toBe(
      'options.layout',
    );
    expect(thrown(() => parseStateDict(c, { eps: 0 })).argument).toBe('options.eps');
  });

  it('a zoo name no PyTorch source publishes is refused as ours, with what to pass instead', () => {
    const c = repvgg('timm-repvgg');
    // RepVGG chains of ours: the RepVGG layouts hold them, given their records.
    for (const name of ['repvgg_compact', 'simplenet']) {
      expect(thrown(() => parseStateDict(c, { model: name })).message).toMatch(
        new RegExp(
          `^parseStateDict: argument 'options.model' is '${name}', a RepNets architecture with no published PyTorch checkpoint: pass its record as options\\.model \\(architecture\\('${name}', options\\)`,
        ),
      );
    }
    // ShuffleNet: no layout holds its units at all.
    for (const name of ['repshufflenetv2_x0_5', 'RepShuffleNetV2-x1_0']) {
      expect(thrown(() => parseStateDict(c, { model: name })).message).toMatch(
        /a RepNets architecture with no published PyTorch checkpoint: none of the four PyTorch layouts .* holds its conv\+BN and linear blocks/,
      );
    }
  });

  it('a record is taken when its blocks fit a layout, and refused, naming it, when none holds them', () => {
    expect(trainStateDictShapes('timm-repvgg', architecture('simplenet')).size).toBeGreaterThan(0);
    const c = repvgg('timm-repvgg');
    expect(
      thrown(() => parseStateDict(c, { model: architecture('repshufflenetv2_x0_5') })).message,
    ).toBe(
      "parseStateDict: argument 'options.model' is the record of 'repshufflenetv2_x0_5', whose blocks none of the four PyTorch layouts holds: they hold RepVGG blocks or MobileOne blocks, all of one kind, a ReLU after each",
    );
    expect(thrown(() => trainStateDictShapes('timm-repvgg', 'repvgg_compact')).argument).toBe(
      'model',
    );
  });

  it('forcing the wrong layout reports every key as unexpected', () => {
    const c = repvgg('timm-repvgg');
    const e = stateDictError(() => parseStateDict(c, { layout: 'official-repvgg' }));
    expect(e.unexpected).toHaveLength(c.size);
  });

  it('MobileOne: a scale branch on a 1x1 block is unexpected; a missing one on a 3x3 block is missing', () => {
    const c = trainCheckpoint('official-mobileone', tinyMobileOne(), rng(6));
    const scale = [...c.keys()].filter((k) => k.startsWith('stage1.0.rbr_scale.'));
    for (const k of scale) c.set(k.replace('stage1.0.', 'stage1.1.'), c.get(k)!);
    const e = stateDictError(() => parseStateDict(without(c, 'stage1.2.rbr_scale.conv.weight')));
    expect(e.unexpected).toEqual(scale.map((k) => k.replace('stage1.0.', 'stage1.1.')));
    expect(e.missing).toEqual(['stage1.2.rbr_scale.conv.weight']);
  });

  it('a fold error (negative running variance) names the block', () => {
    const c = repvgg('official-repvgg');
    const v = new Float32Array(8).fill(1);
    v[3] = -1;
    c.set('stage1.1.rbr_identity.running_var', { shape: [8], data: v });
    const e = thrown(() => fuseStateDict(c));
    expect(e.message).toMatch(
      /^fuseStateDict: argument 'stage1.1' cannot be folded: foldRepVGGBlock: argument 'identity.variance' is negative \(-1\) at channel 3/,
    );
  });
});
