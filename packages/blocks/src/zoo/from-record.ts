/**
 * Layers from architecture records: each block record becomes its train-form
 * layer, or directly its deploy form (one conv with bias, its SE and its
 * activation, the same layers `reparameterize` produces), so a zoo builder only
 * wires records together and adds the head.
 */
import { type BlockRecord, makeKernel } from '@repnets/fuse';
import * as tf from '@tensorflow/tfjs';
import { applyDeployConv, type PendingWeights } from '../deploy-layers.js';
import type { BNOptions } from '../layers/batchnorm-weights.js';
import { ConvBN } from '../layers/conv-bn.js';
import { glorotUniform, heNormal } from '../layers/init-seed.js';
import { MobileOneBlock } from '../layers/mobileone-block.js';
import { QARepVGGBlock } from '../layers/qarepvgg-block.js';
import { RepVGGBlock } from '../layers/repvgg-block.js';
import { DEFAULT_SE_RATIO, type SEValues, seHidden } from '../layers/se-weights.js';

export type Form = 'train' | 'deploy';

/** The train-form layer a block record describes. */
export function trainLayer(r: BlockRecord, bn: BNOptions | undefined): tf.layers.Layer {
  const common = {
    name: r.name,
    filters: r.outChannels,
    kernelSize: r.kernelSize,
    strides: r.stride,
    groups: r.groups > 1 && r.groups === r.inChannels ? ('depthwise' as const) : r.groups,
    se: r.se,
    ...(r.seHidden !== undefined ? { seHidden: r.seHidden } : {}),
    activation: r.activation,
    // Only what was given: the layer applies the BN defaults, in one place.
    ...(bn?.epsilon !== undefined ? { bnEpsilon: bn.epsilon } : {}),
    ...(bn?.momentum !== undefined ? { bnMomentum: bn.momentum } : {}),
  };
  switch (r.kind) {
    case 'repvgg':
      return new RepVGGBlock({
        ...common,
        conv1x1: r.branches.scale,
        identity: r.branches.identity,
      });
    case 'qarepvgg':
      return new QARepVGGBlock({
        ...common,
        conv1x1: r.branches.scale,
        identity: r.branches.identity,
      });
    case 'mobileone':
      return new MobileOneBlock({
        ...common,
        branches: r.branches.kxk,
        identity: r.branches.identity,
      });
    case 'convbn':
      return new ConvBN(common);
  }
}

type Initializer = ReturnType<typeof heNormal>;

const values = (
  init: tf.serialization.Serializable & { apply(shape: number[]): tf.Tensor },
  shape: number[],
) => tf.tidy(() => init.apply(shape).dataSync() as Float32Array);

/**
 * Applies the deploy form of `r` to `x`: the layers of a folded block, with
 * freshly initialized weights queued in `pending` (He-normal kernels, zero
 * biases, as a plain conv net starts).
 */
export function applyDeployBlock(
  x: tf.SymbolicTensor,
  r: BlockRecord,
  pending: PendingWeights[],
): tf.SymbolicTensor {
  const k = r.kernelSize;
  const shape = [k, k, r.inChannels / r.groups, r.outChannels];
  const kernel = makeKernel('HWIO', shape, values(heNormal(), shape));
  const conv = {
    filters: r.outChannels,
    kernelSize: k,
    strides: r.stride,
    pad: (k - 1) / 2,
    groups: r.groups,
    inChannels: r.inChannels,
    folded: { kernel, bias: new Float32Array(r.outChannels) },
    activation: r.activation,
  };
  if (r.se === 'none') return applyDeployConv(x, r.name, { ...conv, se: 'none' }, pending);
  const hidden = r.seHidden ?? seHidden(r.outChannels, DEFAULT_SE_RATIO);
  const se = (cin: number, cout: number, init: () => Initializer) => ({
    kernel: makeKernel('HWIO', [1, 1, cin, cout], values(init(), [1, 1, cin, cout])),
    bias: new Float32Array(cout),
  });
  const seValues: SEValues = {
    down: se(r.outChannels, hidden, heNormal),
    up: se(hidden, r.outChannels, glorotUniform),
  };
  return applyDeployConv(x, r.name, { ...conv, se: r.se, seValues }, pending);
}

/** Applies block records to symbolic tensors in one form, and sets the deploy weights once the model exists. */
export class BlockApplier {
  private readonly pending: PendingWeights[] = [];

  constructor(
    readonly form: Form,
    private readonly bn: BNOptions | undefined,
  ) {}

  apply(r: BlockRecord, x: tf.SymbolicTensor): tf.SymbolicTensor {
    return this.form === 'train'
      ? (trainLayer(r, this.bn).apply(x) as tf.SymbolicTensor)
      : applyDeployBlock(x, r, this.pending);
  }

  /** Call after tf.model(): layers get their weights only once built. */
  finish<M extends tf.LayersModel>(model: M): M {
    for (const p of this.pending) {
      p.layer.setWeights(p.weights);
      tf.dispose(p.weights);
    }
    this.pending.length = 0;
    return model;
  }
}
