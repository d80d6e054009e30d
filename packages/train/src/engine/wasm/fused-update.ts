/**
 * Runs the optimizer-update loops of optimizer-kernels.ts on TF.js tensors.
 *
 * The new weight and slot values go to freshly allocated heap buffers, which
 * then replace the variables' data (Variable.assign), exactly as the TF.js-op
 * path's results do. Writing in place would be no faster (the same bytes are
 * read and written) and is unsafe twice over:
 * - a variable can share its data with tensors the caller holds
 *   (tf.variable(t), v.assign(t), tf.clone(v)), which would silently change;
 * - the wasm backend's XNNPACK conv, depthwise and matMul operators cache their
 *   packed weights keyed by the tensor's id, so a conv would keep using the
 *   old weights after an in-place update (measured: it does).
 * A fresh buffer has a fresh id and no other owner, so neither can happen.
 */
import * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './heap.js';
import { heapPointer } from './heap-module.js';
import {
  type AdamFn,
  type AdamKind,
  type OptimizerKernels,
  optimizerKernels,
  type SgdFn,
  type SgdKind,
} from './optimizer-kernels.js';

/** SGD with optional (Nesterov) momentum; scalars as JS doubles (the kernels round them to f32). */
export interface SgdRule {
  readonly kind: SgdKind;
  readonly wd: number;
  readonly mu: number;
  readonly lr: number;
}

/** Adam / AdamW with this step's bias corrections already computed. */
export interface AdamRule {
  readonly kind: AdamKind;
  readonly wd: number;
  /** 1 - lr*wd (AdamW's decoupled decay factor). */
  readonly keep: number;
  readonly b1: number;
  /** 1 - b1 */
  readonly c1: number;
  readonly b2: number;
  /** 1 - b2 */
  readonly c2: number;
  /** Bias corrections 1 - b1^t and 1 - b2^t. */
  readonly bc1: number;
  readonly bc2: number;
  readonly eps: number;
  readonly lr: number;
}

export type UpdateRule = SgdRule | AdamRule;

const isAdam = (r: UpdateRule): r is AdamRule => r.kind === 'adam' || r.kind === 'adamw';

/** One parameter's update: its weight, gradient and slots (momentum, or m and v) in kernel order. */
export interface FusedParam {
  readonly variable: tf.Variable;
  readonly grad: tf.Tensor;
  readonly slots: readonly tf.Variable[];
  readonly decay: boolean;
}

/** How many slots each rule reads and writes. */
const SLOTS: Record<UpdateRule['kind'], number> = {
  sgd: 0,
  momentum: 1,
  nesterov: 1,
  adam: 2,
  adamw: 2,
};

/**
 * The kernels if every parameter of this step can take the fused path on the
 * active backend: wasm with its SIMD loops on, float32 everywhere, gradients of
 * the weight's shape (the TF.js path broadcasts or throws otherwise).
 */
function usableKernels(rule: UpdateRule, params: readonly FusedParam[]): OptimizerKernels | null {
  if (tf.getBackend() !== 'wasm') return null;
  const k = optimizerKernels(tf.backend());
  if (!k) return null;
  for (const p of params) {
    const all = [p.variable, p.grad, ...p.slots];
    if (p.slots.length !== SLOTS[rule.kind]) return null;
    const fits = (t: tf.Tensor) =>
      !t.isDisposed && t.dtype === 'float32' && tf.util.arraysEqual(t.shape, p.variable.shape);
    if (!all.every(fits)) return null;
  }
  return k;
}

/** Replaces the variable's data with a new buffer it owns alone. */
function adopt(v: tf.Variable, info: tf.TensorInfo): void {
  const t = tf.engine().makeTensorFromTensorInfo(info);
  v.assign(t); // v now holds a second reference: drop the wrapper's
  t.dispose();
}

/**
 * Applies `rule` to every parameter with the wasm kernels and returns true, or
 * changes nothing and returns false when the fused path cannot run here.
 */
export function fusedUpdate(rule: UpdateRule, params: readonly FusedParam[]): boolean {
  const k = usableKernels(rule, params);
  if (!k) return false;
  const b = tf.backend() as unknown as WasmBackendLike;
  for (const p of params) {
    const w = p.variable;
    const inputs = [w, p.grad, ...p.slots];
    const outs = [w, ...p.slots].map(() => b.makeOutput(w.shape, 'float32'));
    // Pointers after the allocations (and after any move from another backend):
    // they are offsets, so a heap growth does not invalidate them.
    const ptr = [...inputs, ...outs].map((t) => heapPointer(b, t));
    const n = 4 * w.size;
    const fn = k[`${rule.kind}${p.decay ? '_wd' : ''}` as keyof OptimizerKernels];
    if (isAdam(rule)) {
      const [pw, pg, pm, pv, ow, om, ov] = ptr;
      const { wd, keep, b1, c1, b2, c2, bc1, bc2, eps, lr } = rule;
      (fn as AdamFn)(
        pw!,
        pg!,
        pm!,
        pv!,
        ow!,
        om!,
        ov!,
        n,
        wd,
        keep,
        b1,
        c1,
        b2,
        c2,
        bc1,
        bc2,
        eps,
        lr,
      );
    } else {
      // Plain SGD has no buffer: its kernel never reads or writes those two pointers.
      const [pw, pg, pb, ow, ob] = rule.kind === 'sgd' ? [ptr[0]!, ptr[1]!, 0, ptr[2]!, 0] : ptr;
      (fn as SgdFn)(pw!, pg!, pb!, ow!, ob!, n, rule.wd, rule.mu, rule.lr);
    }
    adopt(w, outs[0]!);
    for (const [j, s] of p.slots.entries()) adopt(s, outs[j + 1]!);
  }
  return true;
}
