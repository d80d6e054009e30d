/**
 * Optimizers with PyTorch semantics, written over TF.js ops so that every slot
 * is a named tensor a checkpoint can save and restore exactly, the learning
 * rate is an argument of each step (schedules need no mutation), and weight
 * decay can skip biases and normalization parameters, as timm does by default.
 * On the wasm backend one fused SIMD pass per parameter replaces the ops
 * (engine/wasm/fused-update.ts); it computes bitwise the same values.
 */
import * as tf from '@tensorflow/tfjs';
import { fusedUpdate, type UpdateRule } from '../engine/wasm/fused-update.js';

export type OptimizerConfig =
  | {
      readonly type: 'sgd';
      readonly lr: number;
      /** Default 0.9. */
      readonly momentum?: number;
      /** Nesterov momentum (default false). */
      readonly nesterov?: boolean;
      /** L2 added to the gradient, as torch.optim.SGD (default 0). */
      readonly weightDecay?: number;
      /** Also decay rank <= 1 weights: biases, BN gamma/beta (default false). */
      readonly decayBiasAndNorm?: boolean;
    }
  | {
      /** 'adam': L2 added to the gradient; 'adamw': decoupled decay (Loshchilov & Hutter). */
      readonly type: 'adam' | 'adamw';
      readonly lr: number;
      /** Default 0.9. */
      readonly beta1?: number;
      /** Default 0.999. */
      readonly beta2?: number;
      /** Default 1e-8. */
      readonly epsilon?: number;
      /** Default 0 for adam, 0.01 for adamw (PyTorch's defaults). */
      readonly weightDecay?: number;
      readonly decayBiasAndNorm?: boolean;
    };

/** A trainable parameter as the optimizer sees it. */
export interface Param {
  /** Unique within the model: slot names and checkpoints key on it. */
  readonly name: string;
  readonly variable: tf.Variable;
  /** Whether weight decay applies to it. */
  readonly decay: boolean;
  /** Its learning rate is the step's times this (default 1): timm's per-group lr_scale. */
  readonly lrScale?: number;
}

/** Named optimizer state: slot tensors and the step count. */
export interface OptimizerState {
  readonly step: number;
  readonly slots: ReadonlyMap<string, tf.Tensor>;
}

/** `config` with PyTorch's defaults spelled out: what the update uses and what a checkpoint records. */
export function resolveOptimizer(c: OptimizerConfig) {
  const common = {
    lr: c.lr,
    weightDecay: weightDecay(c),
    decayBiasAndNorm: c.decayBiasAndNorm ?? false,
  };
  return c.type === 'sgd'
    ? { type: c.type, ...common, momentum: c.momentum ?? 0.9, nesterov: c.nesterov ?? false }
    : {
        type: c.type,
        ...common,
        beta1: c.beta1 ?? 0.9,
        beta2: c.beta2 ?? 0.999,
        epsilon: c.epsilon ?? 1e-8,
      };
}

/** Whether `config` decays a weight of this rank (biases and BN vectors are rank 1). */
export function decays(config: OptimizerConfig, rank: number): boolean {
  return rank > 1 || config.decayBiasAndNorm === true;
}

export class Optimizer {
  private readonly slots = new Map<string, tf.Variable>();
  private stepCount = 0;

  constructor(
    readonly config: OptimizerConfig,
    readonly params: readonly Param[],
  ) {
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new Error(`optimizer: two parameters are named '${p.name}'`);
      names.add(p.name);
    }
    if (!(config.lr > 0)) throw new Error(`optimizer: lr must be > 0, got ${config.lr}`);
    // Slots exist from the start, so the tensor count is the same before and after the first step.
    for (const p of params) for (const k of slotKinds(config)) this.slot(p, k);
  }

  /** Steps taken so far (Adam's bias correction counts them). */
  get steps(): number {
    return this.stepCount;
  }

  private slot(param: Param, kind: string): tf.Variable {
    const key = `${param.name}/${kind}`;
    let v = this.slots.get(key);
    if (!v) {
      // Unnamed: TF.js variable names are global, and two runs may share parameter names.
      v = ownVariable(tf.zerosLike(param.variable));
      this.slots.set(key, v);
    }
    return v;
  }

  /**
   * Applies one update with learning rate `lr` (times each parameter's
   * `lrScale`); `grads[i]` belongs to `params[i]`.
   */
  step(grads: readonly tf.Tensor[], lr: number): void {
    if (grads.length !== this.params.length) {
      throw new Error(`optimizer: ${grads.length} gradients for ${this.params.length} parameters`);
    }
    this.stepCount++;
    // One group per learning rate, in parameter order; without factors, one group of all.
    const groups = new Map<number, number[]>();
    this.params.forEach((p, i) => {
      const scale = p.lrScale ?? 1;
      const group = groups.get(scale);
      if (group) group.push(i);
      else groups.set(scale, [i]);
    });
    for (const [scale, indices] of groups) {
      // scale 1 leaves lr untouched: a run without factors updates bit for bit as before.
      const groupLr = scale === 1 ? lr : lr * scale;
      const params = indices.map((i) => this.params[i]!);
      const groupGrads = indices.map((i) => grads[i]!);
      if (fusedUpdate(this.rule(groupLr), this.fusedParams(params, groupGrads))) continue;
      this.opsUpdate(params, groupGrads, groupLr);
    }
  }

  /** The update from TF.js ops, for backends without the fused kernels. */
  private opsUpdate(params: readonly Param[], grads: readonly tf.Tensor[], lr: number): void {
    const c = resolveOptimizer(this.config);
    tf.tidy(() => {
      params.forEach((p, i) => {
        const w = p.variable;
        let g = grads[i]!;
        if (c.type === 'sgd') {
          const wd = p.decay ? c.weightDecay : 0;
          if (wd) g = g.add(w.mul(wd));
          const mu = c.momentum;
          if (mu) {
            const buf = this.slot(p, 'momentum');
            const next = buf.mul(mu).add(g);
            buf.assign(next);
            g = c.nesterov ? g.add(next.mul(mu)) : next;
          }
          w.assign(w.sub(g.mul(lr)));
          return;
        }
        const { beta1: b1, beta2: b2, epsilon: eps } = c;
        const wd = p.decay ? c.weightDecay : 0;
        let base: tf.Tensor = w;
        if (wd && c.type === 'adam') g = g.add(w.mul(wd));
        if (wd && c.type === 'adamw') base = w.mul(1 - lr * wd);
        const m = this.slot(p, 'm');
        const v = this.slot(p, 'v');
        const mNext = m.mul(b1).add(g.mul(1 - b1));
        const vNext = v.mul(b2).add(g.square().mul(1 - b2));
        m.assign(mNext);
        v.assign(vNext);
        const mHat = mNext.div(1 - b1 ** this.stepCount);
        const vHat = vNext.div(1 - b2 ** this.stepCount);
        w.assign(base.sub(mHat.div(vHat.sqrt().add(eps)).mul(lr)));
      });
    });
  }

  /**
   * The scalars of this step's update, as the TF.js-op path below uses them:
   * the same JS doubles, rounded to f32 where they meet a tensor.
   */
  private rule(lr: number): UpdateRule {
    const c = resolveOptimizer(this.config);
    if (c.type === 'sgd') {
      const mu = c.momentum;
      const kind = !mu ? 'sgd' : c.nesterov ? 'nesterov' : 'momentum';
      return { kind, wd: c.weightDecay, mu, lr };
    }
    const { beta1: b1, beta2: b2, weightDecay: wd } = c;
    return {
      kind: c.type,
      wd,
      keep: 1 - lr * wd,
      b1,
      c1: 1 - b1,
      b2,
      c2: 1 - b2,
      bc1: 1 - b1 ** this.stepCount,
      bc2: 1 - b2 ** this.stepCount,
      eps: c.epsilon,
      lr,
    };
  }

  /** Parameters with their gradients and slots in kernel order; decay only where it is non-zero. */
  private fusedParams(params: readonly Param[], grads: readonly tf.Tensor[]) {
    const kinds = slotKinds(this.config);
    const decay = weightDecay(this.config) !== 0;
    return params.map((p, i) => ({
      variable: p.variable,
      grad: grads[i]!,
      slots: kinds.map((k) => this.slot(p, k)),
      decay: p.decay && decay,
    }));
  }

  /** The state to checkpoint (tensors are the live slots: read, do not dispose). */
  state(): OptimizerState {
    return { step: this.stepCount, slots: new Map(this.slots) };
  }

  /**
   * Restores a saved state. Every slot must name a parameter of this optimizer
   * with that parameter's shape; nothing changes unless all of them do.
   */
  loadState(
    step: number,
    slots: ReadonlyMap<string, { shape: number[]; values: Float32Array }>,
  ): void {
    const byName = new Map(this.params.map((p) => [p.name, p]));
    for (const [key, s] of slots) {
      const name = key.slice(0, key.lastIndexOf('/'));
      const p = byName.get(name);
      if (!p) throw new Error(`optimizer state: slot '${key}' names no parameter of this model`);
      if (p.variable.shape.join(',') !== s.shape.join(',')) {
        throw new Error(
          `optimizer state: slot '${key}' has shape [${s.shape}], parameter '${name}' has [${p.variable.shape}]`,
        );
      }
    }
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
    for (const [key, s] of slots) {
      this.slots.set(key, ownVariable(tf.tensor(s.values, s.shape)));
    }
    this.stepCount = step;
  }

  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}

/** The slots each parameter has, in the order the fused kernels take them. */
function slotKinds(c: OptimizerConfig): string[] {
  const r = resolveOptimizer(c);
  return r.type === 'sgd' ? (r.momentum ? ['momentum'] : []) : ['m', 'v'];
}

/** The configured weight decay with PyTorch's defaults (0, AdamW 0.01). */
function weightDecay(c: OptimizerConfig): number {
  return c.weightDecay ?? (c.type === 'adamw' ? 0.01 : 0);
}

/**
 * An unnamed, non-trainable variable holding `t`'s data, and `t` released:
 * tf.variable(t) shares t's buffer, which would otherwise stay referenced.
 */
function ownVariable(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

/**
 * Scales `grads` so their global L2 norm is at most `maxNorm` (torch's
 * clip_grad_norm_); returns the new list and the norm before clipping.
 * Stays on the device: no read-back.
 */
export function clipByGlobalNorm(
  grads: readonly tf.Tensor[],
  maxNorm: number,
): { grads: tf.Tensor[]; norm: tf.Scalar } {
  const norm = tf.sqrt(tf.addN(grads.map((g) => g.square().sum()))) as tf.Scalar;
  const factor = tf.minimum(1, tf.div(maxNorm, norm.add(1e-6)));
  return { grads: grads.map((g) => g.mul(factor)), norm };
}
