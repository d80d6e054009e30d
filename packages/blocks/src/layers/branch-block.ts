import {
  type BatchNorm,
  type BlockKind,
  type BlockRecord,
  type FoldedConv,
  type ConvBN as FuseConvBN,
  type Kernel,
  makeKernel,
} from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { BNWeights, DEFAULT_BN_EPSILON, DEFAULT_BN_MOMENTUM } from './batchnorm-weights.js';
import { type ActivationName, activate, convOutSize, groupedConv2d, single } from './conv-ops.js';
import { heNormal } from './init-seed.js';
import { type CommonBlockArgs, channelsOf, layerArgs } from './layer-args.js';
import type { DeployConv, Reparameterizable } from './reparameterizable.js';
import {
  DEFAULT_SE_RATIO,
  type SEPosition,
  type SEValues,
  SEWeights,
  seHidden,
} from './se-weights.js';
import type { WeightAdder } from './weight-adder.js';

export interface BranchBlockArgs extends CommonBlockArgs {
  readonly filters: number;
  /** Odd kernel size of the largest branch. */
  readonly kernelSize?: number;
  readonly strides?: number;
  /** Conv groups, or 'depthwise' for groups == input channels. */
  readonly groups?: number | 'depthwise';
  /** 'auto': an identity BN branch exactly when in == out and stride == 1. */
  readonly identity?: 'auto' | boolean;
  readonly se?: SEPosition;
  readonly seRatio?: number;
  /** Hidden channels of the squeeze-excite; overrides `seRatio` (a checkpoint's own width). */
  readonly seHidden?: number;
}

/** One conv+BN branch of a block, as its layer creates it: its weights' name prefix, kernel size and role. */
export interface BranchSpec {
  readonly name: string;
  readonly size: number;
  /** 'kxk': a branch of the block's kernel size; 'scale': the 1x1 branch beside them. */
  readonly role: 'kxk' | 'scale';
  /** false: a bare conv with no BN of its own (QARepVGG's 1x1). Default true. */
  readonly norm?: boolean;
}

/** A trained conv+BN branch as @repnets/fuse takes it, with the name its weights carry. */
export interface TrainedConvBranch extends FuseConvBN<'HWIO'> {
  readonly name: string;
}

/** A trained conv branch without BN (QARepVGG's 1x1), with the name its weights carry. */
export interface TrainedBareConv {
  readonly name: string;
  readonly kernel: Kernel<'HWIO'>;
}

/**
 * Branch values to put into a block, by role, as {@link BranchBlock.setTrainedBranches}
 * takes them: HWIO kernels and BatchNorm running statistics.
 */
export interface BranchValues {
  readonly kxk: readonly FuseConvBN<'HWIO'>[];
  readonly scale?: FuseConvBN<'HWIO'>;
  readonly identity?: BatchNorm;
  /** The 1x1 branch of a block whose 1x1 has no BN (QARepVGG): its HWIO kernel. */
  readonly bareScale?: { readonly kernel: Kernel<'HWIO'> };
  /** The BN after the branch sum (QARepVGG). */
  readonly post?: BatchNorm;
}

/** The trained branches of a block by role, read back as @repnets/fuse inputs. */
export interface TrainedBranches {
  readonly kxk: readonly TrainedConvBranch[];
  readonly scale?: TrainedConvBranch;
  readonly identity?: BatchNorm;
  /** QARepVGG: the 1x1 branch, a conv with no BN. */
  readonly bareScale?: TrainedBareConv;
  /** QARepVGG: a plain `x` skip branch, no BN. */
  readonly bareIdentity?: true;
  /** QARepVGG: the BN after the branch sum. */
  readonly post?: BatchNorm;
  readonly groups: number;
  readonly stride: number;
}

/** What a built block is, as its architecture record says it (stage and index are the network's, not the layer's). */
export type BlockShape = Omit<BlockRecord, 'stage' | 'index'> & {
  /** Hidden channels of the squeeze-excite, when there is one. */
  readonly seHidden?: number;
};

const sameDims = (a: readonly number[], b: readonly (number | null)[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Writes float32 values into a layer variable (the variable keeps its own copy). */
export function writeVariable(
  v: tf.LayerVariable,
  data: Float32Array,
  shape: readonly number[],
): void {
  const t = tf.tensor(data, [...shape], 'float32');
  v.write(t);
  t.dispose();
}

/**
 * The training form every re-parameterizable block shares:
 * `act(sum_b bn_b(conv_b(x)) + bn_0(x))`, each branch a (grouped) conv with
 * symmetric padding k//2 followed by its own BN, an optional identity BN, and an
 * optional SE before or after the activation. Subclasses say which branches
 * exist and which @repnets/fuse fold applies; everything else lives here.
 */
export abstract class BranchBlock extends tf.layers.Layer implements Reparameterizable {
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly groupsArg: number | 'depthwise';
  readonly identityMode: 'auto' | boolean;
  readonly se: SEPosition;
  readonly seRatio: number;
  /** The SE's hidden width when given explicitly; else it follows `seRatio`. */
  readonly seHiddenArg: number | undefined;
  readonly activation: ActivationName;
  readonly bnEpsilon: number;
  readonly bnMomentum: number;

  protected inChannels = 0;
  protected groups = 1;
  private convs: { spec: BranchSpec; kernel: tf.LayerVariable; bn?: BNWeights }[] = [];
  private identityBn?: BNWeights;
  /** A plain `x` skip branch (no BN), for blocks whose identity has none. */
  private bareIdentity = false;
  /** The BN after the branch sum, for blocks that have one. */
  private postBn?: BNWeights;
  private seWeights?: SEWeights;

  constructor(
    args: BranchBlockArgs,
    defaults: { activation: ActivationName; identity: 'auto' | boolean },
  ) {
    super(layerArgs(args));
    this.filters = args.filters;
    this.kernelSize = args.kernelSize ?? 3;
    this.strides = args.strides ?? 1;
    this.groupsArg = args.groups ?? 1;
    this.identityMode = args.identity ?? defaults.identity;
    this.se = args.se ?? 'none';
    this.seRatio = args.seRatio ?? DEFAULT_SE_RATIO;
    this.seHiddenArg = args.seHidden;
    this.activation = args.activation ?? defaults.activation;
    this.bnEpsilon = args.bnEpsilon ?? DEFAULT_BN_EPSILON;
    this.bnMomentum = args.bnMomentum ?? DEFAULT_BN_MOMENTUM;
    const where = `${this.getClassName()} '${this.name}'`;
    if (!Number.isInteger(this.filters) || this.filters <= 0) {
      throw new Error(`${where}: filters must be a positive integer, got ${args.filters}`);
    }
    if (!Number.isInteger(this.kernelSize) || this.kernelSize % 2 === 0) {
      throw new Error(
        `${where}: kernelSize must be an odd integer (symmetric padding k//2), got ${this.kernelSize}`,
      );
    }
    if (!Number.isInteger(this.strides) || this.strides < 1) {
      throw new Error(`${where}: strides must be a positive integer, got ${this.strides}`);
    }
    if (
      this.seHiddenArg !== undefined &&
      !(Number.isInteger(this.seHiddenArg) && this.seHiddenArg > 0)
    ) {
      throw new Error(`${where}: seHidden must be a positive integer, got ${args.seHidden}`);
    }
    if (typeof this.groupsArg === 'number' && this.filters % this.groupsArg !== 0) {
      throw new Error(`${where}: groups ${this.groupsArg} does not divide filters ${this.filters}`);
    }
  }

  /** Which record kind this layer builds. */
  abstract readonly kind: BlockKind;
  /** The conv branches of this block, largest first. */
  protected abstract branchSpecs(): BranchSpec[];
  /** Folds the trained branches with the family's own @repnets/fuse function. */
  protected abstract fold(trained: TrainedBranches): FoldedConv<'HWIO'>;
  /** Whether the identity branch (when there is one) has a BN; false: a plain `x` (QARepVGG). */
  protected identityNorm(): boolean {
    return true;
  }
  /** Whether a BN follows the branch sum (QARepVGG). */
  protected postNorm(): boolean {
    return false;
  }

  /** The conv branches' kernels (HWIO) and BNs, for regularizers that need them. */
  protected get branchWeights(): readonly {
    spec: BranchSpec;
    kernel: tf.LayerVariable;
    bn?: BNWeights;
  }[] {
    return this.convs;
  }

  /** Whether this block (once built) has an identity branch, with or without BN. */
  get hasIdentity(): boolean {
    return this.identityBn !== undefined || this.bareIdentity;
  }

  /** Number of parallel branches, identity included (once built). */
  get branchCount(): number {
    return this.convs.length + (this.hasIdentity ? 1 : 0);
  }

  /**
   * The block as its architecture record says it (once built): channels,
   * kernel, stride, groups, branch roles, SE and activation. What ONNX export
   * and cost accounting read instead of weight names.
   */
  get spec(): BlockShape {
    if (!this.built) throw new Error(`${this.getClassName()} '${this.name}': not built yet`);
    const roles = this.convs.map((c) => c.spec.role);
    return {
      name: this.name,
      kind: this.kind,
      inChannels: this.inChannels,
      outChannels: this.filters,
      kernelSize: this.kernelSize,
      stride: this.strides,
      groups: this.groups,
      branches: {
        kxk: roles.filter((r) => r === 'kxk').length,
        scale: roles.includes('scale'),
        identity: this.hasIdentity,
      },
      se: this.se,
      activation: this.activation,
      ...(this.seWeights ? { seHidden: this.seWeights.hidden } : {}),
    };
  }

  /** The trained branches by role, as @repnets/fuse takes them (running BN statistics). */
  async trainedBranches(): Promise<TrainedBranches> {
    const where = `${this.getClassName()} '${this.name}'`;
    if (!this.built) throw new Error(`${where}: not built, so it has no branches`);
    const ipg = this.inChannels / this.groups;
    const kernelOf = async (c: (typeof this.convs)[number]) =>
      makeKernel(
        'HWIO',
        [c.spec.size, c.spec.size, ipg, this.filters],
        (await c.kernel.read().data()) as Float32Array,
      );
    const read = async (c: (typeof this.convs)[number]): Promise<TrainedConvBranch> => ({
      name: c.spec.name,
      kernel: await kernelOf(c),
      bn: await this.normOf(c).toFuse(),
    });
    const kxk = await Promise.all(this.convs.filter((c) => c.spec.role === 'kxk').map(read));
    const scaleConv = this.convs.find((c) => c.spec.role === 'scale');
    const bareScale =
      scaleConv && !scaleConv.bn
        ? { name: scaleConv.spec.name, kernel: await kernelOf(scaleConv) }
        : undefined;
    return {
      kxk,
      ...(scaleConv?.bn ? { scale: await read(scaleConv) } : {}),
      ...(bareScale ? { bareScale } : {}),
      ...(this.identityBn ? { identity: await this.identityBn.toFuse() } : {}),
      ...(this.bareIdentity ? { bareIdentity: true as const } : {}),
      ...(this.postBn ? { post: await this.postBn.toFuse() } : {}),
      groups: this.groups,
      stride: this.strides,
    };
  }

  /** A conv branch's BN, which every kxk branch has. */
  private normOf(c: (typeof this.convs)[number]): BNWeights {
    if (c.bn === undefined)
      throw new Error(
        `${this.getClassName()} '${this.name}': branch '${c.spec.name}' has no BN of its own`,
      );
    return c.bn;
  }

  /**
   * {@link trainedBranches} read synchronously (dataSync): for the CPU and
   * wasm backends; on WebGPU in Node use the async one.
   */
  trainedBranchesSync(): TrainedBranches {
    const where = `${this.getClassName()} '${this.name}'`;
    if (!this.built) throw new Error(`${where}: not built, so it has no branches`);
    const ipg = this.inChannels / this.groups;
    const kernelOf = (c: (typeof this.convs)[number]) =>
      makeKernel(
        'HWIO',
        [c.spec.size, c.spec.size, ipg, this.filters],
        c.kernel.read().dataSync() as Float32Array,
      );
    const read = (c: (typeof this.convs)[number]): TrainedConvBranch => ({
      name: c.spec.name,
      kernel: kernelOf(c),
      bn: this.normOf(c).toFuseSync(),
    });
    const kxk = this.convs.filter((c) => c.spec.role === 'kxk').map(read);
    const scaleConv = this.convs.find((c) => c.spec.role === 'scale');
    return {
      kxk,
      ...(scaleConv?.bn ? { scale: read(scaleConv) } : {}),
      ...(scaleConv && !scaleConv.bn
        ? { bareScale: { name: scaleConv.spec.name, kernel: kernelOf(scaleConv) } }
        : {}),
      ...(this.identityBn ? { identity: this.identityBn.toFuseSync() } : {}),
      ...(this.bareIdentity ? { bareIdentity: true as const } : {}),
      ...(this.postBn ? { post: this.postBn.toFuseSync() } : {}),
      groups: this.groups,
      stride: this.strides,
    };
  }

  /** The squeeze-excite's values, when the block has one. */
  async seValues(): Promise<SEValues | undefined> {
    return this.seWeights?.toFuse();
  }

  /** {@link seValues} read synchronously (dataSync). */
  seValuesSync(): SEValues | undefined {
    return this.seWeights?.toFuseSync();
  }

  /**
   * Puts trained values into the branches, the inverse of
   * {@link trainedBranches}: each kxk branch in order, the scale branch and the
   * identity BN, each with its kernel (HWIO) and running statistics. Every
   * role, count, shape and BN epsilon must be this block's; a mismatch is
   * refused naming the layer and the branch.
   */
  setTrainedBranches(values: BranchValues): void {
    const where = `${this.getClassName()} '${this.name}'`;
    if (!this.built) throw new Error(`${where}: not built, so it has no branches to set`);
    const kxk = this.convs.filter((c) => c.spec.role === 'kxk');
    const scale = this.convs.find((c) => c.spec.role === 'scale' && c.bn !== undefined);
    const bare = this.convs.find((c) => c.spec.role === 'scale' && c.bn === undefined);
    if (values.kxk.length !== kxk.length)
      throw new Error(`${where}: has ${kxk.length} kxk branches, given ${values.kxk.length}`);
    if ((values.scale !== undefined) !== (scale !== undefined))
      throw new Error(
        `${where}: ${scale ? 'has' : 'has no'} scale (1x1) branch, but one was ${values.scale ? '' : 'not '}given`,
      );
    if ((values.bareScale !== undefined) !== (bare !== undefined))
      throw new Error(
        `${where}: ${bare ? 'has' : 'has no'} 1x1 branch without BN, but one was ${values.bareScale ? '' : 'not '}given`,
      );
    if ((values.identity !== undefined) !== (this.identityBn !== undefined))
      throw new Error(
        `${where}: ${this.identityBn ? 'has' : 'has no'} identity BN branch, but one was ${values.identity ? '' : 'not '}given`,
      );
    if ((values.post !== undefined) !== (this.postBn !== undefined))
      throw new Error(
        `${where}: ${this.postBn ? 'has' : 'has no'} BN after the branch sum, but one was ${values.post ? '' : 'not '}given`,
      );
    const ipg = this.inChannels / this.groups;
    const pairs: [(typeof this.convs)[number], FuseConvBN<'HWIO'>][] = kxk.map((c, j) => [
      c,
      values.kxk[j]!,
    ]);
    if (scale !== undefined && values.scale !== undefined) pairs.push([scale, values.scale]);
    // Everything is checked before anything is written: a refusal leaves the block as it was.
    for (const [c, v] of pairs) {
      const want = [c.spec.size, c.spec.size, ipg, this.filters];
      if (v.kernel.layout !== 'HWIO' || !sameDims(v.kernel.shape, want))
        throw new Error(
          `${where}: branch '${c.spec.name}' takes an HWIO kernel [${want.join(', ')}], given ${v.kernel.layout} [${v.kernel.shape.join(', ')}]`,
        );
      this.checkBN(where, c.spec.name, v.bn, this.normOf(c));
    }
    const bareKernel = values.bareScale?.kernel;
    if (bare && bareKernel) {
      const want = [1, 1, ipg, this.filters];
      if (bareKernel.layout !== 'HWIO' || !sameDims(bareKernel.shape, want))
        throw new Error(
          `${where}: branch '${bare.spec.name}' takes an HWIO kernel [${want.join(', ')}], given ${bareKernel.layout} [${bareKernel.shape.join(', ')}]`,
        );
    }
    if (this.identityBn && values.identity)
      this.checkBN(where, 'identity', values.identity, this.identityBn);
    if (this.postBn && values.post) this.checkBN(where, 'post', values.post, this.postBn);
    for (const [c, v] of pairs) {
      writeVariable(c.kernel, v.kernel.data, v.kernel.shape);
      this.normOf(c).set(v.bn);
    }
    if (bare && bareKernel) writeVariable(bare.kernel, bareKernel.data, bareKernel.shape);
    if (this.identityBn && values.identity) this.identityBn.set(values.identity);
    if (this.postBn && values.post) this.postBn.set(values.post);
  }

  private checkBN(where: string, branch: string, bn: BatchNorm, into: BNWeights): void {
    for (const f of ['gamma', 'beta', 'mean', 'variance'] as const) {
      const n = bn[f]?.length ?? 0;
      if (n !== this.filters)
        throw new Error(
          `${where}: branch '${branch}' BN ${f} has ${n} values, expected ${this.filters}`,
        );
    }
    if (bn.eps !== into.epsilon)
      throw new Error(
        `${where}: branch '${branch}' BN epsilon is ${into.epsilon}, given values for epsilon ${bn.eps}: build the model with bn.epsilon ${bn.eps}`,
      );
  }

  /**
   * Puts values into the squeeze-excite, the inverse of {@link seValues}: HWIO
   * 1x1 kernels [1, 1, C, hidden] and [1, 1, hidden, C] with their biases.
   */
  setSEValues(values: SEValues): void {
    const where = `${this.getClassName()} '${this.name}'`;
    const se = this.seWeights;
    if (se === undefined) throw new Error(`${where}: has no squeeze-excite to set`);
    const checks: [string, tf.LayerVariable, { shape: readonly number[] }][] = [
      ['down kernel', se.downKernel, values.down.kernel],
      ['down bias', se.downBias, { shape: [values.down.bias.length] }],
      ['up kernel', se.upKernel, values.up.kernel],
      ['up bias', se.upBias, { shape: [values.up.bias.length] }],
    ];
    for (const [what, v, given] of checks) {
      if (!sameDims(given.shape, v.shape))
        throw new Error(
          `${where}: SE ${what} is [${v.shape.join(', ')}], given [${given.shape.join(', ')}]`,
        );
    }
    writeVariable(se.downKernel, values.down.kernel.data, values.down.kernel.shape);
    writeVariable(se.downBias, values.down.bias, [values.down.bias.length]);
    writeVariable(se.upKernel, values.up.kernel.data, values.up.kernel.shape);
    writeVariable(se.upBias, values.up.bias, [values.up.bias.length]);
  }

  private adder(): WeightAdder {
    return (name, shape, init, trainable = true) =>
      this.addWeight(name, shape, 'float32', init, undefined, trainable);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const where = `${this.getClassName()} '${this.name}'`;
    const inC = channelsOf(this.name, inputShape);
    const groups = this.groupsArg === 'depthwise' ? inC : this.groupsArg;
    if (inC % groups !== 0 || this.filters % groups !== 0) {
      throw new Error(
        `${where}: groups ${groups} must divide ${inC} input and ${this.filters} output channels`,
      );
    }
    this.inChannels = inC;
    this.groups = groups;
    const add = this.adder();
    const ipg = inC / groups;
    this.convs = this.branchSpecs().map((spec) => ({
      spec,
      kernel: add(`${spec.name}_kernel`, [spec.size, spec.size, ipg, this.filters], heNormal()),
      ...(spec.norm === false
        ? {}
        : {
            bn: new BNWeights(
              add,
              `${spec.name}_bn`,
              this.filters,
              this.bnEpsilon,
              this.bnMomentum,
            ),
          }),
    }));
    const identityPossible = inC === this.filters && this.strides === 1;
    if (this.identityMode === true && !identityPossible) {
      throw new Error(
        `${where}: identity needs in == out and stride 1, got ${inC} -> ${this.filters} at stride ${this.strides}`,
      );
    }
    if (this.identityMode === true || (this.identityMode === 'auto' && identityPossible)) {
      if (this.identityNorm())
        this.identityBn = new BNWeights(
          add,
          'identity_bn',
          this.filters,
          this.bnEpsilon,
          this.bnMomentum,
        );
      else this.bareIdentity = true;
    }
    if (this.postNorm())
      this.postBn = new BNWeights(add, 'post_bn', this.filters, this.bnEpsilon, this.bnMomentum);
    if (this.se !== 'none')
      this.seWeights = new SEWeights(
        add,
        'se',
        this.filters,
        this.seHiddenArg ?? seHidden(this.filters, this.seRatio),
      );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const k = this.kernelSize;
    const p = (k - 1) / 2;
    return [
      s[0] ?? null,
      convOutSize(s[1] ?? null, k, this.strides, p),
      convOutSize(s[2] ?? null, k, this.strides, p),
      this.filters,
    ];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs);
      const training = kwargs.training === true;
      let y: tf.Tensor4D | undefined;
      for (const c of this.convs) {
        const pad = (c.spec.size - 1) / 2;
        const conv = groupedConv2d(
          x,
          c.kernel.read() as tf.Tensor4D,
          this.strides,
          pad,
          this.groups,
        );
        const z = c.bn ? c.bn.apply(conv, training) : conv;
        y = y === undefined ? z : y.add<tf.Tensor4D>(z);
      }
      if (this.identityBn) y = y!.add<tf.Tensor4D>(this.identityBn.apply(x, training));
      if (this.bareIdentity) y = y!.add<tf.Tensor4D>(x as tf.Tensor4D);
      if (this.postBn) y = this.postBn.apply(y!, training);
      if (this.seWeights && this.se === 'pre') y = this.seWeights.apply(y!);
      y = activate(y!, this.activation);
      if (this.seWeights && this.se === 'post') y = this.seWeights.apply(y);
      return y;
    });
  }

  /**
   * The block folded into one conv with bias (HWIO) from values
   * {@link trainedBranches} read: the fold {@link toDeploy} uses, for callers
   * that already hold the values (a state dict written in deploy form).
   */
  foldTrained(trained: TrainedBranches): FoldedConv<'HWIO'> {
    return this.fold(trained);
  }

  async toDeploy(): Promise<DeployConv> {
    if (!this.built)
      throw new Error(
        `${this.getClassName()} '${this.name}': not built, so there is nothing to fold`,
      );
    const conv = {
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      pad: (this.kernelSize - 1) / 2,
      groups: this.groups,
      inChannels: this.inChannels,
      folded: this.fold(await this.trainedBranches()),
      activation: this.activation,
    };
    if (this.se === 'none') return { ...conv, se: 'none' };
    const seValues = await this.seValues();
    if (seValues === undefined)
      throw new Error(`${this.getClassName()} '${this.name}': se '${this.se}' but no SE weights`);
    return { ...conv, se: this.se, seValues };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      groups: this.groupsArg,
      identity: this.identityMode,
      se: this.se,
      seRatio: this.seRatio,
      ...(this.seHiddenArg !== undefined ? { seHidden: this.seHiddenArg } : {}),
      activation: this.activation,
      bnEpsilon: this.bnEpsilon,
      bnMomentum: this.bnMomentum,
    };
  }
}
