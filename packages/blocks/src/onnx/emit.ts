import { type Kernel, toOIHW } from '@repnets/fuse';
import { float, type GraphBuilder, int, ints, type Pads, type Value } from './graph.js';

/** Where a converter is, for error messages: the layer and its class. */
export interface Where {
  readonly layer: string;
  readonly className: string;
}

export function fail(w: Where, message: string): never {
  throw new Error(`exportOnnx: layer '${w.layer}' (${w.className}): ${message}`);
}

export interface ConvSpec {
  /** HWIO (conv, grouped conv) or HWIM (depthwise); written as OIHW. */
  readonly kernel: Kernel;
  readonly bias?: Float32Array;
  readonly strides: readonly [number, number];
  readonly dilations?: readonly [number, number];
  /** Explicit zero padding [top, left, bottom, right] on top of what the input carries. */
  readonly pads: Pads;
  readonly group: number;
}

/**
 * One native NCHW Conv. Any ZeroPadding2D still pending on `x` is added to the
 * conv's own `pads` instead of becoming a Pad node; grouped and depthwise
 * kernels keep their `group`, so nothing is split and concatenated.
 */
export function conv(g: GraphBuilder, scope: string, x: Value, c: ConvSpec): string {
  const { name, pads: carried } = g.convInput(x);
  const w = toOIHW(c.kernel);
  const inputs = [name, g.floats(`${scope}/weight`, w.shape, w.data)];
  if (c.bias) inputs.push(g.floats(`${scope}/bias`, [c.bias.length], c.bias));
  const [t, l, b, r] = [
    c.pads[0] + carried[0],
    c.pads[1] + carried[1],
    c.pads[2] + carried[2],
    c.pads[3] + carried[3],
  ];
  return g.op(
    'Conv',
    inputs,
    {
      kernel_shape: ints([w.shape[2], w.shape[3]]),
      strides: ints(c.strides),
      dilations: ints(c.dilations ?? [1, 1]),
      pads: ints([t, l, b, r]),
      group: int(c.group),
    },
    scope,
  );
}

/** TF's 'same' padding for one axis: the extra pixel of an odd total goes after (bottom/right). */
export function samePads(
  w: Where,
  size: number | null | undefined,
  k: number,
  stride: number,
  dilation = 1,
): [number, number] {
  if (typeof size !== 'number') {
    fail(w, `'same' padding needs a known spatial size, got ${String(size)}`);
  }
  const effective = (k - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + effective - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

export interface BNParams {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly epsilon: number;
}

/** Inference BatchNormalization over axis 1 (NCHW channels, or features of a 2-D value). */
export function batchNorm(g: GraphBuilder, scope: string, x: string, bn: BNParams): string {
  const c = bn.gamma.length;
  const t = (n: string, d: Float32Array) => g.floats(`${scope}/${n}`, [c], d);
  return g.op(
    'BatchNormalization',
    [x, t('scale', bn.gamma), t('bias', bn.beta), t('mean', bn.mean), t('var', bn.variance)],
    { epsilon: float(bn.epsilon) },
    scope,
  );
}

/** Add for two values, Sum for more: one node either way. */
export function sum(g: GraphBuilder, scope: string, xs: readonly string[]): string {
  if (xs.length === 1) return xs[0]!;
  return g.op(xs.length === 2 ? 'Add' : 'Sum', xs, {}, scope);
}

/**
 * A TF.js activation by its serialized name. `channelAxis` is where TF's last
 * axis sits in the ONNX layout (softmax normalizes over it).
 */
export function activation(
  g: GraphBuilder,
  w: Where,
  scope: string,
  x: string,
  name: string | undefined,
  channelAxis: number,
): string {
  const clip = (lo: number, hi: number) =>
    g.op(
      'Clip',
      [
        x,
        g.floats(`${scope}/min`, [], Float32Array.of(lo)),
        g.floats(`${scope}/max`, [], Float32Array.of(hi)),
      ],
      {},
      scope,
    );
  switch (name ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return g.op('Relu', [x], {}, scope);
    case 'relu6':
      return clip(0, 6);
    case 'sigmoid':
      return g.op('Sigmoid', [x], {}, scope);
    case 'hardSigmoid':
      // TF.js: clip(0.2 x + 0.5, 0, 1), which is ONNX's default HardSigmoid.
      return g.op('HardSigmoid', [x], { alpha: float(0.2), beta: float(0.5) }, scope);
    case 'tanh':
      return g.op('Tanh', [x], {}, scope);
    case 'elu':
      return g.op('Elu', [x], { alpha: float(1) }, scope);
    case 'selu':
      return g.op('Selu', [x], {}, scope);
    case 'softplus':
      return g.op('Softplus', [x], {}, scope);
    case 'softsign':
      return g.op('Softsign', [x], {}, scope);
    case 'softmax':
      return g.op('Softmax', [x], { axis: int(channelAxis) }, scope);
    case 'swish':
      return g.op('Mul', [x, g.op('Sigmoid', [x], {}, `${scope}_gate`)], {}, scope);
    case 'mish':
      return g.op(
        'Mul',
        [x, g.op('Tanh', [g.op('Softplus', [x], {}, `${scope}_sp`)], {}, `${scope}_tanh`)],
        {},
        scope,
      );
    default:
      return fail(w, `activation '${name}' has no ONNX mapping here`);
  }
}

/** Squeeze-excitation weights as our layers keep them: 1x1 HWIO kernels with bias. */
export interface SEParams {
  readonly downKernel: Kernel;
  readonly downBias: Float32Array;
  readonly upKernel: Kernel;
  readonly upBias: Float32Array;
}

/**
 * `x * sigmoid(up(relu(down(mean_hw(x)))))` on an NCHW value, the SE of our
 * blocks (sigmoid gate, ReLU hidden layer).
 */
export function squeezeExcite(g: GraphBuilder, scope: string, x: Value, se: SEParams): string {
  const xs = g.nchw(x);
  const pooled = g.op('GlobalAveragePool', [xs], {}, `${scope}/pool`);
  const c = se.downKernel.shape[2];
  const pooledValue: Value = { name: pooled, layout: 'NCHW', shape: [null, 1, 1, c] };
  const one = { strides: [1, 1], pads: [0, 0, 0, 0], group: 1 } as const;
  const down = conv(g, `${scope}/down`, pooledValue, {
    kernel: se.downKernel,
    bias: se.downBias,
    ...one,
  });
  const hidden = g.op('Relu', [down], {}, `${scope}/down_relu`);
  const hiddenValue: Value = {
    name: hidden,
    layout: 'NCHW',
    shape: [null, 1, 1, se.downBias.length],
  };
  const up = conv(g, `${scope}/up`, hiddenValue, { kernel: se.upKernel, bias: se.upBias, ...one });
  const gate = g.op('Sigmoid', [up], {}, `${scope}/gate`);
  return g.op('Mul', [xs, gate], {}, scope);
}
