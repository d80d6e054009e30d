/**
 * A synthetic train-form PyTorch checkpoint of a zoo architecture in one of
 * the layouts of ./torch-layouts.ts, and an independent float64 forward of it
 * (branches conv+BN summed, SE, ReLU, global pool, linear), written with plain
 * loops and no @repnets/fuse code: the reference the folded models answer to.
 */
import type { StateTensor } from '@repnets/fuse';
import {
  type BNValues,
  branchGain,
  conditionedBN,
  fanInKernel,
  rms,
  smallBias,
} from './conditioned-weights.js';
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
  | 'se.bias'
  | 'classifier.weight'
  | 'classifier.bias';

export interface TorchTensorSpec {
  readonly key: string;
  readonly shape: readonly number[];
  readonly role: TensorRole;
  /**
   * For BN tensors, the per-branch gain that keeps the block's output second
   * moment equal to its input's (./conditioned-weights.ts); 1 elsewhere.
   */
  readonly gain: number;
}

/**
 * Every tensor of `layout`'s train form, in each source's registration order
 * (official modules register the SE first, timm's last), BatchNorm counters
 * included as PyTorch saves them, then the classifier of `numClasses`.
 */
export function torchTensors(layout: TorchLayout, numClasses: number): TorchTensorSpec[] {
  const out: TorchTensorSpec[] = [];
  const add = (key: string, shape: number[], role: TensorRole, gain = 1) =>
    out.push({ key, shape, role, gain });
  for (const b of layout.blocks) {
    const { outChannels: o, inChannels: i, groups, kernelSize: k } = b.record;
    const branches =
      b.kxk.length + (b.scale ? 1 : 0) + (b.identity !== undefined || b.bareIdentity ? 1 : 0);
    // Every block of every layout ends in a ReLU.
    const gain = branchGain(branches, true, b.se !== undefined);
    const bn = (m: string) => {
      for (const f of ['weight', 'bias', 'running_mean', 'running_var'] as const)
        add(`${m}.${f}`, [o], `bn.${f}`, gain);
      add(`${m}.num_batches_tracked`, [], 'bn.num_batches_tracked');
    };
    const convBN = (m: string, kk: number) => {
      add(`${m}.conv.weight`, [o, i / groups, kk, kk], 'conv');
      bn(`${m}.bn`);
    };
    const se = () => {
      if (!b.se) return;
      add(`${b.se.down}.weight`, [b.se.hidden, o, 1, 1], 'conv');
      add(`${b.se.down}.bias`, [b.se.hidden], 'se.bias');
      add(`${b.se.up}.weight`, [o, b.se.hidden, 1, 1], 'conv');
      add(`${b.se.up}.bias`, [o], 'se.bias');
    };
    if (layout.source === 'official') se();
    if (b.identity) bn(b.identity);
    for (const m of b.kxk) convBN(m, k);
    if (b.scale && b.bareScale) add(`${b.scale}.weight`, [o, i / groups, 1, 1], 'conv');
    else if (b.scale) convBN(b.scale, 1);
    // QARepVGGBlockV2 registers its BN after the sum last.
    if (b.post) bn(b.post);
    if (layout.source === 'timm') se();
  }
  const features = layout.blocks.at(-1)!.record.outChannels;
  add(`${layout.classifier}.weight`, [numClasses, features], 'classifier.weight');
  add(`${layout.classifier}.bias`, [numClasses], 'classifier.bias');
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

/** A batch of images as TF.js takes it: NHWC float32 and its shape. */
export interface NHWCBatch {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number];
}

/**
 * A train-form checkpoint of `layout` with random weights and non-trivial BN
 * statistics, well conditioned (./conditioned-weights.ts): kernels of
 * variance 1 / fan-in; per branch variance in [0.5, 1.5], mean and beta
 * random, gamma a random multiple of sqrt(var + eps); each block's gammas and
 * betas then scaled so its output has unit RMS on `calibration`. The
 * logits stay of order one through 50 blocks, and an error in any block
 * shows in them.
 */
export function torchCheckpoint(
  layout: TorchLayout,
  numClasses: number,
  seed: number,
  calibration: NHWCBatch,
): Map<string, StateTensor> {
  const r = rng(seed);
  const sd = new Map<string, StateTensor>();
  // A BN module's four tensors are drawn together: gamma depends on the variance.
  const modules = new Map<string, BNValues>();
  const FIELD = {
    'bn.weight': 'gamma',
    'bn.bias': 'beta',
    'bn.running_mean': 'mean',
    'bn.running_var': 'variance',
  } as const;
  for (const t of torchTensors(layout, numClasses)) {
    const n = size(t.shape);
    let data: Float32Array;
    switch (t.role) {
      case 'bn.num_batches_tracked':
        sd.set(t.key, { shape: [...t.shape], data: new Float64Array([100]), dtype: 'I64' });
        continue;
      case 'bn.weight':
      case 'bn.bias':
      case 'bn.running_mean':
      case 'bn.running_var': {
        const m = t.key.slice(0, t.key.lastIndexOf('.'));
        let bn = modules.get(m);
        if (bn === undefined) {
          bn = conditionedBN(r, n, t.gain, TORCH_BN_EPS);
          modules.set(m, bn);
        }
        data = bn[FIELD[t.role]];
        break;
      }
      case 'conv':
      case 'classifier.weight':
        data = fanInKernel(r, n, size(t.shape.slice(1)));
        break;
      case 'se.bias':
        data = smallBias(r, n, 0.5);
        break;
      case 'classifier.bias':
        data = smallBias(r, n);
        break;
    }
    sd.set(t.key, { shape: [...t.shape], data });
  }
  calibrateCheckpoint(sd, layout, calibration.data, calibration.shape);
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

/** The NHWC float32 batch TF.js takes, as the float64 NCHW activations of the forward. */
function fromNHWC(nhwc: Float32Array, shape: readonly [number, number, number, number]): Act {
  const [n, h, w, c] = shape;
  const x: Act = { n, c, h, w, data: new Float64Array(n * c * h * w) };
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++)
          x.data[((b * c + ch) * h + y) * w + xx] = nhwc[((b * h + y) * w + xx) * c + ch]!;
  return x;
}

type Block = TorchLayout['blocks'][number];

/**
 * A block's branch sum (its conv+BN branches and identity BN), before SE and
 * ReLU; QARepVGG's: its kxk conv+BN, bare 1x1 conv and plain `x` summed, then
 * its BN after the sum.
 */
function branchSum(sd: ReadonlyMap<string, StateTensor>, block: Block, x: Act): Act {
  const { outChannels: out, kernelSize: k, stride, groups } = block.record;
  let sum: Act | undefined;
  const branch = (m: string, kk: number) => {
    const y = conv(x, tensor(sd, `${m}.conv.weight`), out, kk, stride, groups);
    sum ??= { ...y, data: new Float64Array(y.data.length) };
    addBN(sd, `${m}.bn`, y, sum.data);
  };
  for (const m of block.kxk) branch(m, k);
  if (block.scale && block.bareScale) {
    const y = conv(x, tensor(sd, `${block.scale}.weight`), out, 1, stride, groups);
    for (let i = 0; i < y.data.length; i++) sum!.data[i]! += y.data[i]!;
  } else if (block.scale) branch(block.scale, 1);
  if (block.identity) addBN(sd, block.identity, x, sum!.data);
  if (block.bareIdentity) for (let i = 0; i < x.data.length; i++) sum!.data[i]! += x.data[i]!;
  if (block.post === undefined) return sum!;
  const after = new Float64Array(sum!.data.length);
  addBN(sd, block.post, sum!, after);
  return { ...sum!, data: after };
}

/** SE (when the block has one) and ReLU, in place on the branch sum. */
function finishBlock(sd: ReadonlyMap<string, StateTensor>, block: Block, sum: Act): Act {
  if (block.se) squeezeExcite(sd, block.se, sum);
  for (let i = 0; i < sum.data.length; i++) sum.data[i] = Math.max(0, sum.data[i]!);
  return sum;
}

/**
 * The BN modules whose gammas and betas scale a block's output: its conv+BN
 * branches' and its identity's, or (QARepVGG) its BN after the sum alone.
 */
const bnModules = (block: Block) =>
  block.post !== undefined
    ? [block.post]
    : [
        ...block.kxk.map((m) => `${m}.bn`),
        ...(block.scale ? [`${block.scale}.bn`] : []),
        ...(block.identity ? [block.identity] : []),
      ];

/**
 * Scales each block's BN gammas and betas (together, every statistic as
 * drawn) so its output (after SE and ReLU) has unit RMS on the batch: the
 * float64 forward, block by block. The branch sum is linear in those gammas
 * and betas, so it is computed once per block and scaled; an SE gate moves
 * with the scale, so SE blocks take a few steps.
 */
export function calibrateCheckpoint(
  sd: ReadonlyMap<string, StateTensor>,
  layout: TorchLayout,
  nhwc: Float32Array,
  shape: readonly [number, number, number, number],
): void {
  let x = fromNHWC(nhwc, shape);
  for (const block of layout.blocks) {
    const sum = branchSum(sd, block, x);
    const scaled = (s: number) =>
      finishBlock(sd, block, { ...sum, data: sum.data.map((v) => v * s) });
    let s = 1;
    let out = scaled(s);
    for (let step = 0; step < 8; step++) {
      const size = rms(out.data);
      if (size === 0 || Math.abs(size - 1) < 1e-3) break;
      s /= size;
      out = scaled(s);
    }
    for (const m of bnModules(block)) {
      for (const f of ['weight', 'bias']) {
        const d = tensor(sd, `${m}.${f}`);
        for (let i = 0; i < d.length; i++) d[i] = d[i]! * s;
      }
    }
    // The block's output with the scaled gammas and betas, up to their float32 rounding.
    x = out;
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
  const n = shape[0];
  let x = fromNHWC(nhwc, shape);
  for (const block of layout.blocks) x = finishBlock(sd, block, branchSum(sd, block, x));
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
