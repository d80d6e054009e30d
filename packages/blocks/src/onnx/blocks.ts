/**
 * Converters for this package's own layers. Train-form blocks are written out
 * branch by branch (Conv + BatchNormalization each, identity BN, one Add/Sum,
 * SE, activation), so a model exports, and runs in ONNX, before it is folded.
 */
import { makeKernel } from '@repnets/fuse';
import {
  activatedConv,
  type ConvertContext,
  type Converter,
  image,
  need,
  type WeightData,
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

function bnParams(
  ctx: ConvertContext,
  w: Map<string, WeightData>,
  prefix: string,
  epsilon: number,
): BNParams {
  const get = (n: string) => need(ctx.where, w, `${prefix}_${n}`).data;
  return {
    gamma: get('gamma'),
    beta: get('beta'),
    mean: get('moving_mean'),
    variance: get('moving_variance'),
    epsilon,
  };
}

function seParams(ctx: ConvertContext, w: Map<string, WeightData>, prefix: string): SEParams {
  const k = (n: string) => {
    const t = need(ctx.where, w, `${prefix}_${n}_kernel`);
    return makeKernel('HWIO', t.shape, t.data);
  };
  const b = (n: string) => need(ctx.where, w, `${prefix}_${n}_bias`).data;
  return { downKernel: k('down'), downBias: b('down'), upKernel: k('up'), upBias: b('up') };
}

/**
 * RepVGGBlock, MobileOneBlock, ConvBN: every `<branch>_kernel` that has a
 * `<branch>_bn_*` is a conv+BN branch with symmetric padding k//2; an
 * `identity_bn_*` is the identity branch. Reading branches from the weights
 * (not from the class) keeps this in step with whatever branches a block builds.
 */
const branchBlock: Converter = async (ctx) => {
  const x = image(ctx);
  const cfg = ctx.config;
  const w = await ctx.weights();
  const inC = x.shape[3];
  if (typeof inC !== 'number') fail(ctx.where, `input channels unknown: [${x.shape.join(', ')}]`);
  const groups = cfg.groups === 'depthwise' ? inC : ((cfg.groups as number | undefined) ?? 1);
  const stride = (cfg.strides as number | undefined) ?? 1;
  const eps = cfg.bnEpsilon as number;
  const g = ctx.g;
  const branches: string[] = [];
  for (const [name, k] of w) {
    if (!name.endsWith('_kernel')) continue;
    const prefix = name.slice(0, -'_kernel'.length);
    if (!w.has(`${prefix}_bn_gamma`)) continue;
    const [kh, kw, ipg] = k.shape;
    if (kh! % 2 === 0 || kh !== kw || ipg! * groups !== inC) {
      fail(
        ctx.where,
        `branch '${prefix}' kernel [${k.shape.join(', ')}] does not fit ${inC} input channels in ${groups} groups with symmetric padding`,
      );
    }
    const p = (kh! - 1) / 2;
    const y = conv(g, `${ctx.scope}/${prefix}`, x, {
      kernel: makeKernel('HWIO', k.shape, k.data),
      strides: [stride, stride],
      pads: [p, p, p, p],
      group: groups,
    });
    branches.push(
      batchNorm(g, `${ctx.scope}/${prefix}_bn`, y, bnParams(ctx, w, `${prefix}_bn`, eps)),
    );
  }
  if (branches.length === 0) fail(ctx.where, 'has no conv+BN branch (is it built?)');
  if (w.has('identity_bn_gamma')) {
    branches.push(
      batchNorm(g, `${ctx.scope}/identity_bn`, g.nchw(x), bnParams(ctx, w, 'identity_bn', eps)),
    );
  }
  let y = sum(g, `${ctx.scope}/sum`, branches);
  const shaped = (name: string): Value => ({ name, layout: 'NCHW', shape: ctx.outputShapes[0]! });
  const se = cfg.se as 'none' | 'pre' | 'post' | undefined;
  if (se === 'pre') y = squeezeExcite(g, `${ctx.scope}/se`, shaped(y), seParams(ctx, w, 'se'));
  y = activation(g, ctx.where, `${ctx.scope}/act`, y, cfg.activation as string, 1);
  if (se === 'post') y = squeezeExcite(g, `${ctx.scope}/se`, shaped(y), seParams(ctx, w, 'se'));
  return [{ name: y, layout: 'NCHW' }];
};

const seBlock: Converter = async (ctx) => {
  const x = image(ctx);
  const w = await ctx.weights();
  return [{ name: squeezeExcite(ctx.g, ctx.scope, x, seParams(ctx, w, 'se')), layout: 'NCHW' }];
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
  MobileOneBlock: branchBlock,
  ConvBN: branchBlock,
  SEBlock: seBlock,
  GroupConv2D: groupConv2d,
  ChannelSplit: channelSplit,
  ChannelShuffle: channelShuffle,
};
