/**
 * Synthetic train-form checkpoints in the exact key layouts of the five
 * sources, written out by hand here (not with the package's own key tables) so
 * the tests check the adapters against the sources, not against themselves.
 * Key order follows each PyTorch module's registration order.
 */
import { type BatchNorm, type LayoutName, makeKernel, type StateTensor } from '../../src/index.js';
import { uniform } from './random.js';

/** One block of a tiny test network, in network order. */
export interface TinyBlock {
  /** Module path in timm naming (`stem`, `stages.S.I`) and official naming (`stage0`, `stageS.I`). */
  readonly timm: string;
  readonly official: string;
  readonly cin: number;
  readonly cout: number;
  readonly k: number;
  readonly stride: number;
  readonly groups: number;
  /** kxk conv branches (1 for RepVGG). */
  readonly branches: number;
  readonly scale: boolean;
  readonly identity: boolean;
  /** SE reduced channels, 0 for none. */
  readonly se: number;
}

function block(
  stage: number,
  index: number,
  b: Omit<TinyBlock, 'timm' | 'official' | 'identity'>,
): TinyBlock {
  return {
    ...b,
    timm: stage === 0 ? 'stem' : `stages.${stage - 1}.${index}`,
    official: stage === 0 ? 'stage0' : `stage${stage}.${index}`,
    identity: b.cin === b.cout && b.stride === 1,
  };
}

/** RepVGG: stem 3->8, stage 1 (8, 8), stage 2 (16, 16); `groups` on the even layers; SE everywhere if `se`. */
export function tinyRepVGG(opts: { groups?: number; se?: boolean } = {}): TinyBlock[] {
  const g = opts.groups ?? 1;
  const se = opts.se ? 2 : 0;
  const rep = { k: 3, branches: 1, scale: true, se };
  return [
    block(0, 0, { ...rep, cin: 3, cout: 8, stride: 2, groups: 1 }),
    block(1, 0, { ...rep, cin: 8, cout: 8, stride: 2, groups: 1 }),
    block(1, 1, { ...rep, cin: 8, cout: 8, stride: 1, groups: g }),
    block(2, 0, { ...rep, cin: 8, cout: 16, stride: 2, groups: 1 }),
    block(2, 1, { ...rep, cin: 16, cout: 16, stride: 1, groups: g }),
  ];
}

/**
 * MobileOne with k = 2: stem 3->8 (one branch), stage 1 two units of 8
 * channels, stage 2 one unit 8->16 with SE; each unit a depthwise 3x3 block
 * and a pointwise 1x1 block.
 */
export function tinyMobileOne(): TinyBlock[] {
  const dw = (c: number, stride: number, se = 0) => ({
    cin: c,
    cout: c,
    k: 3,
    stride,
    groups: c,
    branches: 2,
    scale: true,
    se,
  });
  const pw = (cin: number, cout: number, se = 0) => ({
    cin,
    cout,
    k: 1,
    stride: 1,
    groups: 1,
    branches: 2,
    scale: false,
    se,
  });
  return [
    block(0, 0, { cin: 3, cout: 8, k: 3, stride: 2, groups: 1, branches: 1, scale: true, se: 0 }),
    block(1, 0, dw(8, 2)),
    block(1, 1, pw(8, 8)),
    block(1, 2, dw(8, 1)),
    block(1, 3, pw(8, 8)),
    block(2, 0, dw(8, 2, 2)),
    block(2, 1, pw(8, 16, 4)),
  ];
}

export type Checkpoint = Map<string, StateTensor>;

/** A checkpoint tensor as an OIHW kernel. */
export const kernelOf = (t: StateTensor) => makeKernel('OIHW', t.shape, t.data as Float32Array);

/** The BatchNorm2d under `prefix` (weight, bias, running_mean, running_var). */
export function bnOf(ckpt: Checkpoint, prefix: string, eps = 1e-5): BatchNorm {
  const f = (name: string) => ckpt.get(`${prefix}.${name}`)!.data as Float32Array;
  return {
    gamma: f('weight'),
    beta: f('bias'),
    mean: f('running_mean'),
    variance: f('running_var'),
    eps,
  };
}

/** Random tensors with non-trivial BN statistics (default 0/1 stats hide folding bugs). */
class Writer {
  readonly dict: Checkpoint = new Map();
  constructor(private readonly r: () => number) {}

  tensor(key: string, shape: number[], lo = -1, hi = 1): void {
    const n = shape.reduce((p, d) => p * d, 1);
    this.dict.set(key, { shape, data: uniform(this.r, n, lo, hi), dtype: 'F32' });
  }

  bn(prefix: string, c: number): void {
    this.tensor(`${prefix}.weight`, [c], 0.5, 1.5);
    this.tensor(`${prefix}.bias`, [c], -0.5, 0.5);
    this.tensor(`${prefix}.running_mean`, [c], -0.5, 0.5);
    this.tensor(`${prefix}.running_var`, [c], 0.5, 1.5);
    // PyTorch keeps this I64 step counter in every BatchNorm2d.
    this.dict.set(`${prefix}.num_batches_tracked`, {
      shape: [],
      data: new Float64Array([1234]),
      dtype: 'I64',
    });
  }

  convBN(prefix: string, b: TinyBlock, k: number): void {
    this.tensor(`${prefix}.conv.weight`, [b.cout, b.cin / b.groups, k, k]);
    this.bn(`${prefix}.bn`, b.cout);
  }

  se(prefix: string, down: string, up: string, b: TinyBlock): void {
    this.tensor(`${prefix}.${down}.weight`, [b.se, b.cout, 1, 1]);
    this.tensor(`${prefix}.${down}.bias`, [b.se]);
    this.tensor(`${prefix}.${up}.weight`, [b.cout, b.se, 1, 1]);
    this.tensor(`${prefix}.${up}.bias`, [b.cout]);
  }
}

/**
 * A train-form checkpoint of `blocks` in `layout`, with a classifier head of
 * 10 classes: timm's `head.fc`, the official repos' `linear`.
 */
export function trainCheckpoint(
  layout: LayoutName,
  blocks: readonly TinyBlock[],
  r: () => number,
): Checkpoint {
  const w = new Writer(r);
  for (const b of blocks) {
    switch (layout) {
      case 'timm-repvgg': {
        // RepVggBlock.__init__: identity, conv_kxk, conv_1x1, then attn.
        const p = b.timm;
        if (b.identity) w.bn(`${p}.identity`, b.cout);
        w.convBN(`${p}.conv_kxk`, b, b.k);
        w.convBN(`${p}.conv_1x1`, b, 1);
        if (b.se > 0) w.se(`${p}.attn`, 'fc1', 'fc2', b);
        break;
      }
      case 'timm-mobileone': {
        // MobileOneBlock.__init__: identity, conv_kxk (ModuleList), conv_scale, then attn.
        const p = b.timm;
        if (b.identity) w.bn(`${p}.identity`, b.cout);
        for (let j = 0; j < b.branches; j++) w.convBN(`${p}.conv_kxk.${j}`, b, b.k);
        if (b.scale) w.convBN(`${p}.conv_scale`, b, 1);
        if (b.se > 0) w.se(`${p}.attn`, 'fc1', 'fc2', b);
        break;
      }
      case 'official-repvgg': {
        // RepVGGBlock.__init__: se first, then rbr_identity, rbr_dense, rbr_1x1.
        const p = b.official;
        if (b.se > 0) w.se(`${p}.se`, 'down', 'up', b);
        if (b.identity) w.bn(`${p}.rbr_identity`, b.cout);
        w.convBN(`${p}.rbr_dense`, b, b.k);
        w.convBN(`${p}.rbr_1x1`, b, 1);
        break;
      }
      case 'official-mobileone': {
        // MobileOneBlock.__init__: se first, then rbr_skip, rbr_conv (ModuleList), rbr_scale.
        const p = b.official;
        if (b.se > 0) w.se(`${p}.se`, 'reduce', 'expand', b);
        if (b.identity) w.bn(`${p}.rbr_skip`, b.cout);
        for (let j = 0; j < b.branches; j++) w.convBN(`${p}.rbr_conv.${j}`, b, b.k);
        if (b.scale) w.convBN(`${p}.rbr_scale`, b, 1);
        break;
      }
      case 'official-qarepvgg': {
        // QARepVGGBlockV2: its parent's se, rbr_identity (an nn.Identity, no
        // tensors), rbr_dense; rbr_1x1 swapped in place for a bare conv; bn last.
        const p = b.official;
        if (b.se > 0) w.se(`${p}.se`, 'down', 'up', b);
        w.convBN(`${p}.rbr_dense`, b, b.k);
        w.tensor(`${p}.rbr_1x1.weight`, [b.cout, b.cin / b.groups, 1, 1]);
        w.bn(`${p}.bn`, b.cout);
        break;
      }
    }
  }
  const features = blocks.at(-1)!.cout;
  const head = layout.startsWith('timm') ? 'head.fc' : 'linear';
  w.tensor(`${head}.weight`, [10, features]);
  w.tensor(`${head}.bias`, [10]);
  return w.dict;
}

/** Module path of a block in a layout's naming. */
export function blockPath(layout: LayoutName, b: TinyBlock): string {
  return layout.startsWith('timm') ? b.timm : b.official;
}

/** The deploy conv's key stem: `rbr_reparam` in DingXiaoH/RepVGG and cxxgtxy/QARepVGG, `reparam_conv` elsewhere. */
export function deployConv(layout: LayoutName, b: TinyBlock): string {
  const official = layout === 'official-repvgg' || layout === 'official-qarepvgg';
  return `${blockPath(layout, b)}.${official ? 'rbr_reparam' : 'reparam_conv'}`;
}

/** Names of the branch modules of a layout, for reading the checkpoint in the reference. */
export function branchNames(layout: LayoutName) {
  switch (layout) {
    case 'timm-repvgg':
      return { convs: (_: number) => 'conv_kxk', scale: 'conv_1x1', identity: 'identity' };
    case 'timm-mobileone':
      return { convs: (j: number) => `conv_kxk.${j}`, scale: 'conv_scale', identity: 'identity' };
    case 'official-repvgg':
      return { convs: (_: number) => 'rbr_dense', scale: 'rbr_1x1', identity: 'rbr_identity' };
    case 'official-mobileone':
      return { convs: (j: number) => `rbr_conv.${j}`, scale: 'rbr_scale', identity: 'rbr_skip' };
    case 'official-qarepvgg':
      // The 1x1 is a bare conv and the identity holds no tensor: see trainCheckpoint.
      return { convs: (_: number) => 'rbr_dense', scale: 'rbr_1x1', identity: 'rbr_identity' };
  }
}
