/**
 * The official QARepVGG layout (cxxgtxy/QARepVGG `repvgg.py`, its default
 * `QARepVGGBlockV2` in the RepVGG skeleton): a tiny checkpoint spelled by hand
 * (./helpers/checkpoints.ts) is detected, parsed, folded and checked against a
 * float64 forward of its train-form blocks, `bn(bn3(conv3(x)) + conv1(x) + x)`;
 * its key table, deploy form, model matching and refusals.
 */
import { describe, expect, it } from 'vitest';
import {
  architecture,
  deployStateDictShapes,
  detectLayout,
  fuseStateDict,
  type LayoutName,
  type NetworkRecord,
  parseStateDict,
  type StateTensor,
  stateDictKeys,
  trainStateDictShapes,
} from '../src/index.js';
import {
  blockPath,
  bnOf,
  type Checkpoint,
  deployConv,
  kernelOf,
  type TinyBlock,
  tinyRepVGG,
  trainCheckpoint,
} from './helpers/checkpoints.js';
import { randomInput, rng } from './helpers/random.js';
import { repvggNet } from './helpers/records.js';
import {
  add,
  batchNorm,
  conv2d,
  relativeError,
  samePad,
  type Tensor3,
} from './helpers/reference.js';

const LAYOUT: LayoutName = 'official-qarepvgg';
/** QARepVGGBlockV2's train form before its ReLU, straight from the checkpoint's keys. */
function trainForm(ckpt: Checkpoint, b: TinyBlock, x: Tensor3): Tensor3 {
  const p = b.official;
  const opts = { stride: b.stride, groups: b.groups };
  const dense = batchNorm(
    conv2d(x, kernelOf(ckpt.get(`${p}.rbr_dense.conv.weight`)!), {
      ...opts,
      pad: samePad(b.k, b.k),
    }),
    bnOf(ckpt, `${p}.rbr_dense.bn`),
  );
  const one = conv2d(x, kernelOf(ckpt.get(`${p}.rbr_1x1.weight`)!), opts);
  const sum = b.identity ? add(dense, one, x) : add(dense, one);
  return batchNorm(sum, bnOf(ckpt, `${p}.bn`));
}

function deployForm(sd: ReadonlyMap<string, StateTensor>, b: TinyBlock, x: Tensor3): Tensor3 {
  const p = deployConv(LAYOUT, b);
  return conv2d(
    x,
    kernelOf(sd.get(`${p}.weight`)!),
    { stride: b.stride, groups: b.groups, pad: samePad(b.k, b.k) },
    sd.get(`${p}.bias`)!.data as Float32Array,
  );
}

/** The tiny RepVGG of ./helpers/checkpoints.ts with QARepVGG blocks. */
function tinyQA(name: string, groups: number): NetworkRecord {
  const r = repvggNet(name, {
    stem: 8,
    stages: [
      { depth: 2, channels: 8 },
      { depth: 2, channels: 16 },
    ],
    groups,
  });
  return { ...r, family: 'qarepvgg', blocks: r.blocks.map((b) => ({ ...b, kind: 'qarepvgg' })) };
}

describe.each([
  ['plain', 1],
  ['groups 2', 2],
] as const)('official-qarepvgg, %s', (_name, groups) => {
  const blocks = tinyRepVGG({ groups });
  const ckpt = trainCheckpoint(LAYOUT, blocks, rng(41 + groups));

  it('detects the layout from the keys', () => {
    expect(detectLayout(ckpt.keys())).toBe(LAYOUT);
    expect(detectLayout(ckpt)).toBe(LAYOUT);
  });

  it('infers every block geometry, identity included, without a model', () => {
    const parsed = parseStateDict(ckpt);
    expect(parsed.family).toBe('qarepvgg');
    expect(
      parsed.blocks.map((b) => [b.name, b.inChannels, b.outChannels, b.stride, b.groups, b.kind]),
    ).toEqual(
      blocks.map((b) => [b.official, b.cin, b.cout, b.stride, b.groups, 'qarepvgg' as const]),
    );
    expect(
      parsed.blocks.map((b) => (b.kind === 'qarepvgg' ? b.params.identity : undefined)),
    ).toEqual(blocks.map((b) => b.identity));
    // No tensor shows a QARepVGG identity: every stride was inferred.
    expect(parsed.strides.from).toBe('inferred');
    expect(parsed.strides.assumed.map((a) => a.name)).toEqual(blocks.map((b) => b.official));
  });

  it('each deploy conv computes what the train-form block computes (float64 reference)', () => {
    const { stateDict, folded } = fuseStateDict(ckpt);
    expect(folded.every((f) => f.from === 'qarepvgg')).toBe(true);
    const r = rng(7);
    for (const b of blocks) {
      const x = randomInput(r, b.cin, 7, 6);
      const err = relativeError(deployForm(stateDict, b, x), trainForm(ckpt, b, x));
      expect(err, b.official).toBeLessThan(1e-5);
    }
  });

  it("writes cxxgtxy/QARepVGG's deploy keys (rbr_reparam), each where its block began", () => {
    const { stateDict } = fuseStateDict(ckpt);
    expect([...stateDict.keys()]).toEqual([
      ...blocks.flatMap((b) => [
        `${deployConv(LAYOUT, b)}.weight`,
        `${deployConv(LAYOUT, b)}.bias`,
      ]),
      'linear.weight',
      'linear.bias',
    ]);
  });

  it('the model record gives the same folds; its key table is the checkpoint, in order', () => {
    const model = tinyQA('tiny_qa', groups);
    const pinned = fuseStateDict(ckpt, { model });
    expect(pinned.layout).toBe(LAYOUT);
    expect(pinned.strides.from).toBe('model');
    const free = fuseStateDict(ckpt);
    for (const [key, t] of free.stateDict)
      expect(pinned.stateDict.get(key)?.data, key).toEqual(t.data);
    const table = stateDictKeys(LAYOUT, model);
    expect(table.blocks.flatMap((b) => b.keys.map((k) => k.key))).toEqual(
      [...ckpt.keys()].filter((k) => !k.startsWith('linear.')),
    );
    const parts = table.blocks[1]!.keys.map((k) => `${k.role.part}.${k.role.field}`);
    expect(parts).toEqual([
      'kxk.kernel',
      ...['gamma', 'beta', 'mean', 'variance', 'counter'].map((f) => `kxk.${f}`),
      'scale.kernel',
      ...['gamma', 'beta', 'mean', 'variance', 'counter'].map((f) => `post.${f}`),
    ]);
  });

  it('a deploy-form checkpoint reads as official-repvgg alone, as official-qarepvgg given the QARepVGG record', () => {
    const { stateDict } = fuseStateDict(ckpt);
    expect(detectLayout(stateDict)).toBe('official-repvgg');
    const model = tinyQA('tiny_qa', groups);
    const again = fuseStateDict(stateDict, { model });
    expect(again.layout).toBe(LAYOUT);
    expect(again.folded.every((f) => f.from === 'deployed')).toBe(true);
    for (const [key, t] of stateDict) expect(again.stateDict.get(key)?.data, key).toEqual(t.data);
    const forced = fuseStateDict(stateDict, { layout: LAYOUT });
    expect(forced.layout).toBe(LAYOUT);
  });
});

describe('official-qarepvgg: models and refusals', () => {
  it('a full-size QARepVGG-A0 checkpoint matches the qarepvgg_a0 record without a model', () => {
    const record = architecture('qarepvgg_a0');
    const sd = new Map<string, StateTensor>();
    for (const [key, shape] of trainStateDictShapes(LAYOUT, record)) {
      const n = shape.reduce((p, d) => p * d, 1);
      sd.set(key, { shape: [...shape], data: new Float32Array(n).fill(0.5) });
    }
    const parsed = parseStateDict(sd);
    expect(parsed.layout).toBe(LAYOUT);
    expect(parsed.model?.name).toBe('qarepvgg_a0');
    expect(parsed.strides.from).toBe('published');
    expect(parsed.blocks.map((b) => b.stride)).toEqual(record.blocks.map((b) => b.stride));
    // The deploy form has official RepVGG-A0's keys and shapes, key for key.
    expect(deployStateDictShapes(LAYOUT, record)).toEqual(
      deployStateDictShapes('official-repvgg', 'repvgg_a0'),
    );
  });

  it('a QARepVGG record is refused by the RepVGG and timm layouts, naming the families', () => {
    const record = architecture('qarepvgg_a0');
    for (const layout of ['timm-repvgg', 'official-repvgg'] as const)
      expect(() => trainStateDictShapes(layout, record)).toThrow(
        `'qarepvgg_a0' is a qarepvgg model, but layout '${layout}' holds repvgg blocks`,
      );
    expect(() => trainStateDictShapes(LAYOUT, 'repvgg_a0')).toThrow(
      `'repvgg_a0' is a repvgg model, but layout '${LAYOUT}' holds qarepvgg blocks`,
    );
  });

  it('by name, a QARepVGG is ours (no published weights): its record is asked for', () => {
    expect(() => trainStateDictShapes(LAYOUT, 'qarepvgg_a0')).toThrow(
      /'qarepvgg_a0', a RepNets architecture with no published PyTorch checkpoint: pass its record/,
    );
  });

  it('refuses a QARepVGG with a squeeze-excite, in a record or in a checkpoint, saying why', () => {
    const plain = tinyQA('tiny_qa', 1);
    const withSE = { ...plain, blocks: plain.blocks.map((b) => ({ ...b, se: 'pre' as const })) };
    expect(() => stateDictKeys(LAYOUT, withSE)).toThrow(
      /a QARepVGG with a squeeze-excite: cxxgtxy\/QARepVGG applies .* before its BN after the sum/,
    );
    const ckpt = trainCheckpoint(LAYOUT, tinyRepVGG({ se: true }), rng(3));
    expect(() => parseStateDict(ckpt)).toThrow(
      /stage0\.se: cxxgtxy\/QARepVGG applies a QARepVGG block's squeeze-excite before its BN after the sum/,
    );
  });

  it('a checkpoint mixing official RepVGG and QARepVGG 1x1 branches is refused as mixed', () => {
    const qa = trainCheckpoint(LAYOUT, tinyRepVGG(), rng(5));
    const rep = trainCheckpoint('official-repvgg', tinyRepVGG(), rng(5));
    const mixed = new Map([...qa].filter(([k]) => k.startsWith('stage0.')));
    for (const [k, t] of rep) if (!k.startsWith('stage0.')) mixed.set(k, t);
    expect(detectLayout(mixed)).toBeNull();
    expect(() => parseStateDict(mixed)).toThrow(
      /mixes key layouts: official-qarepvgg \(e.g. .stage0.rbr_1x1.weight.\), official-repvgg/,
    );
    // The kxk branch alone, shared by both, is RepVGG's.
    expect(detectLayout(['stage1.0.rbr_dense.conv.weight'])).toBe('official-repvgg');
    expect(detectLayout([`${blockPath(LAYOUT, tinyRepVGG()[1]!)}.rbr_1x1.weight`])).toBe(LAYOUT);
  });
});
