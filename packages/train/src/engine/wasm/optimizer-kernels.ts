// biome-ignore-all format: the byte code reads best as one instruction group per line
/**
 * The optimizer update as WebAssembly SIMD loops on the TF.js wasm backend's
 * heap: one pass per parameter reads the weight, its gradient and its slots
 * and writes the new weight and slots, instead of 5-12 elementwise TF.js
 * kernels that each stream the whole tensor through memory. Measured over
 * RepVGG-A0's 7.8 M parameters (bench/optimizer.ts): SGD-Nesterov with decay
 * 67 ms as TF.js ops, 15 ms fused; AdamW 123 vs 21 ms. The loops are bound by
 * memory bandwidth (20-28 bytes per parameter), not arithmetic.
 *
 * Arithmetic order: every function performs exactly the f32 operations of the
 * TF.js-op path in optim/optimizers.ts, in the same order and with the same
 * f32-rounded scalars (wasm f32 arithmetic is IEEE round-to-nearest, with no
 * fused multiply-add), so both paths give bitwise the same results and a run
 * that falls back to TF.js ops, or resumes on another backend, follows the same
 * trajectory.
 *
 * Every function is written once over "lanes" and emitted twice: four floats
 * at a time up to the last multiple of 4, then one at a time for the tail.
 * Outputs are separate buffers (see fused-update.ts for why). Pointers are
 * byte offsets into the heap, `n` counts bytes.
 */
import { F32, I32, op, uleb, V128, type WasmFunction } from '@repnets/fuse/wasm-asm';
import { heapModule } from './heap-module.js';

const { get, set, tee, i32, at, loop, f32Load, f32Store, v128Load, v128Store } = op;
const simd = (code: number) => [0xfd, ...uleb(code)];
const i32And = [0x71];

/** Instructions (read-only: the assembler's groups are constants). */
type Code = readonly number[];

/** The instructions one element (or four) of the update uses. */
interface Lanes {
  readonly width: number; // bytes per step
  readonly load: Code;
  readonly store: Code;
  readonly add: Code;
  readonly sub: Code;
  readonly mul: Code;
  readonly div: Code;
  readonly sqrt: Code;
}
const VECTOR: Lanes = {
  width: 16, load: v128Load, store: v128Store,
  add: simd(0xe4), sub: simd(0xe5), mul: simd(0xe6), div: simd(0xe7), sqrt: simd(0xe3),
};
const SCALAR: Lanes = {
  width: 4, load: f32Load, store: f32Store,
  add: [0x92], sub: [0x93], mul: [0x94], div: [0x95], sqrt: [0x91],
};

/** Expression builders over one kind of lanes at heap offset local `off`. */
interface Emit {
  load(ptr: number): number[];
  store(ptr: number, value: Code): number[];
  add(a: Code, b: Code): number[];
  sub(a: Code, b: Code): number[];
  mul(a: Code, b: Code): number[];
  div(a: Code, b: Code): number[];
  sqrt(a: Code): number[];
  /** A scalar coefficient (splatted to four lanes in the vector loop). */
  coef(name: string): number[];
  /** A temporary local of the lanes' type. */
  tmp(j: number): number;
}

type Body = (e: Emit) => number[];

/**
 * fn(ptrs..., n, coefs...): `body` at every element. Locals: off, end (n rounded
 * down to 16), the splatted coefficients, `temps` v128 and `temps` f32 temporaries.
 */
function updateFunction(name: string, pointers: number, coefs: readonly string[], temps: number, body: Body): WasmFunction {
  const N = pointers;
  const OFF = pointers + 1 + coefs.length;
  const END = OFF + 1;
  const SPLAT = END + 1;
  const VTMP = SPLAT + coefs.length;
  const STMP = VTMP + temps;
  const coefIndex = (c: string) => {
    const k = coefs.indexOf(c);
    if (k < 0) throw new Error(`optimizer kernels: ${name} has no coefficient '${c}'`);
    return k;
  };
  const emit = (L: Lanes, coef: (k: number) => number[], tmp: (j: number) => number): Emit => ({
    load: (ptr) => [...at(ptr, OFF), ...L.load],
    store: (ptr, value) => [...at(ptr, OFF), ...value, ...L.store],
    add: (a, b) => [...a, ...b, ...L.add],
    sub: (a, b) => [...a, ...b, ...L.sub],
    mul: (a, b) => [...a, ...b, ...L.mul],
    div: (a, b) => [...a, ...b, ...L.div],
    sqrt: (a) => [...a, ...L.sqrt],
    coef: (c) => coef(coefIndex(c)),
    tmp,
  });
  const vector = emit(VECTOR, (k) => get(SPLAT + k), (j) => VTMP + j);
  const scalar = emit(SCALAR, (k) => get(N + 1 + k), (j) => STMP + j);
  return {
    name,
    params: [...Array(pointers + 1).fill(I32), ...coefs.map(() => F32)],
    results: [],
    locals: [I32, I32, ...Array(coefs.length + temps).fill(V128), ...Array(temps).fill(F32)],
    body: [
      ...get(N), ...i32(-16), ...i32And, ...set(END),
      ...coefs.flatMap((_, k) => [...get(N + 1 + k), ...simd(0x13), ...set(SPLAT + k)]), // f32x4.splat
      ...loop(OFF, END, VECTOR.width, body(vector)),
      ...loop(OFF, N, SCALAR.width, body(scalar)), // the tail: `off` carries on from `end`
    ],
  };
}

// SGD family: (w, g, buf, wOut, bufOut, n, wd, mu, lr).
const [W, G, BUF, W_OUT, BUF_OUT] = [0, 1, 2, 3, 4];
export type SgdKind = 'sgd' | 'momentum' | 'nesterov';

/**
 * d = decay ? g + w*wd : g;  buf' = buf*mu + d;  step = nesterov ? d + buf'*mu : buf';
 * w' = w - step*lr. Plain 'sgd' (mu = 0) has no buffer: step = d.
 */
function sgd(kind: SgdKind, decay: boolean): WasmFunction {
  return updateFunction(`${kind}${decay ? '_wd' : ''}`, 5, ['wd', 'mu', 'lr'], 3, (e) => {
    const [w, d, b] = [e.tmp(0), e.tmp(1), e.tmp(2)];
    const code = [...e.load(W), ...set(w)];
    code.push(...(decay ? e.add(e.load(G), e.mul(get(w), e.coef('wd'))) : e.load(G)), ...set(d));
    let step: Code = get(d);
    if (kind !== 'sgd') {
      code.push(...e.store(BUF_OUT, [...e.add(e.mul(e.load(BUF), e.coef('mu')), get(d)), ...tee(b)]));
      step = kind === 'nesterov' ? e.add(get(d), e.mul(get(b), e.coef('mu'))) : get(b);
    }
    code.push(...e.store(W_OUT, e.sub(get(w), e.mul(step, e.coef('lr')))));
    return code;
  });
}

// Adam family: (w, g, m, v, wOut, mOut, vOut, n, wd, keep, b1, c1, b2, c2, bc1, bc2, eps, lr).
const [M, V, AW_OUT, M_OUT, V_OUT] = [2, 3, 4, 5, 6];
const ADAM_COEFS = ['wd', 'keep', 'b1', 'c1', 'b2', 'c2', 'bc1', 'bc2', 'eps', 'lr'] as const;
export type AdamKind = 'adam' | 'adamw';

/**
 * d = adam && decay ? g + w*wd : g;  m' = m*b1 + d*c1;  v' = v*b2 + (d*d)*c2;
 * base = adamw && decay ? w*keep : w;  w' = base - ((m'/bc1) / (sqrt(v'/bc2) + eps))*lr,
 * with c = 1 - beta, bc = 1 - beta^t, keep = 1 - lr*wd.
 */
function adam(kind: AdamKind, decay: boolean): WasmFunction {
  return updateFunction(`${kind}${decay ? '_wd' : ''}`, 7, ADAM_COEFS, 4, (e) => {
    const [w, d, m, v] = [e.tmp(0), e.tmp(1), e.tmp(2), e.tmp(3)];
    const c = e.coef;
    const l2 = decay && kind === 'adam';
    const decoupled = decay && kind === 'adamw';
    return [
      ...e.load(W), ...set(w),
      ...(l2 ? e.add(e.load(G), e.mul(get(w), c('wd'))) : e.load(G)), ...set(d),
      ...e.store(M_OUT, [...e.add(e.mul(e.load(M), c('b1')), e.mul(get(d), c('c1'))), ...tee(m)]),
      ...e.store(V_OUT, [...e.add(e.mul(e.load(V), c('b2')), e.mul(e.mul(get(d), get(d)), c('c2'))), ...tee(v)]),
      ...e.store(AW_OUT, e.sub(
        decoupled ? e.mul(get(w), c('keep')) : get(w),
        e.mul(e.div(e.div(get(m), c('bc1')), e.add(e.sqrt(e.div(get(v), c('bc2'))), c('eps'))), c('lr')),
      )),
    ];
  });
}

export type SgdFn = (w: number, g: number, buf: number, wOut: number, bufOut: number, n: number, wd: number, mu: number, lr: number) => void;
export type AdamFn = (
  w: number, g: number, m: number, v: number, wOut: number, mOut: number, vOut: number, n: number,
  wd: number, keep: number, b1: number, c1: number, b2: number, c2: number, bc1: number, bc2: number, eps: number, lr: number,
) => void;

/** Exported by name: `${kind}` or `${kind}_wd` (the rule with weight decay). */
export type OptimizerKernels = Record<`${SgdKind}` | `${SgdKind}_wd`, SgdFn> & Record<`${AdamKind}` | `${AdamKind}_wd`, AdamFn>;

const FUNCTIONS: WasmFunction[] = [false, true].flatMap((decay) => [
  ...(['sgd', 'momentum', 'nesterov'] as const).map((k) => sgd(k, decay)),
  ...(['adam', 'adamw'] as const).map((k) => adam(k, decay)),
]);

/** The update loops bound to this wasm backend's heap, or null (TF.js-op fallback). */
export const optimizerKernels = heapModule<OptimizerKernels>('optimizer', FUNCTIONS);
