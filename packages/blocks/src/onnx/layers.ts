/** Converters for the stock TF.js layers a deploy-form model (and a zoo head) is made of. */
import { makeKernel } from '@repnets/fuse';
import {
  activatedConv,
  type ConvertContext,
  type Converter,
  channelsLast,
  image,
  need,
  one,
  outputShape,
  pair,
} from './context.js';
import { activation, batchNorm, conv, fail, samePads, sum } from './emit.js';
import { float, int, ints, type Pads, type Value, type ValueRef } from './graph.js';

/** ONNX's NCHW axis of each of TF's NHWC axes. */
const NCHW_AXIS_OF = [0, 2, 3, 1] as const;

/** Where TF's axis `axis` of a rank-`rank` value sits in the ONNX layout `v` uses. */
function onnxAxis(ctx: ConvertContext, axis: number, rank: number, nchw: boolean): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(ctx.where, `axis ${axis} is out of range for rank ${rank}`);
  if (!nchw) return a;
  const to = NCHW_AXIS_OF[a];
  if (to === undefined) fail(ctx.where, `axis ${axis} of an NCHW image (rank ${rank}) is not 0-3`);
  return to;
}

/** Explicit [top, left, bottom, right] padding for a window op on `x`. */
function windowPads(
  ctx: ConvertContext,
  x: Value,
  k: [number, number],
  s: [number, number],
  d: [number, number] = [1, 1],
): Pads {
  const padding = ctx.config.padding ?? 'valid';
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding !== 'same') fail(ctx.where, `padding '${String(padding)}' is not supported`);
  const [t, b] = samePads(ctx.where, x.shape[1], k[0], s[0], d[0]);
  const [l, r] = samePads(ctx.where, x.shape[2], k[1], s[1], d[1]);
  return [t, l, b, r];
}

const conv2d: Converter = async (ctx) => {
  channelsLast(ctx);
  const x = image(ctx);
  const w = await ctx.weights();
  const k = need(ctx.where, w, 'kernel');
  const strides = pair(ctx.where, 'strides', ctx.config.strides, 1);
  const dilations = pair(ctx.where, 'dilationRate', ctx.config.dilationRate, 1);
  // makeKernel checks the shape is 4 positive dimensions: read them from it.
  const kernel = makeKernel('HWIO', k.shape, k.data);
  const [kh, kw] = kernel.shape;
  const y = conv(ctx.g, ctx.scope, x, {
    kernel,
    bias: w.get('bias')?.data,
    strides,
    dilations,
    pads: windowPads(ctx, x, [kh, kw], strides, dilations),
    group: 1,
  });
  return activatedConv(ctx, y);
};

const depthwiseConv2d: Converter = async (ctx) => {
  channelsLast(ctx);
  const x = image(ctx);
  const w = await ctx.weights();
  const k = need(ctx.where, w, 'depthwise_kernel');
  const strides = pair(ctx.where, 'strides', ctx.config.strides, 1);
  const dilations = pair(ctx.where, 'dilationRate', ctx.config.dilationRate, 1);
  // HWIM [kh, kw, C, M] -> OIHW [C*M, 1, kh, kw], output c*M + m reading channel c: group C.
  const kernel = makeKernel('HWIM', k.shape, k.data);
  const [kh, kw, channels] = kernel.shape;
  const y = conv(ctx.g, ctx.scope, x, {
    kernel,
    bias: w.get('bias')?.data,
    strides,
    dilations,
    pads: windowPads(ctx, x, [kh, kw], strides, dilations),
    group: channels,
  });
  return activatedConv(ctx, y);
};

const dense: Converter = async (ctx) => {
  const x = one(ctx);
  const w = await ctx.weights();
  const k = need(ctx.where, w, 'kernel');
  const kernel = ctx.g.floats(`${ctx.scope}/kernel`, k.shape, k.data);
  const b = w.get('bias');
  const bias = b ? ctx.g.floats(`${ctx.scope}/bias`, b.shape, b.data) : undefined;
  const rank = x.shape.length;
  let y: string;
  if (rank === 2) {
    y = ctx.g.op('Gemm', bias ? [x.name, kernel, bias] : [x.name, kernel], {}, ctx.scope);
  } else {
    // Dense on an image acts on TF's last axis (channels): MatMul in NHWC order.
    const m = ctx.g.op('MatMul', [ctx.g.tfOrder(x), kernel], {}, ctx.scope);
    y = bias ? ctx.g.op('Add', [m, bias], {}, `${ctx.scope}/bias_add`) : m;
  }
  const act = activation(
    ctx.g,
    ctx.where,
    `${ctx.scope}/act`,
    y,
    ctx.config.activation as string,
    rank - 1,
  );
  return [{ name: act, layout: rank === 4 ? 'NHWC' : 'plain' }];
};

/** No node: the padding waits for the next layer, which a conv absorbs into its `pads`. */
const zeroPadding2d: Converter = (ctx) => {
  channelsLast(ctx);
  const x = image(ctx);
  const p = ctx.config.padding as [[number, number], [number, number]];
  const [[t, b], [l, r]] = p;
  const prev = x.pads ?? [0, 0, 0, 0];
  return [
    {
      name: x.name,
      layout: x.layout,
      pads: [prev[0] + t, prev[1] + l, prev[2] + b, prev[3] + r],
    },
  ];
};

function pool(op: 'MaxPool' | 'AveragePool'): Converter {
  return (ctx) => {
    channelsLast(ctx);
    const x = image(ctx);
    const k = pair(ctx.where, 'poolSize', ctx.config.poolSize);
    const s = pair(ctx.where, 'strides', ctx.config.strides ?? k);
    const [t, l, b, r] = windowPads(ctx, x, k, s);
    // Pending ZeroPadding2D becomes a Pad node: pool padding is not zero padding.
    const y = ctx.g.op(
      op,
      [ctx.g.nchw(x)],
      { kernel_shape: ints(k), strides: ints(s), pads: ints([t, l, b, r]) },
      ctx.scope,
    );
    return [{ name: y, layout: 'NCHW' }];
  };
}

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool'): Converter {
  return (ctx) => {
    channelsLast(ctx);
    const x = image(ctx);
    const p = ctx.g.op(op, [ctx.g.nchw(x)], {}, `${ctx.scope}/pool`);
    return [{ name: ctx.g.op('Flatten', [p], { axis: int(1) }, ctx.scope), layout: 'plain' }];
  };
}

const batchNormalization: Converter = async (ctx) => {
  const x = one(ctx);
  const rank = x.shape.length;
  const axis = (ctx.config.axis as number | undefined) ?? -1;
  if (axis !== -1 && axis !== rank - 1) {
    fail(ctx.where, `only the channel axis (-1) is supported, got axis ${axis} at rank ${rank}`);
  }
  if (rank !== 2 && rank !== 4) fail(ctx.where, `input rank ${rank} is not supported (2 or 4)`);
  const w = await ctx.weights();
  const mean = need(ctx.where, w, 'moving_mean').data;
  const c = mean.length;
  const y = batchNorm(ctx.g, ctx.scope, rank === 4 ? ctx.g.nchw(x) : x.name, {
    gamma: w.get('gamma')?.data ?? new Float32Array(c).fill(1),
    beta: w.get('beta')?.data ?? new Float32Array(c),
    mean,
    variance: need(ctx.where, w, 'moving_variance').data,
    epsilon: (ctx.config.epsilon as number | undefined) ?? 1e-3,
  });
  return [{ name: y, layout: rank === 4 ? 'NCHW' : 'plain' }];
};

/** Elementwise (or channel-wise) activation layers keep the input's layout. */
function keepLayout(ctx: ConvertContext, make: (x: string, channelAxis: number) => string) {
  const x = one(ctx);
  const rank = x.shape.length;
  const name = ctx.g.padded(x);
  return [{ name: make(name, x.layout === 'NCHW' ? 1 : rank - 1), layout: x.layout }];
}

const reLU: Converter = (ctx) =>
  keepLayout(ctx, (x) => {
    const max = ctx.config.maxValue as number | null | undefined;
    if (max === undefined || max === null) return ctx.g.op('Relu', [x], {}, ctx.scope);
    const lo = ctx.g.floats(`${ctx.scope}/min`, [], Float32Array.of(0));
    const hi = ctx.g.floats(`${ctx.scope}/max`, [], Float32Array.of(max));
    return ctx.g.op('Clip', [x, lo, hi], {}, ctx.scope);
  });

const leakyReLU: Converter = (ctx) =>
  keepLayout(ctx, (x) =>
    ctx.g.op('LeakyRelu', [x], { alpha: float((ctx.config.alpha as number) ?? 0.3) }, ctx.scope),
  );

const elu: Converter = (ctx) =>
  keepLayout(ctx, (x) =>
    ctx.g.op('Elu', [x], { alpha: float((ctx.config.alpha as number) ?? 1) }, ctx.scope),
  );

const softmax: Converter = (ctx) => {
  const x = one(ctx);
  const rank = x.shape.length;
  const nchw = rank === 4;
  const name = nchw ? ctx.g.nchw(x) : ctx.g.padded(x);
  const axis = onnxAxis(ctx, (ctx.config.axis as number | undefined) ?? -1, rank, nchw);
  const y = ctx.g.op('Softmax', [name], { axis: int(axis) }, ctx.scope);
  return [{ name: y, layout: nchw ? 'NCHW' : 'plain' }];
};

const activationLayer: Converter = (ctx) =>
  keepLayout(ctx, (x, channelAxis) =>
    activation(ctx.g, ctx.where, ctx.scope, x, ctx.config.activation as string, channelAxis),
  );

/** Inputs of a merge layer in one layout: NCHW for images, TF order otherwise. */
function mergeInputs(ctx: ConvertContext): { names: string[]; rank: number } {
  if (ctx.inputs.length < 2) fail(ctx.where, `expected 2 or more inputs, got ${ctx.inputs.length}`);
  const rank = ctx.inputs[0]!.shape.length;
  const bad = ctx.inputs.find((v) => v.shape.length !== rank);
  if (bad) {
    fail(
      ctx.where,
      `inputs of different rank are not supported: [${ctx.inputs.map((v) => `[${v.shape.join(', ')}]`).join(', ')}]`,
    );
  }
  const names = ctx.inputs.map((v) => (rank === 4 ? ctx.g.nchw(v) : ctx.g.padded(v)));
  return { names, rank };
}

function merge(op: 'Add' | 'Mul' | 'Sub' | 'Mean' | 'Max' | 'Min'): Converter {
  return (ctx) => {
    const { names, rank } = mergeInputs(ctx);
    let y: string;
    if (op === 'Add') y = sum(ctx.g, ctx.scope, names);
    else if (op === 'Mul') {
      y = names[0]!;
      for (const [k, n] of names.slice(1).entries())
        y = ctx.g.op('Mul', [y, n], {}, k === names.length - 2 ? ctx.scope : `${ctx.scope}/mul`);
    } else if (op === 'Sub') {
      if (names.length !== 2) fail(ctx.where, `Subtract takes 2 inputs, got ${names.length}`);
      y = ctx.g.op('Sub', names, {}, ctx.scope);
    } else y = ctx.g.op(op, names, {}, ctx.scope);
    return [{ name: y, layout: rank === 4 ? 'NCHW' : 'plain' }];
  };
}

const concatenate: Converter = (ctx) => {
  const { names, rank } = mergeInputs(ctx);
  const axis = onnxAxis(ctx, (ctx.config.axis as number | undefined) ?? -1, rank, rank === 4);
  const y = ctx.g.op('Concat', names, { axis: int(axis) }, ctx.scope);
  return [{ name: y, layout: rank === 4 ? 'NCHW' : 'plain' }];
};

const reshape: Converter = (ctx) => {
  const x = one(ctx);
  const target = ctx.config.targetShape as number[];
  const out = outputShape(ctx);
  const src = ctx.g.tfOrder(x);
  // An [N, 1, 1, C] result has NCHW's element order already: keep images NCHW.
  const c = out[3];
  if (out.length === 4 && out[1] === 1 && out[2] === 1 && typeof c === 'number') {
    const shape = ctx.g.int64s('shape', [0, c, 1, 1]);
    return [{ name: ctx.g.op('Reshape', [src, shape], {}, ctx.scope), layout: 'NCHW' }];
  }
  // 0 copies the batch dimension, so the graph keeps a dynamic batch.
  const shape = ctx.g.int64s('shape', [0, ...target]);
  const y = ctx.g.op('Reshape', [src, shape], {}, ctx.scope);
  return [{ name: y, layout: out.length === 4 ? 'NHWC' : 'plain' }];
};

const flatten: Converter = (ctx) => {
  const x = one(ctx);
  const y = ctx.g.op('Flatten', [ctx.g.tfOrder(x)], { axis: int(1) }, ctx.scope);
  return [{ name: y, layout: 'plain' }];
};

/** Layers that do nothing at inference. */
const passThrough: Converter = (ctx) => [one(ctx) as ValueRef];

export const STOCK_CONVERTERS: Record<string, Converter> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  Dense: dense,
  ZeroPadding2D: zeroPadding2d,
  MaxPooling2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  GlobalAveragePooling2D: globalPool('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPool('GlobalMaxPool'),
  BatchNormalization: batchNormalization,
  ReLU: reLU,
  LeakyReLU: leakyReLU,
  ELU: elu,
  Softmax: softmax,
  Activation: activationLayer,
  Add: merge('Add'),
  Multiply: merge('Mul'),
  Subtract: merge('Sub'),
  Average: merge('Mean'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Concatenate: concatenate,
  Reshape: reshape,
  Flatten: flatten,
  Dropout: passThrough,
  SpatialDropout1D: passThrough,
  GaussianNoise: passThrough,
  GaussianDropout: passThrough,
  AlphaDropout: passThrough,
};
