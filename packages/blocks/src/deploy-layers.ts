import * as tf from '@tensorflow/tfjs';
import type { DeployConv } from './layers/block-base.js';
import { GroupConv2D } from './layers/group-conv2d.js';

/** A layer of the deploy graph and the weights it must receive once built. */
export interface PendingWeights {
  readonly layer: tf.layers.Layer;
  readonly weights: tf.Tensor[];
}

/**
 * Deploy layers receive their weights right after construction: zero init skips
 * generating random numbers for every weight (seconds for RepVGG-B3).
 */
const ZERO_INIT = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;

/**
 * Squeeze-excitation from stock layers (pool, reshape, two 1x1 convs, multiply),
 * so an SE model needs no custom layer to load.
 */
export function applySE(
  x: tf.SymbolicTensor,
  name: string,
  weights: tf.Tensor[],
  pending: PendingWeights[],
  lastName?: string,
): tf.SymbolicTensor {
  const [downK, downB, upK, upB] = weights as [tf.Tensor4D, tf.Tensor, tf.Tensor4D, tf.Tensor];
  const channels = upK.shape[3];
  const hidden = downK.shape[3];
  const pool = tf.layers.globalAveragePooling2d({ name: `${name}_pool` });
  const reshape = tf.layers.reshape({ targetShape: [1, 1, channels], name: `${name}_reshape` });
  const down = tf.layers.conv2d({
    filters: hidden,
    kernelSize: 1,
    activation: 'relu',
    name: `${name}_down`,
    ...ZERO_INIT,
  });
  const up = tf.layers.conv2d({
    filters: channels,
    kernelSize: 1,
    activation: 'sigmoid',
    name: `${name}_up`,
    ...ZERO_INIT,
  });
  const mul = tf.layers.multiply({ name: lastName ?? `${name}_scale` });
  const s = up.apply(down.apply(reshape.apply(pool.apply(x)))) as tf.SymbolicTensor;
  pending.push({ layer: down, weights: [downK, downB] }, { layer: up, weights: [upK, upB] });
  return mul.apply([x, s]) as tf.SymbolicTensor;
}

/**
 * The deploy form of one folded block, from stock layers wherever possible:
 * ZeroPadding2D(k//2) -> Conv2D | DepthwiseConv2D (valid, with bias) -> [SE] ->
 * ReLU -> [SE]. Only grouped convs with 1 < groups < channels need the custom
 * GroupConv2D. The last layer takes the block's own name, so the rest of the
 * graph (and anyone calling getLayer(name)) still finds it.
 */
export function applyDeployConv(
  x: tf.SymbolicTensor,
  name: string,
  d: DeployConv,
  pending: PendingWeights[],
): tf.SymbolicTensor {
  const hasTail = d.activation !== 'linear' || d.se !== 'none';
  const convName = hasTail ? `${name}_conv` : name;
  let y = x;
  if (d.pad > 0) {
    y = tf.layers
      .zeroPadding2d({
        padding: [
          [d.pad, d.pad],
          [d.pad, d.pad],
        ],
        name: `${name}_pad`,
      })
      .apply(y) as tf.SymbolicTensor;
  }
  const { kernel, bias } = d.folded;
  const k = d.kernelSize;
  const kernelTensor = tf.tensor4d(kernel.data, kernel.shape as [number, number, number, number]);
  const biasTensor = tf.tensor1d(bias);
  let conv: tf.layers.Layer;
  let weights: tf.Tensor[];
  const ipg = d.inChannels / d.groups;
  if (d.groups === 1) {
    conv = tf.layers.conv2d({
      filters: d.filters,
      kernelSize: k,
      strides: d.strides,
      padding: 'valid',
      useBias: true,
      name: convName,
      ...ZERO_INIT,
    });
    weights = [kernelTensor, biasTensor];
  } else if (ipg === 1 && d.groups === d.inChannels) {
    const multiplier = d.filters / d.inChannels;
    conv = tf.layers.depthwiseConv2d({
      kernelSize: k,
      strides: d.strides,
      depthMultiplier: multiplier,
      padding: 'valid',
      useBias: true,
      name: convName,
      depthwiseInitializer: 'zeros',
      biasInitializer: 'zeros',
    });
    // HWIO [k, k, 1, C*M] and HWIM [k, k, C, M] share one memory order.
    weights = [kernelTensor.reshape([k, k, d.inChannels, multiplier]), biasTensor];
    kernelTensor.dispose();
  } else {
    conv = new GroupConv2D({
      filters: d.filters,
      kernelSize: k,
      strides: d.strides,
      groups: d.groups,
      name: convName,
      kernelInitializer: 'zeros',
    });
    weights = [kernelTensor, biasTensor];
  }
  y = conv.apply(y) as tf.SymbolicTensor;
  pending.push({ layer: conv, weights });
  const lastIsAct = d.se !== 'post';
  if (d.se === 'pre') y = applySE(y, `${name}_se`, d.seWeights!, pending);
  if (d.activation === 'relu')
    y = tf.layers.reLU({ name: lastIsAct ? name : `${name}_act` }).apply(y) as tf.SymbolicTensor;
  if (d.se === 'post') y = applySE(y, `${name}_se`, d.seWeights!, pending, name);
  return y;
}
