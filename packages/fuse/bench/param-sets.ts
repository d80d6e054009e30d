/**
 * Train-form parameter sets of full-size networks, generated at random: what a
 * fold of a real checkpoint has to stream through memory. Only the foldable
 * tensors (conv kernels, BN statistics) are built; SE and classifier weights are
 * left out because folding does not touch them.
 */
import {
  type BatchNorm,
  type ConvBN,
  type FoldInto,
  foldMobileOneBlock,
  foldRepVGGBlock,
  type KernelLayout,
  makeKernel,
  shapeFor,
} from '../src/index.js';

export interface BenchBlock {
  /** Every input array of the block, for the memcpy baseline. */
  readonly inputs: Float32Array[];
  /** Folds into preallocated buffers when `into` is given. */
  readonly fold: (into?: FoldInto) => { kernel: { data: Float32Array }; bias: Float32Array };
  /** Preallocated output buffers of the right shape. */
  readonly into: FoldInto;
  readonly outputFloats: number;
}

export interface ParamSet {
  readonly model: string;
  readonly layout: 'OIHW' | 'TFJS';
  readonly blocks: BenchBlock[];
  readonly trainParams: number;
  readonly deployParams: number;
}

/** xorshift32 fill: fast enough for 120M floats, values in [-1, 1). */
function fill(a: Float32Array, state: { s: number }, lo = -1, hi = 1): Float32Array {
  let s = state.s;
  const span = (hi - lo) / 4294967296;
  for (let j = 0; j < a.length; j++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[j] = lo + (s >>> 0) * span;
  }
  state.s = s;
  return a;
}

function bn(c: number, st: { s: number }): BatchNorm {
  return {
    gamma: fill(new Float32Array(c), st, 0.5, 1.5),
    beta: fill(new Float32Array(c), st, -0.5, 0.5),
    mean: fill(new Float32Array(c), st, -0.5, 0.5),
    variance: fill(new Float32Array(c), st, 0.5, 1.5),
    eps: 1e-5,
  };
}

function bnArrays(b: BatchNorm): Float32Array[] {
  return [b.gamma!, b.beta!, b.mean, b.variance];
}

interface ConvSpec {
  readonly inC: number;
  readonly outC: number;
  readonly k: number;
  readonly groups: number;
}

/** One conv+BN branch in the layout TF.js or PyTorch would hand us. */
function convBN(spec: ConvSpec, k: number, family: 'OIHW' | 'TFJS', st: { s: number }): ConvBN {
  const ipg = spec.inC / spec.groups;
  const depthwise = spec.groups === spec.inC && ipg === 1 && spec.groups > 1;
  const layout: KernelLayout = family === 'OIHW' ? 'OIHW' : depthwise ? 'HWIM' : 'HWIO';
  const shape = shapeFor(layout, spec.outC, ipg, k, k, depthwise ? spec.inC : undefined);
  const kernel = makeKernel(layout, shape, fill(new Float32Array(spec.outC * ipg * k * k), st));
  return { kernel, bn: bn(spec.outC, st) };
}

function intoFor(template: ConvBN, spec: ConvSpec): FoldInto {
  const t = template.kernel;
  return { kernel: makeKernel(t.layout, t.shape), bias: new Float32Array(spec.outC) };
}

function countFloats(arrays: Float32Array[]): number {
  return arrays.reduce((n, a) => n + a.length, 0);
}

/** RepVGG block: kxk+BN, 1x1+BN, identity BN when in == out and stride 1. */
function repvggBlock(
  spec: ConvSpec,
  stride: number,
  family: 'OIHW' | 'TFJS',
  st: { s: number },
): BenchBlock {
  const dense = convBN(spec, 3, family, st);
  const conv1x1 = convBN(spec, 1, family, st);
  const identity = spec.inC === spec.outC && stride === 1 ? bn(spec.outC, st) : undefined;
  const params = { dense, conv1x1, identity, groups: spec.groups, stride };
  const inputs = [
    dense.kernel.data,
    ...bnArrays(dense.bn),
    conv1x1.kernel.data,
    ...bnArrays(conv1x1.bn),
  ];
  if (identity) inputs.push(...bnArrays(identity));
  return {
    inputs,
    fold: (into) => foldRepVGGBlock(params, into),
    into: intoFor(dense, spec),
    outputFloats: dense.kernel.data.length + spec.outC,
  };
}

/** One MobileOne block: k kxk branches, 1x1 scale branch when k > 1, identity BN. */
function mobileoneBlock(
  spec: ConvSpec,
  stride: number,
  branches: number,
  family: 'OIHW' | 'TFJS',
  st: { s: number },
): BenchBlock {
  const convs = Array.from({ length: branches }, () => convBN(spec, spec.k, family, st));
  const [first] = convs;
  if (first === undefined) throw new Error(`mobileoneBlock: ${branches} branches, expected >= 1`);
  const scale = spec.k > 1 ? convBN(spec, 1, family, st) : undefined;
  const identity = spec.inC === spec.outC && stride === 1 ? bn(spec.outC, st) : undefined;
  const params = { convs, scale, identity, groups: spec.groups, stride };
  const inputs = convs.flatMap((c) => [c.kernel.data, ...bnArrays(c.bn)]);
  if (scale) inputs.push(scale.kernel.data, ...bnArrays(scale.bn));
  if (identity) inputs.push(...bnArrays(identity));
  return {
    inputs,
    fold: (into) => foldMobileOneBlock(params, into),
    into: intoFor(first, spec),
    outputFloats: first.kernel.data.length + spec.outC,
  };
}

function finish(model: string, family: 'OIHW' | 'TFJS', blocks: BenchBlock[]): ParamSet {
  return {
    model,
    layout: family,
    blocks,
    trainParams: blocks.reduce((n, b) => n + countFloats(b.inputs), 0),
    deployParams: blocks.reduce((n, b) => n + b.outputFloats, 0),
  };
}

/**
 * RepVGG-B3 (Ding et al. 2021, Table 2): stages of 1, 4, 6, 16, 1 blocks, widths
 * 64, 64*3, 128*3, 256*3, 512*5, the first block of each stage at stride 2.
 * `divisor` shrinks every width for quick smoke runs.
 */
export function repvggB3(family: 'OIHW' | 'TFJS', divisor = 1, seed = 1): ParamSet {
  const st = { s: seed | 1 };
  // [width, depth] per stage.
  const stages = [
    [64, 1],
    [192, 4],
    [384, 6],
    [768, 16],
    [2560, 1],
  ] as const;
  const blocks: BenchBlock[] = [];
  let inC = 3;
  stages.forEach(([width, depth]) => {
    const w = Math.max(1, Math.round(width / divisor));
    for (let b = 0; b < depth; b++) {
      const stride = b === 0 ? 2 : 1;
      blocks.push(repvggBlock({ inC, outC: w, k: 3, groups: 1 }, stride, family, st));
      inC = w;
    }
  });
  return finish('RepVGG-B3', family, blocks);
}

/**
 * MobileOne-S4 (Vasu et al. 2023, Table 7): stem 3->64 at stride 2, then stages
 * of 2, 8, 10, 1 units at widths 64*3.0, 128*3.5, 256*3.5, 512*4.0; each unit is a
 * depthwise 3x3 block (stride 2 on the first unit) and a pointwise 1x1 block,
 * k = 1 conv branch each.
 */
export function mobileoneS4(family: 'OIHW' | 'TFJS', divisor = 1, seed = 2): ParamSet {
  const st = { s: seed | 1 };
  const k = 1;
  const d = (w: number) => Math.max(1, Math.round(w / divisor));
  const blocks: BenchBlock[] = [];
  let inC = d(64);
  blocks.push(mobileoneBlock({ inC: 3, outC: inC, k: 3, groups: 1 }, 2, 1, family, st));
  // [width, units] per stage.
  const stages = [
    [192, 2],
    [448, 8],
    [896, 10],
    [2048, 1],
  ] as const;
  stages.forEach(([width, units]) => {
    const w = d(width);
    for (let b = 0; b < units; b++) {
      const stride = b === 0 ? 2 : 1;
      blocks.push(mobileoneBlock({ inC, outC: inC, k: 3, groups: inC }, stride, k, family, st));
      blocks.push(mobileoneBlock({ inC, outC: w, k: 1, groups: 1 }, 1, k, family, st));
      inC = w;
    }
  });
  return finish('MobileOne-S4', family, blocks);
}
