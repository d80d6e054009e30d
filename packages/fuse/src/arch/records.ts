/**
 * The architecture record: one {@link BlockRecord} per re-parameterizable
 * block of a network, in network order. It is the one description of a
 * network's structure: the zoo of @repnets/blocks builds its layers from it,
 * the checkpoint adapters check state dicts against it, and the tests compare
 * the built train form, the deploy form and the ONNX export with it.
 */

/**
 * Which @repnets/blocks layer a block becomes in training form. 'qarepvgg' has
 * RepVGG's branch roles, but BN only on the kxk branch and after the sum.
 */
export type BlockKind = 'repvgg' | 'qarepvgg' | 'mobileone' | 'convbn';

/** Where a block's squeeze-excite sits: before the activation (RepVGG-D2se, MobileOne-S4), after it, or nowhere. */
export type SEPlacement = 'none' | 'pre' | 'post';

export type Activation = 'relu' | 'linear';

/** The parallel branches of a block in training form, by role. */
export interface BranchRoles {
  /** kxk conv+BN branches: 1 for RepVGG and conv+BN, k for MobileOne. */
  readonly kxk: number;
  /** A 1x1 conv+BN branch beside the kxk ones (RepVGG's 1x1, MobileOne's scale branch). */
  readonly scale: boolean;
  /** A BN-only identity branch: possible only when in == out and stride 1. */
  readonly identity: boolean;
}

/**
 * The conv geometry of a block, whatever describes it: a {@link BlockRecord},
 * a block parsed from a checkpoint, what a memory estimate reads.
 */
export interface BlockGeometry {
  readonly name: string;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Odd, square kernel of the kxk branches and of the folded conv. */
  readonly kernelSize: number;
  readonly stride: number;
  readonly groups: number;
}

export interface BlockRecord extends BlockGeometry {
  /** The layer's name in a zoo model, e.g. 'stage0', 'stage1_block0', 'stage2_unit3_dw'. */
  readonly name: string;
  readonly kind: BlockKind;
  /** 0 is the stem; stages count from 1. */
  readonly stage: number;
  /** Index of the block within its stage. */
  readonly index: number;
  readonly branches: BranchRoles;
  readonly se: SEPlacement;
  /**
   * Hidden channels of the squeeze-excite, when it has one and they are not
   * the layers' default (outChannels / 16, at least 1): a checkpoint whose
   * source rounds otherwise (timm MobileOne: a multiple of 8) carries its own.
   */
  readonly seHidden?: number;
  readonly activation: Activation;
}

export type NetworkFamily = 'repvgg' | 'qarepvgg' | 'mobileone' | 'repshufflenetv2' | 'simplenet';

export interface NetworkRecord {
  readonly name: string;
  readonly family: NetworkFamily;
  readonly input: { readonly height: number; readonly width: number; readonly channels: number };
  readonly numClasses: number;
  /** Stride of the stem: 2 as published, 1 for 28-32 px inputs (MNIST, CIFAR). */
  readonly stemStride: number;
  readonly blocks: readonly BlockRecord[];
}

/** What a named architecture is expanded with. */
export interface ArchOptions {
  /** Classifier outputs (default 1000; SimpleNet 10). */
  readonly numClasses?: number;
  /** Input height and width (default 224; SimpleNet 32). */
  readonly inputSize?: number | readonly [number, number];
  /** Input channels: 3 for RGB (default), 1 for MNIST. */
  readonly channels?: number;
  /** Replaces the family's per-stage width multipliers. */
  readonly widthMultipliers?: readonly number[];
  /** 2 (default): as published. 1: for 28-32 px inputs, so the last stage still sees 2x2. */
  readonly stemStride?: 1 | 2;
}

/** A mistake in an architecture or its options: names the architecture and what is wrong. */
export class ArchError extends Error {
  constructor(arch: string, what: string) {
    super(`${arch}: ${what}`);
    this.name = 'ArchError';
  }
}

/** The options every family shares, checked. */
export function resolveInput(
  arch: string,
  o: ArchOptions,
  defaults: { numClasses: number; inputSize: number } = { numClasses: 1000, inputSize: 224 },
): Pick<NetworkRecord, 'input' | 'numClasses' | 'stemStride'> {
  const numClasses = o.numClasses ?? defaults.numClasses;
  const [height, width] =
    typeof o.inputSize === 'number'
      ? [o.inputSize, o.inputSize]
      : (o.inputSize ?? [defaults.inputSize, defaults.inputSize]);
  const channels = o.channels ?? 3;
  for (const [k, v] of Object.entries({ numClasses, height, width, channels })) {
    if (!Number.isInteger(v) || (v as number) < 1)
      throw new ArchError(arch, `option '${k}' must be a positive integer, got ${String(v)}`);
  }
  const stemStride = o.stemStride ?? 2;
  if (stemStride !== 1 && stemStride !== 2)
    throw new ArchError(arch, `option 'stemStride' must be 1 or 2, got ${String(stemStride)}`);
  return { input: { height: height!, width: width!, channels }, numClasses, stemStride };
}

/** `given` width multipliers, or the family's, checked for count and sign. */
export function widths(
  arch: string,
  given: readonly number[] | undefined,
  defaults: readonly number[],
): readonly number[] {
  const w = given ?? defaults;
  if (w.length !== defaults.length || !w.every((m) => m > 0)) {
    throw new ArchError(
      arch,
      `widthMultipliers must be ${defaults.length} positive numbers, got [${w.join(', ')}]`,
    );
  }
  return w;
}

/** Refuses `n` unless it is a positive integer; `what` names it in the architecture. */
export function positive(arch: string, what: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0)
    throw new ArchError(arch, `${what} is ${String(n)}, expected a positive integer`);
}

/** A block record with the rules every family shares checked: groups divide the channels, identity needs in == out at stride 1. */
export function block(arch: string, r: BlockRecord): BlockRecord {
  const where = `block '${r.name}'`;
  if (r.inChannels % r.groups !== 0 || r.outChannels % r.groups !== 0) {
    throw new ArchError(
      arch,
      `groups ${r.groups} do not divide ${where} (${r.inChannels} -> ${r.outChannels} channels)`,
    );
  }
  if (r.branches.identity && !(r.inChannels === r.outChannels && r.stride === 1))
    throw new ArchError(arch, `${where} has an identity branch but changes shape`);
  if (r.kernelSize % 2 !== 1)
    throw new ArchError(arch, `${where} has an even kernel ${r.kernelSize}`);
  if (r.seHidden !== undefined && !(Number.isInteger(r.seHidden) && r.seHidden > 0))
    throw new ArchError(arch, `${where} has seHidden ${r.seHidden}, expected a positive integer`);
  return r;
}
