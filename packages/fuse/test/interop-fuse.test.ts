/**
 * Checkpoint fuse on synthetic checkpoints of all four key layouts: running
 * each block's deploy conv equals running its train form (every branch conv +
 * BN, identity as BN(x)) in a float64 reference, with the geometry the
 * adapters inferred matching the network's.
 */
import { describe, expect, it } from 'vitest';
import {
  detectLayout,
  fuseStateDict,
  type LayoutName,
  type NetworkRecord,
  parseStateDict,
  readSafetensors,
  type StateTensor,
  writeSafetensors,
} from '../src/index.js';
import {
  blockPath,
  bnOf,
  branchNames,
  type Checkpoint,
  deployConv,
  kernelOf,
  type TinyBlock,
  tinyMobileOne,
  tinyRepVGG,
  trainCheckpoint,
} from './helpers/checkpoints.js';
import { randomInput, rng } from './helpers/random.js';
import { mobileoneNet, repvggNet } from './helpers/records.js';
import {
  add,
  batchNorm,
  conv2d,
  relativeError,
  samePad,
  type Tensor3,
} from './helpers/reference.js';

/** The train-form block on x, straight from the checkpoint's own keys. */
function trainForm(
  layout: LayoutName,
  ckpt: Checkpoint,
  b: TinyBlock,
  x: Tensor3,
  eps = 1e-5,
): Tensor3 {
  const p = blockPath(layout, b);
  const n = branchNames(layout);
  const opts = { stride: b.stride, groups: b.groups };
  const outs: Tensor3[] = [];
  for (let j = 0; j < b.branches; j++) {
    const m = `${p}.${n.convs(j)}`;
    const y = conv2d(x, kernelOf(ckpt.get(`${m}.conv.weight`)!), {
      ...opts,
      pad: samePad(b.k, b.k),
    });
    outs.push(batchNorm(y, bnOf(ckpt, `${m}.bn`, eps)));
  }
  if (b.scale) {
    const m = `${p}.${n.scale}`;
    const y = conv2d(x, kernelOf(ckpt.get(`${m}.conv.weight`)!), opts);
    outs.push(batchNorm(y, bnOf(ckpt, `${m}.bn`, eps)));
  }
  if (b.identity) outs.push(batchNorm(x, bnOf(ckpt, `${p}.${n.identity}`, eps)));
  return add(...outs);
}

/** The deploy conv of the block on x, read from the fused dict by the source's deploy key names. */
function deployForm(
  layout: LayoutName,
  fused: ReadonlyMap<string, StateTensor>,
  b: TinyBlock,
  x: Tensor3,
): Tensor3 {
  const d = deployConv(layout, b);
  const w = fused.get(`${d}.weight`);
  const bias = fused.get(`${d}.bias`);
  expect(w, `${d}.weight`).toBeDefined();
  expect(bias?.shape).toEqual([b.cout]);
  return conv2d(
    x,
    kernelOf(w!),
    { stride: b.stride, groups: b.groups, pad: samePad(b.k, b.k) },
    bias!.data as Float32Array,
  );
}

const seKeys = (layout: LayoutName, b: TinyBlock): string[] => {
  if (b.se === 0) return [];
  const [m, down, up] = layout.startsWith('timm')
    ? ['attn', 'fc1', 'fc2']
    : layout === 'official-repvgg'
      ? ['se', 'down', 'up']
      : ['se', 'reduce', 'expand'];
  const p = `${blockPath(layout, b)}.${m}`;
  return [`${p}.${down}.weight`, `${p}.${down}.bias`, `${p}.${up}.weight`, `${p}.${up}.bias`];
};

const REPVGG_NETS = [
  ['plain', tinyRepVGG()],
  ['groups 2', tinyRepVGG({ groups: 2 })],
  ['SE', tinyRepVGG({ se: true })],
] as const;

const CASES: readonly (readonly [LayoutName, string, readonly TinyBlock[]])[] = [
  ...REPVGG_NETS.map(([n, b]) => ['timm-repvgg', n, b] as const),
  ...REPVGG_NETS.map(([n, b]) => ['official-repvgg', n, b] as const),
  ['timm-mobileone', 'k=2, SE', tinyMobileOne()],
  ['official-mobileone', 'k=2, SE', tinyMobileOne()],
];

/** The same tiny networks as architecture records. */
function tinyConfig(name: string, blocks: readonly TinyBlock[]): NetworkRecord {
  if (blocks[0]!.branches === 1 && blocks.length === 5) {
    return repvggNet(name, {
      stem: 8,
      stages: [
        { depth: 2, channels: 8 },
        { depth: 2, channels: 16 },
      ],
      groups: blocks[2]!.groups,
      se: blocks[0]!.se > 0,
    });
  }
  return mobileoneNet(name, {
    stem: 8,
    stages: [
      { depth: 2, channels: 8 },
      { depth: 1, channels: 16, seUnits: 1 },
    ],
    convBranches: 2,
  });
}

describe.each(CASES)('fuseStateDict on a %s checkpoint (%s)', (layout, _net, blocks) => {
  const ckpt = trainCheckpoint(layout, blocks, rng(layout.length * 31 + blocks.length));

  it('detects the layout from the keys', () => {
    expect(detectLayout(ckpt.keys())).toBe(layout);
    expect(detectLayout(ckpt)).toBe(layout);
  });

  it('infers every block geometry (channels, kernel, stride, groups) without a model', () => {
    const { folded } = fuseStateDict(ckpt);
    expect(
      folded.map((f) => [f.name, f.inChannels, f.outChannels, f.kernelSize, f.stride, f.groups]),
    ).toEqual(blocks.map((b) => [blockPath(layout, b), b.cin, b.cout, b.k, b.stride, b.groups]));
    expect(folded.map((f) => f.padding)).toEqual(blocks.map((b) => (b.k - 1) / 2));
  });

  it('each deploy conv computes what the train-form block computes (float64 reference)', () => {
    const { stateDict } = fuseStateDict(ckpt);
    const r = rng(7);
    for (const b of blocks) {
      const x = randomInput(r, b.cin, 7, 6);
      const err = relativeError(deployForm(layout, stateDict, b, x), trainForm(layout, ckpt, b, x));
      expect(err, blockPath(layout, b)).toBeLessThan(1e-5);
    }
  });

  it('writes the deploy keys of the source framework and passes SE and head through', () => {
    const { stateDict } = fuseStateDict(ckpt);
    const head = layout.startsWith('timm')
      ? ['head.fc.weight', 'head.fc.bias']
      : ['linear.weight', 'linear.bias'];
    const want = [
      ...blocks.flatMap((b) => [
        `${deployConv(layout, b)}.weight`,
        `${deployConv(layout, b)}.bias`,
        ...seKeys(layout, b),
      ]),
      ...head,
    ];
    expect([...stateDict.keys()].sort()).toEqual(want.sort());
    for (const key of [...blocks.flatMap((b) => seKeys(layout, b)), ...head]) {
      expect(stateDict.get(key), key).toBe(ckpt.get(key));
    }
  });

  it('gives the same folds with the model record, which fixes strides and groups', () => {
    const free = fuseStateDict(ckpt);
    const pinned = fuseStateDict(ckpt, { layout, model: tinyConfig('tiny', blocks) });
    expect(pinned.model?.name).toBe('tiny');
    expect(pinned.folded.map((f) => [f.stride, f.groups])).toEqual(
      blocks.map((b) => [b.stride, b.groups]),
    );
    for (const [key, t] of free.stateDict)
      expect(pinned.stateDict.get(key)?.data, key).toEqual(t.data);
  });

  it('round-trips the fused dict through safetensors, and a re-fuse is the identity', () => {
    const { stateDict } = fuseStateDict(ckpt);
    const back = readSafetensors(writeSafetensors(stateDict, { format: 'pt' }));
    expect([...back.tensors.keys()]).toEqual([...stateDict.keys()]);
    for (const [key, t] of stateDict) {
      expect(back.tensors.get(key)?.shape, key).toEqual(t.shape);
      expect(back.tensors.get(key)?.data, key).toEqual(t.data);
    }
    // Already in deploy form: every block is parsed as 'deployed' and copied.
    const again = fuseStateDict(back.tensors, { layout });
    expect(again.folded.every((f) => f.from === 'deployed')).toBe(true);
    for (const [key, t] of stateDict) expect(again.stateDict.get(key)?.data, key).toEqual(t.data);
  });
});

describe('fuseStateDict details', () => {
  const blocks = tinyRepVGG({ groups: 2 });
  const ckpt = trainCheckpoint('official-repvgg', blocks, rng(3));

  it('reads a train checkpoint from safetensors with I64 BatchNorm counters and drops them', () => {
    const file = writeSafetensors(ckpt);
    const back = readSafetensors(file);
    expect(back.tensors.get('stage1.1.rbr_identity.num_batches_tracked')).toEqual({
      dtype: 'I64',
      shape: [],
      data: new Float64Array([1234]),
    });
    const { stateDict } = fuseStateDict(back.tensors);
    expect([...stateDict.keys()].some((k) => k.includes('num_batches_tracked'))).toBe(false);
    expect(stateDict.get('stage1.1.rbr_reparam.weight')?.data).toEqual(
      fuseStateDict(ckpt).stateDict.get('stage1.1.rbr_reparam.weight')?.data,
    );
  });

  it('places each deploy conv where its block began, keeping the source order', () => {
    const keys = [...fuseStateDict(ckpt).stateDict.keys()];
    expect(keys.slice(0, 4)).toEqual([
      'stage0.rbr_reparam.weight',
      'stage0.rbr_reparam.bias',
      'stage1.0.rbr_reparam.weight',
      'stage1.0.rbr_reparam.bias',
    ]);
    expect(keys.at(-1)).toBe('linear.bias');
  });

  it('uses the eps it is given (BN eps is not in a state dict)', () => {
    const b = blocks[2]!;
    const x = randomInput(rng(9), b.cin, 5, 5);
    const { stateDict } = fuseStateDict(ckpt, { eps: 1e-3 });
    const want = trainForm('official-repvgg', ckpt, b, x, 1e-3);
    expect(relativeError(deployForm('official-repvgg', stateDict, b, x), want)).toBeLessThan(1e-5);
    const wrong = fuseStateDict(ckpt).stateDict;
    expect(relativeError(deployForm('official-repvgg', wrong, b, x), want)).toBeGreaterThan(1e-5);
  });

  it('exposes the parsed blocks in OIHW for other frameworks to rebuild', () => {
    const parsed = parseStateDict(ckpt);
    const blk = parsed.blocks[2]!;
    expect(blk.kind).toBe('repvgg');
    if (blk.kind !== 'repvgg') return;
    expect(blk.params.dense.kernel.layout).toBe('OIHW');
    expect(blk.params.dense.kernel.shape).toEqual([8, 4, 3, 3]);
    expect(blk.params.conv1x1?.kernel.shape).toEqual([8, 4, 1, 1]);
    expect(blk.params.identity?.eps).toBe(1e-5);
    expect(blk.deployKeys).toEqual({
      weight: 'stage1.1.rbr_reparam.weight',
      bias: 'stage1.1.rbr_reparam.bias',
    });
    expect([...parsed.passThrough.keys()]).toEqual(['linear.weight', 'linear.bias']);
  });

  it('exposes SE as two 1x1 convs with bias', () => {
    const mo = parseStateDict(trainCheckpoint('timm-mobileone', tinyMobileOne(), rng(4)));
    const pw = mo.blocks.at(-1)!;
    expect(pw.se?.down.kernel.shape).toEqual([4, 16, 1, 1]);
    expect(pw.se?.up.kernel.shape).toEqual([16, 4, 1, 1]);
    expect(pw.se?.keys[0]).toBe('stages.1.1.attn.fc1.weight');
  });
});
