/**
 * Converters for this package's own layers. Train-form blocks are written out
 * branch by branch from their record and their values by role (Conv +
 * BatchNormalization each, identity BN, one Add/Sum, SE, activation), so a
 * model exports, and runs in ONNX, before it is folded.
 */
import { type BatchNorm, makeKernel } from '@repnets/fuse';
import type {
  BlockShape,
  TrainedBareConv,
  TrainedBranches,
  TrainedConvBranch,
} from '../layers/branch-block.js';
import type { SEValues } from '../layers/se-weights.js';
import {
  activatedConv,
  type ConvertContext,
  type Converter,
  image,
  need,
  outputShape,
} from './context.js';
import {
  activation,
  type BNParams,
  batchNorm,
  conv,
  fail,
  type SEParams,
  squeezeExcite,
  sum,
} from './emit.js';
import { ints, type Value } from './graph.js';

/** BN values as the emitter takes them. */
const bnParams = (bn: BatchNorm): BNParams => ({
  gamma: bn.gamma ?? new Float32Array(bn.mean.length).fill(1),
  beta: bn.beta ?? new Float32Array(bn.mean.length),
  mean: bn.mean,
  variance: bn.variance,
  epsilon: bn.eps,
});

const seParams = (se: SEValues): SEParams => ({
  downKernel: se.down.kernel,
  downBias: se.down.bias,
  upKernel: se.up.kernel,
  upBias: se.up.bias,
});

/** What a RepNets block layer offers the exporter: its record and its values by role. */
interface BlockLayer {
  readonly spec: BlockShape;
  trainedBranches(): Promise<TrainedBranches>;
  seValues(): Promise<SEValues | undefined>;
}

function blockLayer(ctx: ConvertContext): BlockLayer {
  const l = ctx.layer as unknown as Partial<BlockLayer>;
  if (typeof l.trainedBranches !== 'function' || typeof l.seValues !== 'function' || !l.spec) {
    fail(ctx.where, 'is not a RepNets block layer (no spec / trainedBranches)');
  }
  return l as BlockLayer;
}

/**
 * RepVGGBlock, QARepVGGBlock, MobileOneBlock, ConvBN: written as the block's
 * record says, from its values by role: each kxk and scale branch a Conv
 * (symmetric padding k//2) and a BatchNormalization (none for QARepVGG's 1x1),
 * the identity a BatchNormalization of the input (the input itself for
 * QARepVGG), then the sum, QARepVGG's BN after it, SE and activation.
 */
const branchBlock: Converter = async (ctx) => {
  const x = image(ctx);
  const layer = blockLayer(ctx);
  const spec = layer.spec;
  const trained = await layer.trainedBranches();
  const g = ctx.g;
  const bareConv = (b: TrainedBareConv) => {
    const p = (b.kernel.shape[0] - 1) / 2;
    return conv(g, `${ctx.scope}/${b.name}`, x, {
      kernel: b.kernel,
      strides: [spec.stride, spec.stride],
      pads: [p, p, p, p],
      group: spec.groups,
    });
  };
  const convBranch = (b: TrainedConvBranch) =>
    batchNorm(g, `${ctx.scope}/${b.name}_bn`, bareConv(b), bnParams(b.bn));
  const branches = [...trained.kxk, ...(trained.scale ? [trained.scale] : [])].map(convBranch);
  if (trained.bareScale) branches.push(bareConv(trained.bareScale));
  if (trained.identity) {
    branches.push(batchNorm(g, `${ctx.scope}/identity_bn`, g.nchw(x), bnParams(trained.identity)));
  }
  if (trained.bareIdentity) branches.push(g.nchw(x));
  let y = sum(g, `${ctx.scope}/sum`, branches);
  if (trained.post) y = batchNorm(g, `${ctx.scope}/post_bn`, y, bnParams(trained.post));
  const shape = outputShape(ctx);
  const shaped = (name: string): Value => ({ name, layout: 'NCHW', shape });
  const se = spec.se !== 'none' ? await layer.seValues() : undefined;
  if (spec.se === 'pre' && se) y = squeezeExcite(g, `${ctx.scope}/se`, shaped(y), seParams(se));
  y = activation(g, ctx.where, `${ctx.scope}/act`, y, spec.activation, 1);
  if (spec.se === 'post' && se) y = squeezeExcite(g, `${ctx.scope}/se`, shaped(y), seParams(se));
  return [{ name: y, layout: 'NCHW' }];
};

const seBlock: Converter = async (ctx) => {
  const x = image(ctx);
  const layer = ctx.layer as unknown as { seValues(): Promise<SEValues> };
  const se = seParams(await layer.seValues());
  return [{ name: squeezeExcite(ctx.g, ctx.scope, x, se), layout: 'NCHW' }];
};

/** One Conv with `group`: ONNX has grouped convolution natively. */
const groupConv2d: Converter = async (ctx) => {
  const x = image(ctx);
  const w = await ctx.weights();
  const k = need(ctx.where, w, 'kernel');
  const s = (ctx.config.strides as number | undefined) ?? 1;
  const p = (ctx.config.pad as number | undefined) ?? 0;
  const y = conv(ctx.g, ctx.scope, x, {
    kernel: makeKernel('HWIO', k.shape, k.data),
    bias: w.get('bias')?.data,
    strides: [s, s],
    pads: [p, p, p, p],
    group: ctx.config.groups as number,
  });
  return activatedConv(ctx, y);
};

/** One equal slice of the channels: a Slice on axis 1. */
const channelSplit: Converter = (ctx) => {
  const x = image(ctx);
  const c = x.shape[3];
  const parts = (ctx.config.parts as number | undefined) ?? 2;
  const part = ctx.config.part as number;
  if (typeof c !== 'number' || c % parts !== 0) {
    fail(ctx.where, `${String(c)} channels do not split into ${parts} parts`);
  }
  const size = c / parts;
  const g = ctx.g;
  const y = g.op(
    'Slice',
    [
      g.nchw(x),
      g.int64s('starts', [part * size]),
      g.int64s('ends', [(part + 1) * size]),
      g.int64s('axes', [1]),
    ],
    {},
    ctx.scope,
  );
  return [{ name: y, layout: 'NCHW' }];
};

/**
 * Channel c = i * (C/g) + j moves to j * g + i: Reshape to [N, g, C/g, H*W],
 * swap the two channel axes, and Reshape back to the input's own (runtime) shape,
 * so neither batch nor spatial size is baked in.
 */
const channelShuffle: Converter = (ctx) => {
  const x = image(ctx);
  const c = x.shape[3];
  const groups = (ctx.config.groups as number | undefined) ?? 2;
  if (typeof c !== 'number' || c % groups !== 0) {
    fail(ctx.where, `${String(c)} channels do not split into ${groups} groups`);
  }
  const g = ctx.g;
  const xs = g.nchw(x);
  const shape = g.op('Shape', [xs], {}, `${ctx.scope}/shape`);
  const split = g.op(
    'Reshape',
    [xs, g.int64s('shape', [0, groups, c / groups, -1])],
    {},
    `${ctx.scope}/groups`,
  );
  const swapped = g.op('Transpose', [split], { perm: ints([0, 2, 1, 3]) }, `${ctx.scope}/swap`);
  const y = g.op('Reshape', [swapped, shape], {}, ctx.scope);
  return [{ name: y, layout: 'NCHW' }];
};

export const BLOCK_CONVERTERS: Record<string, Converter> = {
  RepVGGBlock: branchBlock,
  QARepVGGBlock: branchBlock,
  MobileOneBlock: branchBlock,
  ConvBN: branchBlock,
  SEBlock: seBlock,
  GroupConv2D: groupConv2d,
  ChannelSplit: channelSplit,
  ChannelShuffle: channelShuffle,
};
