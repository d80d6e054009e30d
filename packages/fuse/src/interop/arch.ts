/**
 * Architecture configs for the checkpoint adapters: the per-block geometry
 * (channels, kernel, stride, groups, branches) of the RepVGG and MobileOne
 * models, so a checkpoint can be checked against what the model must hold and
 * strides that no tensor shape reveals are known. Derived from the records of
 * `../arch/` (the only place the tables and rules live), in the flat shape the
 * adapters read.
 */

import {
  ArchError,
  architecture,
  type BlockRecord,
  isArchitectureName,
  MOBILEONE_ARCHS,
  type MobileOneArch,
  type MobileOneLayout,
  mobileoneBlocks,
  REPVGG_ARCHS,
  type RepVGGArch,
  type RepVGGLayout,
  repvggBlocks,
} from '../arch/index.js';
import { FuseError } from '../errors.js';
import type { BlockFamily } from './layouts.js';

export {
  MOBILEONE_ARCHS,
  MOBILEONE_DEPTHS,
  type MobileOneArch,
  REPVGG_ARCHS,
  type RepVGGArch,
} from '../arch/index.js';

/** One re-parameterizable block of a model, in network order. */
export interface BlockSpec {
  /** 0 is the stem; stages count from 1. */
  readonly stage: number;
  /** Index of the block within its stage. */
  readonly index: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Odd, square kernel of the kxk branches (and of the folded conv). */
  readonly kernelSize: number;
  readonly stride: number;
  readonly groups: number;
  /** Number of kxk conv+BN branches: 1 for RepVGG, k for MobileOne. */
  readonly convBranches: number;
  /** Whether there is a 1x1 conv+BN branch (RepVGG always; MobileOne when the kernel is > 1). */
  readonly scaleBranch: boolean;
  /** Whether there is an identity BN branch (in == out and stride 1, in all four sources). */
  readonly identity: boolean;
  /** Whether a squeeze-excite follows the branch sum (before the ReLU). */
  readonly se: boolean;
}

export interface ArchConfig {
  readonly name: string;
  readonly family: BlockFamily;
  /** Image channels the stem reads. */
  readonly inChannels: number;
  readonly blocks: readonly BlockSpec[];
}

/** A RepVGG from stage specs, as the adapters take it: the record layout (stem stride 2), named, SE on or off. */
export type RepVGGArchOptions = Omit<RepVGGLayout, 'stemStride' | 'se'> & {
  readonly name: string;
  /** Image channels; 3 unless said otherwise. */
  readonly inChannels?: number;
  /** Squeeze-excite in every block, stem included (RepVGG-D2se). */
  readonly se?: boolean;
};

/** A MobileOne from stage specs, as the adapters take it: the record layout (stem stride 2), named. */
export type MobileOneArchOptions = Omit<MobileOneLayout, 'stemStride'> & {
  readonly name: string;
  readonly inChannels?: number;
};

/**
 * A record block in the shape the checkpoint adapters check against: for an
 * ArchConfig of a record no published model has (other widths, a zoo model of
 * ours), `{ name, family, inChannels, blocks: record.blocks.map(blockSpecOf) }`.
 */
export function blockSpecOf(b: BlockRecord): BlockSpec {
  return {
    stage: b.stage,
    index: b.index,
    inChannels: b.inChannels,
    outChannels: b.outChannels,
    kernelSize: b.kernelSize,
    stride: b.stride,
    groups: b.groups,
    convBranches: b.branches.kxk,
    scaleBranch: b.branches.scale,
    identity: b.branches.identity,
    se: b.se !== 'none',
  };
}

/** fuse's own errors name the function: the records' name the architecture. */
function asFuseError<T>(op: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ArchError) throw new FuseError(op, 'config', e.message);
    throw e;
  }
}

/** A RepVGG architecture: stem, then stages of 3x3 blocks with a 1x1 branch and identity. */
export function defineRepVGG(o: RepVGGArchOptions): ArchConfig {
  const inChannels = o.inChannels ?? 3;
  const blocks = asFuseError('defineRepVGG', () =>
    repvggBlocks(o.name, inChannels, { ...o, se: o.se ? 'pre' : 'none' }),
  );
  return { name: o.name, family: 'repvgg', inChannels, blocks: blocks.map(blockSpecOf) };
}

/** A MobileOne architecture: stem, then stages of depthwise 3x3 + pointwise 1x1 block pairs. */
export function defineMobileOne(o: MobileOneArchOptions): ArchConfig {
  const inChannels = o.inChannels ?? 3;
  const blocks = asFuseError('defineMobileOne', () => mobileoneBlocks(o.name, inChannels, o));
  return { name: o.name, family: 'mobileone', inChannels, blocks: blocks.map(blockSpecOf) };
}

const REPVGG: Readonly<Record<string, RepVGGArch>> = REPVGG_ARCHS;
const MOBILEONE: Readonly<Record<string, MobileOneArch>> = MOBILEONE_ARCHS;

/** The model names {@link archConfig} knows. */
export const ARCH_NAMES: readonly string[] = [...Object.keys(REPVGG), ...Object.keys(MOBILEONE)];

/**
 * `RepVGG-A0`, `repvgg_a0`, `repvgg_a0.rvgg_in1k`, `MobileOne-S0` and `s0` all
 * name the same model: timm spells names with `_` and a pretrained tag after
 * a dot, the official repos with `-` and capitals.
 */
function canonicalName(name: string): string {
  const n = name.trim().toLowerCase().split('.')[0]!.replace(/-/g, '_');
  return /^s[0-4]$/.test(n) ? `mobileone_${n}` : n;
}

/**
 * Why a zoo architecture of ours has no config by name, and what to pass
 * instead: a chain of RepVGG or MobileOne blocks fits their layouts given its
 * blocks (its stem stride and widths are whatever it was trained with); other
 * graphs fit no layout.
 */
function ours(key: string): string {
  const what = `is '${key}', a RepNets architecture with no published PyTorch checkpoint`;
  const chain = architecture(key).blocks.every(
    (b) => b.kind !== 'convbn' && b.activation === 'relu',
  );
  return chain
    ? `${what}: pass its blocks as options.model (an ArchConfig, e.g. from defineRepVGG) to read a checkpoint of it`
    : `${what}: none of the four PyTorch layouts (timm and official RepVGG / MobileOne) holds its conv+BN and linear blocks`;
}

/** The architecture of a named RepVGG or MobileOne model (see {@link ARCH_NAMES}), from its record. */
export function archConfig(name: string): ArchConfig {
  const key = canonicalName(name);
  if (!ARCH_NAMES.includes(key)) {
    const names = ARCH_NAMES.join(', ');
    if (isArchitectureName(key))
      throw new FuseError('archConfig', 'name', `${ours(key)}; published: ${names}`);
    throw new FuseError('archConfig', 'name', `is '${name}', expected one of ${names}`);
  }
  const r = architecture(key);
  return {
    name: key,
    family: r.family === 'mobileone' ? 'mobileone' : 'repvgg',
    inChannels: r.input.channels,
    blocks: r.blocks.map(blockSpecOf),
  };
}
