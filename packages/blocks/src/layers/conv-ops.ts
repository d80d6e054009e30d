import * as tf from '@tensorflow/tfjs';

/**
 * A (grouped) convolution with symmetric zero padding `pad` on every side.
 * TF's 'same' is never used: at stride 2 it pads bottom/right only, and a 1x1
 * and a 3x3 branch would then sample different points, breaking the fold.
 *
 * `kernel` is HWIO [kh, kw, in/groups, out]. TF.js conv2d has no groups, so:
 * groups == in channels runs as a depthwise conv (HWIO [k, k, 1, C*M] has the
 * memory order of HWIM [k, k, C, M]); other groups split, convolve, concatenate.
 */
export function groupedConv2d(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  stride: number,
  pad: number,
  groups: number,
): tf.Tensor4D {
  if (groups === 1) return tf.conv2d(x, kernel, stride, pad);
  const [kh, kw, ipg, out] = kernel.shape;
  const inC = x.shape[3];
  if (ipg === 1 && groups === inC) {
    const hwim = kernel.reshape([kh, kw, inC, out / inC]) as tf.Tensor4D;
    return tf.depthwiseConv2d(x, hwim, stride, pad);
  }
  const xs = tf.split(x, groups, 3) as tf.Tensor4D[];
  const ks = tf.split(kernel, groups, 3) as tf.Tensor4D[];
  return tf.concat(
    xs.map((xi, g) => tf.conv2d(xi, ks[g]!, stride, pad)),
    3,
  );
}

/** Output spatial size of a conv with symmetric padding. */
export function convOutSize(
  size: number | null,
  k: number,
  stride: number,
  pad: number,
): number | null {
  return size === null ? null : Math.floor((size + 2 * pad - k) / stride) + 1;
}

export type ActivationName = 'relu' | 'linear';

export function activate(x: tf.Tensor4D, activation: ActivationName): tf.Tensor4D {
  return activation === 'relu' ? tf.relu(x) : x;
}

/** Reads the single input of a layer call (tf.layers passes a Tensor or [Tensor]). */
export function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor4D {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x === undefined || x.rank !== 4) {
    throw new Error(
      `expected one NHWC tensor, got ${Array.isArray(inputs) ? `${inputs.length} tensors` : `rank ${x?.rank}`}`,
    );
  }
  return x as tf.Tensor4D;
}
