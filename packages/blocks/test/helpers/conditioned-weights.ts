/**
 * Random weights and BatchNorm statistics that keep a deep network well
 * conditioned, so a comparison of logits relative to the largest one sees an
 * error in any block, not only on the path that dominates.
 *
 * Plain random statistics (gamma and variance in [0.5, 1.5] on top of He
 * kernels) grow the activations by about 2x per block with an identity
 * branch: MobileOne-S0's logits reached 5.7e14 and S4 ran at ~1e6 before its
 * SE gates. Here:
 *
 * - kernels are uniform with variance 1 / fan-in, so a conv keeps E[x^2];
 * - BN statistics stay non-trivial and independent: variance in [0.5, 1.5],
 *   mean in [-0.5, 0.5], beta in [-0.5, 0.5] x the branch gain, and
 *   gamma = u * gain * sqrt(var + eps) with u in [0.5, 1.5], so a fold that
 *   drops the variance, the mean, beta or u is off by tens of percent;
 * - the gain starts where a block's branch sum keeps its input's second
 *   moment (gain^2 = 2 / (branches * E[u^2]) before a ReLU), and then each
 *   block's gammas and betas are scaled together, in network order, until its
 *   output (after SE and ReLU) has unit RMS on a calibration batch. With the
 *   branch sum before the SE calibrated instead, the SE gates shrank every
 *   block's input, the BN constants (mean, beta) outgrew its input-dependent
 *   part block after block, and a 1e-3 nudge of one BN mean in RepVGG-D2se's
 *   first blocks moved the logits by 1e-11 (3e-5 now).
 */
import * as tf from '@tensorflow/tfjs';
import { isReparameterizable } from '../../src/index.js';
import { rng } from './random-bn.js';

/** E[u^2] for u uniform in [0.5, 1.5]. */
const U_SQUARED = 13 / 12;

/**
 * The per-branch BN gain that keeps a block's output second moment about its
 * input's (an SE gate, about sigmoid(0) = 0.5, taken back): where
 * calibration starts.
 */
export function branchGain(branches: number, relu: boolean, se: boolean): number {
  return Math.sqrt(((relu ? 2 : 1) * (se ? 4 : 1)) / (branches * U_SQUARED));
}

/** A kernel of `size` values uniform with variance 1 / fanIn (a conv that keeps E[x^2]). */
export function fanInKernel(r: () => number, size: number, fanIn: number): Float32Array {
  const bound = Math.sqrt(3 / fanIn);
  return Float32Array.from({ length: size }, () => (2 * r() - 1) * bound);
}

export interface BNValues {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
}

/** One branch's BN: non-trivial statistics whose per-channel scale gamma/sqrt(var+eps) is `gain` times u in [0.5, 1.5]. */
export function conditionedBN(
  r: () => number,
  channels: number,
  gain: number,
  eps: number,
): BNValues {
  const variance = Float32Array.from({ length: channels }, () => 0.5 + r());
  const mean = Float32Array.from({ length: channels }, () => r() - 0.5);
  const beta = Float32Array.from({ length: channels }, () => (r() - 0.5) * gain);
  const gamma = Float32Array.from(variance, (v) => (0.5 + r()) * gain * Math.sqrt(v + eps));
  return { gamma, beta, mean, variance };
}

/** A classifier or SE bias: small, so the logits answer to the features rather than to it. */
export function smallBias(r: () => number, size: number, scale = 0.1): Float32Array {
  return Float32Array.from({ length: size }, () => (2 * r() - 1) * scale);
}

/** sqrt(mean(x^2)) */
export function rms(data: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < data.length; i++) s += data[i]! * data[i]!;
  return Math.sqrt(s / Math.max(1, data.length));
}

/**
 * Every weight of a zoo train form, conditioned as above, then calibrated on
 * the batch `x`: block by block in graph order, each block's gammas and betas
 * are scaled (together, so every statistic stays as drawn) until its output
 * has unit RMS on `x`. Throws on a weight it does not know.
 */
export function conditionTrainForm(model: tf.LayersModel, seed: number, x: tf.Tensor): void {
  const r = rng(seed);
  for (const layer of model.layers) {
    if (layer.weights.length === 0) continue;
    const own = new Map(layer.weights.map((w) => [w.originalName.slice(layer.name.length + 1), w]));
    const set = (name: string, values: Float32Array) => {
      const w = own.get(name);
      if (w === undefined) throw new Error(`conditionTrainForm: ${layer.name} has no '${name}'`);
      const t = tf.tensor(values, w.shape as number[]);
      w.write(t);
      t.dispose();
      own.delete(name);
    };
    const kernel = (name: string) => {
      const [kh, kw, ipg, out] = own.get(name)!.shape as number[];
      set(name, fanInKernel(r, kh! * kw! * ipg! * out!, kh! * kw! * ipg!));
    };
    if (isReparameterizable(layer)) {
      const c = layer.getConfig();
      const eps = c.bnEpsilon as number;
      const branches = [...own.keys()]
        .filter((n) => n.endsWith('_bn_gamma'))
        .map((n) => n.slice(0, -'_bn_gamma'.length));
      const gain = branchGain(branches.length, c.activation === 'relu', c.se !== 'none');
      for (const b of branches) {
        if (own.has(`${b}_kernel`)) kernel(`${b}_kernel`);
        const bn = conditionedBN(r, own.get(`${b}_bn_gamma`)!.shape[0]!, gain, eps);
        set(`${b}_bn_gamma`, bn.gamma);
        set(`${b}_bn_beta`, bn.beta);
        set(`${b}_bn_moving_mean`, bn.mean);
        set(`${b}_bn_moving_variance`, bn.variance);
      }
      // Convs without a BN of their own (QARepVGG's 1x1): kernels that keep E[x^2].
      for (const n of [...own.keys()]) {
        if (n.endsWith('_kernel') && !n.startsWith('se_')) kernel(n);
      }
      if (own.has('se_down_kernel')) {
        kernel('se_down_kernel');
        kernel('se_up_kernel');
        set('se_down_bias', smallBias(r, own.get('se_down_bias')!.shape[0]!, 0.5));
        set('se_up_bias', smallBias(r, own.get('se_up_bias')!.shape[0]!, 0.5));
      }
    } else if (layer.getClassName() === 'Dense') {
      const [features, classes] = own.get('kernel')!.shape as number[];
      set('kernel', fanInKernel(r, features! * classes!, features!));
      set('bias', smallBias(r, classes!));
    }
    if (own.size > 0) {
      throw new Error(
        `conditionTrainForm: ${layer.getClassName()} '${layer.name}' has weights this helper does not condition: ${[...own.keys()].join(', ')}`,
      );
    }
  }
  calibrate(model, x);
}

/**
 * Runs `model` on `x` layer by layer (model.layers is in graph order) and
 * scales each block's BN gammas and betas (QARepVGG: those of its BN after
 * the sum) so its output has unit RMS. Exact
 * in one step for a block without SE (its output is homogeneous in that
 * scale); an SE gate moves with it, so those take a few steps.
 */
function calibrate(model: tf.LayersModel, x: tf.Tensor): void {
  const values = new Map<number, tf.Tensor>([[model.inputs[0]!.id, x]]);
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = layer.inboundNodes[0]!;
    const inputs = node.inputTensors.map((t) => values.get(t.id)!);
    const run = () => {
      const out = layer.apply(inputs.length === 1 ? inputs[0]! : inputs);
      return Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
    };
    let outs = run();
    if (isReparameterizable(layer)) {
      const norms = layer.weights.filter((w) => /_bn_(gamma|beta)$/.test(w.originalName));
      // A BN after the branch sum (QARepVGG) scales the whole output: calibrate it alone.
      const post = norms.filter((w) => /post_bn_(gamma|beta)$/.test(w.originalName));
      const scaled = post.length > 0 ? post : norms;
      for (let step = 0; step < 6; step++) {
        const size = rms(outs[0]!.dataSync());
        if (Math.abs(size - 1) < 0.02 || size === 0) break;
        for (const w of scaled) {
          const next = tf.tidy(() => w.read().div(size));
          w.write(next);
          next.dispose();
        }
        tf.dispose(outs);
        outs = run();
      }
    }
    for (const [i, t] of node.outputTensors.entries()) values.set(t.id, outs[i]!);
  }
  for (const [id, t] of values) if (id !== model.inputs[0]!.id) t.dispose();
}
