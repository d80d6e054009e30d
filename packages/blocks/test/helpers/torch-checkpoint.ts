/**
 * A synthetic train-form PyTorch checkpoint of a zoo architecture in one of
 * the layouts of ./torch-layouts.ts, and an independent float64 forward of it
 * (branches conv+BN summed, SE, ReLU, global pool, linear), written with plain
 * loops and no @repnets/fuse code: the reference the folded models answer to.
 */
import type { StateTensor } from '@repnets/fuse';
import { rng } from './random-bn.js';
import type { TorchLayout } from './torch-layouts.js';

/** PyTorch's BatchNorm2d default epsilon. */
export const TORCH_BN_EPS = 1e-5;

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/** What a tensor is, which decides its random values. */
export type TensorRole =
  | 'conv'
  | 'bn.weight'
  | 'bn.bias'
  | 'bn.running_mean'
  | 'bn.running_var'
  | 'bn.num_batches_tracked'
  | 'bias';

export interface TorchTensorSpec {
  readonly key: string;
  readonly shape: readonly number[];
  readonly role: TensorRole;
  /** Parallel branches of the block a conv weight belongs to (1 elsewhere). */
  readonly branches: number;
}

/**
 * Every tensor of `layout`'s train form, in each source's registration order
 * (official modules register the SE first, timm's last), BatchNorm counters
 * included as PyTorch saves them, then the classifier of `numClasses`.
 */
export function torchTensors(layout: TorchLayout, numClasses: number): TorchTensorSpec[] {
  const out: TorchTensorSpec[] = [];
  const add = (key: string, shape: number[], role: TensorRole, branches = 1) =>
    out.push({ key, shape, role, branches });
  const bn = (m: string, c: number) => {
    for (const f of ['weight', 'bias', 'running_mean', 'running_var'] as const)
      add(`${m}.${f}`, [c], `bn.${f}`);
    add(`${m}.num_batches_tracked`, [], 'bn.num_batches_tracked');
  };
  for (const b of layout.blocks) {
    const { outChannels: o, inChannels: i, groups, kernelSize: k } = b.record;
    const branches = b.kxk.length + (b.scale ? 1 : 0) + (b.identity ? 1 : 0);
    const convBN = (m: string, kk: number) => {
      add(`${m}.conv.weight`, [o, i / groups, kk, kk], 'conv', branches);
      bn(`${m}.bn`, o);
    };
    const se = () => {
      if (!b.se) return;
      add(`${b.se.down}.weight`, [b.se.hidden, o, 1, 1], 'conv');
      add(`${b.se.down}.bias`, [b.se.hidden], 'bias');
      add(`${b.se.up}.weight`, [o, b.se.hidden, 1, 1], 'conv');
      add(`${b.se.up}.bias`, [o], 'bias');
    };
    if (layout.source === 'official') se();
    if (b.identity) bn(b.identity, o);
    for (const m of b.kxk) convBN(m, k);
    if (b.scale) convBN(b.scale, 1);
    if (layout.source === 'timm') se();
  }
  const features = layout.blocks.at(-1)!.record.outChannels;
  add(`${layout.classifier}.weight`, [numClasses, features], 'conv');
  add(`${layout.classifier}.bias`, [numClasses], 'bias');
  return out;
}

/**
 * Every tensor of `layout`'s deploy form (what the source's own
 * re-parameterization saves): per block its one conv with bias and its SE,
 * then the classifier. Key -> shape.
 */
export function torchDeployShapes(layout: TorchLayout, numClasses: number): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const b of layout.blocks) {
    const { outChannels: o, inChannels: i, groups, kernelSize: k } = b.record;
    out.set(`${b.deploy}.weight`, [o, i / groups, k, k]);
    out.set(`${b.deploy}.bias`, [o]);
    if (b.se) {
      out.set(`${b.se.down}.weight`, [b.se.hidden, o, 1, 1]);
      out.set(`${b.se.down}.bias`, [b.se.hidden]);
      out.set(`${b.se.up}.weight`, [o, b.se.hidden, 1, 1]);
      out.set(`${b.se.up}.bias`, [o]);
    }
  }
  const features = layout.blocks.at(-1)!.record.outChannels;
  out.set(`${layout.classifier}.weight`, [numClasses, features]);
  out.set(`${layout.classifier}.bias`, [numClasses]);
  return out;
}

/**
 * A train-form checkpoint of `layout` with random weights and non-trivial BN
 * statistics (mean in [-0.5, 0.5], var in [0.5, 1.5], gamma in [0.5, 1.5],
 * beta in [-0.5, 0.5]). Weights are He-scaled and split over a block's
 * branches, so activations stay of order one through 50 blocks.
 */
export function torchCheckpoint(
  layout: TorchLayout,
  numClasses: number,
  seed: number,
): Map<string, StateTensor> {
  const r = rng(seed);
  const sd = new Map<string, StateTensor>();
  for (const t of torchTensors(layout, numClasses)) {
    if (t.role === 'bn.num_batches_tracked') {
      sd.set(t.key, { shape: [...t.shape], data: new Float64Array([100]), dtype: 'I64' });
      continue;
    }
    const fanIn = size(t.shape.slice(1));
    const bound = Math.sqrt(6 / fanIn / t.branches);
    const value: Record<Exclude<TensorRole, 'bn.num_batches_tracked'>, () => number> = {
      conv: () => (2 * r() - 1) * bound,
      'bn.weight': () => 0.5 + r(),
      'bn.bias': () => r() - 0.5,
      'bn.running_mean': () => r() - 0.5,
      'bn.running_var': () => 0.5 + r(),
      bias: () => r() - 0.5,
    };
    sd.set(t.key, {
      shape: [...t.shape],
      data: Float32Array.from({ length: size(t.shape) }, value[t.role]),
    });
  }
  return sd;
}

/** A batch of activations, NCHW, in float64. */
interface Act {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly data: Float64Array;
}

function tensor(sd: ReadonlyMap<string, StateTensor>, key: string): Float32Array | Float64Array {
  const t = sd.get(key);
  if (!t) throw new Error(`reference forward: the checkpoint has no '${key}'`);
  return t.data;
}

/** PyTorch's Conv2d (OIHW weight, no bias) with zero padding `pad` on every side. */
function conv(
  x: Act,
  weight: Float32Array | Float64Array,
  out: number,
  k: number,
  stride: number,
  groups: number,
): Act {
  const pad = (k - 1) / 2;
  const h = Math.floor((x.h + 2 * pad - k) / stride) + 1;
  const w = Math.floor((x.w + 2 * pad - k) / stride) + 1;
  const ipg = x.c / groups;
  const opg = out / groups;
  const y = new Float64Array(x.n * out * h * w);
  for (let n = 0; n < x.n; n++)
    for (let o = 0; o < out; o++) {
      const g = Math.floor(o / opg);
      for (let oy = 0; oy < h; oy++)
        for (let ox = 0; ox < w; ox++) {
          let s = 0;
          for (let ci = 0; ci < ipg; ci++) {
            const plane = (n * x.c + g * ipg + ci) * x.h * x.w;
            for (let ky = 0; ky < k; ky++) {
              const iy = oy * stride - pad + ky;
              if (iy < 0 || iy >= x.h) continue;
              for (let kx = 0; kx < k; kx++) {
                const ix = ox * stride - pad + kx;
                if (ix < 0 || ix >= x.w) continue;
                s += x.data[plane + iy * x.w + ix]! * weight[((o * ipg + ci) * k + ky) * k + kx]!;
              }
            }
          }
          y[((n * out + o) * h + oy) * w + ox] = s;
        }
    }
  return { n: x.n, c: out, h, w, data: y };
}

/** Eval-mode BatchNorm2d of module `m`, added into `into`. */
function addBN(sd: ReadonlyMap<string, StateTensor>, m: string, x: Act, into: Float64Array): void {
  const g = tensor(sd, `${m}.weight`);
  const b = tensor(sd, `${m}.bias`);
  const mean = tensor(sd, `${m}.running_mean`);
  const v = tensor(sd, `${m}.running_var`);
  const hw = x.h * x.w;
  for (let i = 0; i < x.data.length; i++) {
    const c = Math.floor(i / hw) % x.c;
    into[i]! += ((x.data[i]! - mean[c]!) / Math.sqrt(v[c]! + TORCH_BN_EPS)) * g[c]! + b[c]!;
  }
}

/** x * sigmoid(up(relu(down(mean_hw(x))))), in place. */
function squeezeExcite(
  sd: ReadonlyMap<string, StateTensor>,
  se: NonNullable<TorchLayout['blocks'][number]['se']>,
  x: Act,
): void {
  const hw = x.h * x.w;
  const dw = tensor(sd, `${se.down}.weight`);
  const db = tensor(sd, `${se.down}.bias`);
  const uw = tensor(sd, `${se.up}.weight`);
  const ub = tensor(sd, `${se.up}.bias`);
  for (let n = 0; n < x.n; n++) {
    const mean = Array.from({ length: x.c }, (_, c) => {
      let s = 0;
      for (let p = 0; p < hw; p++) s += x.data[(n * x.c + c) * hw + p]!;
      return s / hw;
    });
    const hidden = Array.from({ length: se.hidden }, (_, j) => {
      let s = db[j]!;
      for (let c = 0; c < x.c; c++) s += dw[j * x.c + c]! * mean[c]!;
      return Math.max(0, s);
    });
    for (let c = 0; c < x.c; c++) {
      let s = ub[c]!;
      for (let j = 0; j < se.hidden; j++) s += uw[c * se.hidden + j]! * hidden[j]!;
      const gate = 1 / (1 + Math.exp(-s));
      for (let p = 0; p < hw; p++) x.data[(n * x.c + c) * hw + p]! *= gate;
    }
  }
}

/**
 * The train-form network of `sd` in eval mode, in float64: per block the sum
 * of its conv+BN branches and identity BN, its SE, ReLU; then global average
 * pooling and the linear classifier. `nhwc` is the batch as TF.js takes it;
 * returns the logits [n, classes], row-major.
 */
export function torchForward(
  sd: ReadonlyMap<string, StateTensor>,
  layout: TorchLayout,
  nhwc: Float32Array,
  shape: readonly [number, number, number, number],
): Float64Array {
  const [n, h, w, c] = shape;
  let x: Act = { n, c, h, w, data: new Float64Array(n * c * h * w) };
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++)
          x.data[((b * c + ch) * h + y) * w + xx] = nhwc[((b * h + y) * w + xx) * c + ch]!;
  for (const block of layout.blocks) {
    const { outChannels: out, kernelSize: k, stride, groups } = block.record;
    let sum: Act | undefined;
    const branch = (m: string, kk: number) => {
      const y = conv(x, tensor(sd, `${m}.conv.weight`), out, kk, stride, groups);
      sum ??= { ...y, data: new Float64Array(y.data.length) };
      addBN(sd, `${m}.bn`, y, sum.data);
    };
    for (const m of block.kxk) branch(m, k);
    if (block.scale) branch(block.scale, 1);
    if (block.identity) addBN(sd, block.identity, x, sum!.data);
    if (block.se) squeezeExcite(sd, block.se, sum!);
    for (let i = 0; i < sum!.data.length; i++) sum!.data[i] = Math.max(0, sum!.data[i]!);
    x = sum!;
  }
  const weight = tensor(sd, `${layout.classifier}.weight`);
  const bias = tensor(sd, `${layout.classifier}.bias`);
  const classes = bias.length;
  const hw = x.h * x.w;
  const logits = new Float64Array(n * classes);
  for (let b = 0; b < n; b++) {
    const pooled = Array.from({ length: x.c }, (_, ch) => {
      let s = 0;
      for (let p = 0; p < hw; p++) s += x.data[(b * x.c + ch) * hw + p]!;
      return s / hw;
    });
    for (let k = 0; k < classes; k++) {
      let s = bias[k]!;
      for (let ch = 0; ch < x.c; ch++) s += weight[k * x.c + ch]! * pooled[ch]!;
      logits[b * classes + k] = s;
    }
  }
  return logits;
}
