import type { BranchBlock } from '@repnets/blocks';
import type * as tf from '@tensorflow/tfjs';
import { activationOps, binaryChain, groupedConvOps, type OpCost, op } from './op-cost.js';
import { type ConcreteShape, elements } from './shapes.js';

/** What a cost rule sees of one layer call. */
export interface LayerCostContext {
  readonly layer: tf.layers.Layer;
  readonly className: string;
  /** Concrete input shapes, batch 1. */
  readonly inputs: readonly ConcreteShape[];
  /** Concrete output shapes, batch 1. */
  readonly outputs: readonly ConcreteShape[];
  readonly config: Record<string, unknown>;
  /** Shape of the layer weight whose name ends in `/${suffix}`, or undefined. */
  weight(suffix: string): readonly number[] | undefined;
  /** Like {@link weight}, but throws naming the layer when it is missing. */
  requireWeight(suffix: string): readonly number[];
}

/** The ops one call of a layer executes, in order. */
export type LayerCostRule = (ctx: LayerCostContext) => OpCost[];

const where = (ctx: LayerCostContext) =>
  `accountModel: layer '${ctx.layer.name}' (${ctx.className})`;

/** The call's first input shape (a rule may be handed a context by hand). */
function inputOf(ctx: LayerCostContext): ConcreteShape {
  const [x] = ctx.inputs;
  if (x === undefined) throw new Error(`${where(ctx)} has no input shape`);
  return x;
}

/** The call's first output shape. */
function outputOf(ctx: LayerCostContext): ConcreteShape {
  const [y] = ctx.outputs;
  if (y === undefined) throw new Error(`${where(ctx)} has no output shape`);
  return y;
}

/** Height * width and channels of an NHWC image shape [batch, height, width, channels]. */
function image(ctx: LayerCostContext, shape: ConcreteShape): { pixels: number; channels: number } {
  const [, h, w, c] = shape;
  if (shape.length !== 4 || h === undefined || w === undefined || c === undefined) {
    throw new Error(`${where(ctx)} has shape [${shape}], not an NHWC image [batch, h, w, c]`);
  }
  return { pixels: h * w, channels: c };
}

/** Shape of a required weight of known rank, e.g. a Dense kernel [in, units]. */
function weightDims(ctx: LayerCostContext, suffix: string, rank: 2): [number, number];
function weightDims(
  ctx: LayerCostContext,
  suffix: string,
  rank: 4,
): [number, number, number, number];
function weightDims(ctx: LayerCostContext, suffix: string, rank: number): number[] {
  const dims = ctx.requireWeight(suffix);
  if (dims.length !== rank) {
    throw new Error(`${where(ctx)}: weight '${suffix}' has shape [${dims}], expected ${rank} axes`);
  }
  return [...dims];
}

const first = (ctx: LayerCostContext) => elements(inputOf(ctx));
const out = (ctx: LayerCostContext) => elements(outputOf(ctx));

/** Layers that are views or identities at inference: no op runs. */
const free: LayerCostRule = () => [];

/** One elementwise or data-movement op reading every input once and writing the output. */
const copyLike =
  (name: string): LayerCostRule =>
  (ctx) => [op(name, { reads: ctx.inputs.map(elements), writes: out(ctx) })];

/** Costs assume NHWC (TF.js's default and the zoo's); say so rather than miscount NCHW. */
function channelsLast(ctx: LayerCostContext): void {
  if (ctx.config.dataFormat === 'channelsFirst') {
    throw new Error(
      `accountModel: layer '${ctx.layer.name}' (${ctx.className}) is channelsFirst; only channelsLast (NHWC) is supported`,
    );
  }
}

const conv2d: LayerCostRule = (ctx) => {
  channelsLast(ctx);
  const kernel = ctx.requireWeight('kernel');
  const bias = ctx.weight('bias');
  const o = outputOf(ctx);
  // tf.layers Conv2D always fuses its bias; relu/elu/linear fuse too.
  return [
    ...groupedConvOps({
      input: first(ctx),
      inChannels: image(ctx, inputOf(ctx)).channels,
      kernel,
      output: elements(o),
      outPixels: image(ctx, o).pixels,
      fusedBias: bias ? elements(bias) : 0,
    }),
    ...activationOps(ctx.config.activation as string, elements(o), { fused: true }),
  ];
};

const depthwiseConv2d: LayerCostRule = (ctx) => {
  channelsLast(ctx);
  const [kh, kw, c, m] = weightDims(ctx, 'depthwise_kernel', 4);
  const bias = ctx.weight('bias');
  const o = outputOf(ctx);
  const y = elements(o);
  // HWIM [kh, kw, C, M] runs as HWIO [kh, kw, 1, C*M]; tf.layers adds bias and activation separately.
  return [
    ...groupedConvOps({
      input: first(ctx),
      inChannels: c,
      kernel: [kh, kw, 1, c * m],
      output: y,
      outPixels: image(ctx, o).pixels,
    }),
    ...(bias ? [op('biasAdd', { reads: [y], weights: elements(bias), writes: y })] : []),
    ...activationOps(ctx.config.activation as string, y, { fused: false }),
  ];
};

const dense: LayerCostRule = (ctx) => {
  const [inF, units] = weightDims(ctx, 'kernel', 2);
  const bias = ctx.weight('bias');
  const y = out(ctx);
  const rows = y / units;
  return [
    op('matMul', {
      macs: rows * inF * units,
      reads: [first(ctx)],
      weights: inF * units + (bias ? elements(bias) : 0),
      writes: y,
      layer: true,
    }),
    ...activationOps(ctx.config.activation as string, y, { fused: true }),
  ];
};

const batchNormalization: LayerCostRule = (ctx) => {
  const stats = ctx.layer.weights.reduce((n, w) => n + elements(w.shape as number[]), 0);
  return [op('batchNorm', { reads: [first(ctx)], weights: stats, writes: out(ctx), layer: true })];
};

const activationLayer: LayerCostRule = (ctx) =>
  activationOps((ctx.config.activation as string) ?? 'linear', out(ctx), { fused: false });

const elementwiseLayer =
  (name: string): LayerCostRule =>
  (ctx) => [
    op(name, {
      reads: [first(ctx)],
      weights: ctx.layer.weights.reduce((n, w) => n + elements(w.shape as number[]), 0),
      writes: out(ctx),
    }),
  ];

const merge =
  (name: string): LayerCostRule =>
  (ctx) =>
    binaryChain(name, ctx.inputs.map(elements), out(ctx));

/**
 * Squeeze-excitation as @repnets/blocks' SEWeights runs it inside a block or an
 * SEBlock: mean over H and W, 1x1 conv, bias add, relu, 1x1 conv, bias add,
 * sigmoid, multiply. Its convs count as layers in both forms.
 */
function seOps(ctx: LayerCostContext, y: ConcreteShape, hidden: number, branch = 'se'): OpCost[] {
  const c = image(ctx, y).channels;
  const n = elements(y);
  return [
    op('mean', { branch, reads: [n], writes: c }),
    op('conv2d', {
      branch,
      macs: c * hidden,
      reads: [c],
      weights: c * hidden,
      writes: hidden,
      layer: true,
    }),
    op('add', { branch, reads: [hidden], weights: hidden, writes: hidden }),
    op('relu', { branch, reads: [hidden], writes: hidden }),
    op('conv2d', {
      branch,
      macs: hidden * c,
      reads: [hidden],
      weights: hidden * c,
      writes: c,
      layer: true,
    }),
    op('add', { branch, reads: [c], weights: c, writes: c }),
    op('sigmoid', { branch, reads: [c], writes: c }),
    op('mul', { branch, reads: [n, c], writes: n }),
  ];
}

/**
 * What a @repnets/blocks block layer says about itself: its architecture
 * record (fuse's BlockRecord, without the network's stage and index) and its SE
 * width. Read by name rather than by `instanceof`, so a block class of another
 * copy of @repnets/blocks counts the same.
 */
function blockSpec(ctx: LayerCostContext): BranchBlock['spec'] {
  const spec = (ctx.layer as unknown as Partial<Pick<BranchBlock, 'spec'>>).spec;
  if (!spec) {
    throw new Error(
      `accountModel: layer '${ctx.layer.name}' (${ctx.className}) has no block spec; is it a built RepNets block?`,
    );
  }
  return spec;
}

/**
 * A multi-branch block of @repnets/blocks (RepVGGBlock, QARepVGGBlock,
 * MobileOneBlock, ConvBN) in training form, in eval mode, as its record says:
 * every kxk and scale branch is a (grouped) conv followed by its own
 * BatchNorm, the identity a BatchNorm of the input; the branch outputs are
 * summed pairwise, then SE and the activation. QARepVGG: no BatchNorm on the
 * 1x1 and the identity (the input itself is added), one ('post') after the sum. Each branch reads the block input and writes its own
 * intermediate tensors: the traffic that folding into one conv removes.
 * Branches are labelled by role: 'kxk' ('kxk0', 'kxk1', ... for k > 1),
 * 'scale', 'identity', 'se'.
 */
const branchBlock: LayerCostRule = (ctx) => {
  const spec = blockSpec(ctx);
  const x = inputOf(ctx);
  const yShape = outputOf(ctx);
  const y = elements(yShape);
  const ipg = spec.inChannels / spec.groups;
  const { kxk, scale, identity } = spec.branches;
  const qa = spec.kind === 'qarepvgg';
  const convs = [
    ...Array.from({ length: kxk }, (_, j) => ({
      branch: kxk > 1 ? `kxk${j}` : 'kxk',
      size: spec.kernelSize,
      norm: true,
    })),
    ...(scale ? [{ branch: 'scale', size: 1, norm: !qa }] : []),
  ];
  // gamma, beta, moving mean and variance per output channel.
  const bnWeights = 4 * spec.outChannels;
  const ops: OpCost[] = [];
  let summed = 0;
  const addToSum = (branch: string) => {
    if (summed > 0) ops.push(op('add', { branch, reads: [y, y], writes: y }));
    summed++;
  };
  for (const { branch, size, norm } of convs) {
    ops.push(
      ...groupedConvOps({
        input: elements(x),
        inChannels: spec.inChannels,
        kernel: [size, size, ipg, spec.outChannels],
        output: y,
        outPixels: image(ctx, yShape).pixels,
        branch,
      }),
    );
    if (norm)
      ops.push(op('batchNorm', { branch, reads: [y], weights: bnWeights, writes: y, layer: true }));
    addToSum(branch);
  }
  if (identity && qa) {
    // The input itself joins the sum: only the add reads it.
    if (summed > 0) ops.push(op('add', { branch: 'identity', reads: [y, elements(x)], writes: y }));
    summed++;
  } else if (identity) {
    ops.push(
      op('batchNorm', {
        branch: 'identity',
        reads: [elements(x)],
        weights: bnWeights,
        writes: y,
        layer: true,
      }),
    );
    addToSum('identity');
  }
  if (qa)
    ops.push(
      op('batchNorm', { branch: 'post', reads: [y], weights: bnWeights, writes: y, layer: true }),
    );
  const hidden = spec.seHidden ?? 0;
  if (spec.se === 'pre') ops.push(...seOps(ctx, yShape, hidden));
  ops.push(...activationOps(spec.activation, y, { fused: false }));
  if (spec.se === 'post') ops.push(...seOps(ctx, yShape, hidden));
  return ops;
};

/** @repnets/blocks GroupConv2D: split/conv/concat, then a separate bias add and activation. */
const groupConv2d: LayerCostRule = (ctx) => {
  const o = outputOf(ctx);
  const y = elements(o);
  const bias = ctx.weight('bias');
  return [
    ...groupedConvOps({
      input: first(ctx),
      inChannels: image(ctx, inputOf(ctx)).channels,
      kernel: ctx.requireWeight('kernel'),
      output: y,
      outPixels: image(ctx, o).pixels,
    }),
    ...(bias ? [op('add', { reads: [y], weights: elements(bias), writes: y })] : []),
    ...activationOps(ctx.config.activation as string, y, { fused: false }),
  ];
};

/** ChannelShuffle: reshapes are views; the transpose copies every element once. */
const channelShuffle: LayerCostRule = (ctx) => [
  op('transpose', { reads: [first(ctx)], writes: out(ctx) }),
];

/** ChannelSplit: a slice reads and writes only the part it keeps. */
const channelSplit: LayerCostRule = (ctx) => [op('slice', { reads: [out(ctx)], writes: out(ctx) })];

const RULES = new Map<string, LayerCostRule>([
  // Stock tf.layers (the deploy form and plain models).
  ['Conv2D', conv2d],
  ['DepthwiseConv2D', depthwiseConv2d],
  ['Dense', dense],
  ['BatchNormalization', batchNormalization],
  ['ZeroPadding2D', copyLike('pad')],
  ['MaxPooling2D', copyLike('maxPool')],
  ['AveragePooling2D', copyLike('avgPool')],
  ['GlobalAveragePooling2D', copyLike('mean')],
  ['GlobalMaxPooling2D', copyLike('max')],
  ['Concatenate', copyLike('concat')],
  ['Permute', copyLike('transpose')],
  ['Activation', activationLayer],
  ['ReLU', elementwiseLayer('relu')],
  ['LeakyReLU', elementwiseLayer('leakyRelu')],
  ['PReLU', elementwiseLayer('prelu')],
  ['ELU', elementwiseLayer('elu')],
  ['ThresholdedReLU', elementwiseLayer('thresholdedRelu')],
  ['Softmax', elementwiseLayer('softmax')],
  ['Add', merge('add')],
  ['Multiply', merge('mul')],
  // Sums pairwise, then scales once.
  ['Average', (ctx) => [...merge('add')(ctx), op('div', { reads: [out(ctx)], writes: out(ctx) })]],
  ['Maximum', merge('maximum')],
  ['Minimum', merge('minimum')],
  ['Reshape', free],
  ['Flatten', free],
  ['Dropout', free],
  ['SpatialDropout1D', free],
  ['GaussianNoise', free],
  ['GaussianDropout', free],
  ['AlphaDropout', free],
  // @repnets/blocks custom layers (training form, plus GroupConv2D of the deploy form).
  ['RepVGGBlock', branchBlock],
  ['QARepVGGBlock', branchBlock],
  ['MobileOneBlock', branchBlock],
  ['ConvBN', branchBlock],
  ['GroupConv2D', groupConv2d],
  [
    'SEBlock',
    (ctx) => seOps(ctx, outputOf(ctx), (ctx.layer as unknown as { hidden: number }).hidden),
  ],
  ['ChannelSplit', channelSplit],
  ['ChannelShuffle', channelShuffle],
]);

/** Layer classes accountModel knows, sorted. */
export function knownLayerClasses(): string[] {
  return [...RULES.keys()].sort();
}

/**
 * Teaches accountModel the cost of a custom layer class (by its
 * `getClassName()`); replaces an existing rule of that name.
 */
export function registerLayerCost(className: string, rule: LayerCostRule): void {
  if (typeof className !== 'string' || className.length === 0) {
    throw new Error(`registerLayerCost: className must be a non-empty string, got ${className}`);
  }
  if (typeof rule !== 'function') {
    throw new Error(`registerLayerCost('${className}'): rule must be a function`);
  }
  RULES.set(className, rule);
}

export function ruleFor(layer: tf.layers.Layer): LayerCostRule {
  const className = layer.getClassName();
  const rule = RULES.get(className);
  if (!rule) {
    throw new Error(
      `accountModel: no cost rule for layer '${layer.name}' of class ${className}; known: ${knownLayerClasses().join(', ')}. Add one with registerLayerCost('${className}', rule).`,
    );
  }
  return rule;
}
