import * as tf from '@tensorflow/tfjs';
import { GroupConv2D } from './layers/group-conv2d.js';
import type { DeployConv } from './layers/reparameterizable.js';
import type { SEValues } from './layers/se-weights.js';

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
  se: SEValues,
  pending: PendingWeights[],
  lastName?: string,
): tf.SymbolicTensor {
  const tensor = (c: SEValues['down']) => [
    tf.tensor4d(c.kernel.data, c.kernel.shape as [number, number, number, number]),
    tf.tensor1d(c.bias),
  ];
  const [downK, downB] = tensor(se.down) as [tf.Tensor4D, tf.Tensor];
  const [upK, upB] = tensor(se.up) as [tf.Tensor4D, tf.Tensor];
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
 * The names of the weighted layers of a deploy block called `name`: its conv
 * (the block's own name when nothing follows it) and, with SE, the SE's
 * reduce and expand convs. What reads or writes a deploy block's weights goes
 * through these names, the ones applyDeployConv gives.
 */
export function deployLayerNames(
  name: string,
  se: 'none' | 'pre' | 'post',
): { readonly conv: string; readonly seDown?: string; readonly seUp?: string } {
  if (se === 'none') return { conv: name };
  return { conv: `${name}_conv`, seDown: `${name}_se_down`, seUp: `${name}_se_up` };
}

/**
 * The deploy form of one folded block, from stock layers wherever possible.
 * Stride 1: one Conv2D | DepthwiseConv2D with padding 'same' (symmetric k//2 at
 * stride 1) and the ReLU fused in. Stride 2: ZeroPadding2D(k//2) first and a
 * 'valid' conv, because TF's 'same' pads bottom/right only at stride 2. SE before
 * the activation keeps a separate ReLU layer. Only grouped convs with
 * 1 < groups < channels need the custom GroupConv2D. The last layer takes the
 * block's own name, so the rest of the graph (and getLayer(name)) still finds it.
 */
export function applyDeployConv(
  x: tf.SymbolicTensor,
  name: string,
  d: DeployConv,
  pending: PendingWeights[],
): tf.SymbolicTensor {
  const fuseAct = d.se !== 'pre';
  const convAct = fuseAct ? d.activation : 'linear';
  // Without SE the activation is fused into the conv, so the conv is the block's last layer.
  const convName = deployLayerNames(name, d.se).conv;
  const k = d.kernelSize;
  const ipg = d.inChannels / d.groups;
  const grouped = d.groups > 1 && !(ipg === 1 && d.groups === d.inChannels);
  let y = x;
  // 'same' is symmetric only at stride 1; GroupConv2D pads symmetrically itself.
  const samePad = d.strides === 1 && d.pad === (k - 1) / 2;
  if (d.pad > 0 && !samePad && !grouped) {
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
  const padding = samePad ? 'same' : 'valid';
  const { kernel, bias } = d.folded;
  const kernelTensor = tf.tensor4d(kernel.data, kernel.shape as [number, number, number, number]);
  const biasTensor = tf.tensor1d(bias);
  let conv: tf.layers.Layer;
  let weights: tf.Tensor[];
  if (d.groups === 1) {
    conv = tf.layers.conv2d({
      filters: d.filters,
      kernelSize: k,
      strides: d.strides,
      padding,
      activation: convAct,
      useBias: true,
      name: convName,
      ...ZERO_INIT,
    });
    weights = [kernelTensor, biasTensor];
  } else if (!grouped) {
    const multiplier = d.filters / d.inChannels;
    conv = tf.layers.depthwiseConv2d({
      kernelSize: k,
      strides: d.strides,
      depthMultiplier: multiplier,
      padding,
      activation: convAct,
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
      pad: d.pad,
      activation: convAct,
      name: convName,
      kernelInitializer: 'zeros',
    });
    weights = [kernelTensor, biasTensor];
  }
  y = conv.apply(y) as tf.SymbolicTensor;
  pending.push({ layer: conv, weights });
  if (d.se === 'pre') {
    y = applySE(y, `${name}_se`, d.seValues, pending, d.activation === 'linear' ? name : undefined);
    if (d.activation === 'relu') y = tf.layers.reLU({ name }).apply(y) as tf.SymbolicTensor;
  } else if (d.se === 'post') {
    y = applySE(y, `${name}_se`, d.seValues, pending, name);
  }
  return y;
}
