/**
 * The inner loops of every fold. A folded kernel is built row by row: each
 * branch kernel, multiplied per output channel by its scale, is added into the
 * row at its centred position; the identity adds its scale at the centre tap.
 *
 * Arithmetic is float32 throughout, identical in both engines: a branch adds
 * `fround(w * fround(s))` to the row with a float32 add, in branch order, and
 * the identity comes last. So OIHW and HWIO folds agree bit for bit, and so do
 * the SIMD and JS engines.
 */
import { type SimdKernels, simdKernels } from './simd-module.js';

export interface RowBranch {
  readonly data: Float32Array;
  readonly kh: number;
  readonly kw: number;
  /** Per output channel, already rounded to float32; null means 1. */
  readonly scale: Float32Array | null;
  readonly offH: number;
  readonly offW: number;
}

export interface RowFold {
  readonly dst: Float32Array;
  readonly out: number;
  readonly inPerGroup: number;
  readonly kh: number;
  readonly kw: number;
  /** Full-size branches first. */
  readonly branches: readonly RowBranch[];
  readonly identityScale: Float32Array | null;
}

export type FoldEngine = 'simd' | 'js';
let preference: 'auto' | FoldEngine = 'auto';

/** Chooses the engine: 'auto' (SIMD where WebAssembly SIMD exists), 'simd' or 'js'. */
export function setFoldEngine(engine: 'auto' | FoldEngine): void {
  if (engine === 'simd' && simdKernels() === null) {
    throw new Error("setFoldEngine: 'simd' requested, but this runtime has no WebAssembly SIMD");
  }
  preference = engine;
}

/** The engine folds will use now. */
export function foldEngine(): FoldEngine {
  if (preference === 'js') return 'js';
  return simdKernels() === null ? 'js' : 'simd';
}

/** Rows of this many floats stay cache-resident between the copy in and the copy out. */
const CHUNK_FLOATS = 16384;

class Scratch {
  f32: Float32Array;
  constructor(readonly k: SimdKernels) {
    this.f32 = new Float32Array(k.memory.buffer);
  }
  /** Makes room for `floats` floats and returns the live view (growth detaches the old one). */
  ensure(floats: number): Float32Array {
    const bytes = floats * 4;
    const have = this.k.memory.buffer.byteLength;
    if (bytes > have) this.k.memory.grow(Math.ceil((bytes - have) / 65536));
    if (this.f32.buffer !== this.k.memory.buffer) this.f32 = new Float32Array(this.k.memory.buffer);
    return this.f32;
  }
}
let scratch: Scratch | null = null;

/** Below this many floats per OIHW row that is not a lane multiple, the JS loops win. */
const MIN_SIMD_ROW = 64;

const roundUp4 = (n: number) => (n + 3) & ~3;

/** Returns the first non-finite output index, or -1. */
export function foldRows(f: RowFold, channelsLast: boolean): number {
  const k = foldEngine() === 'simd' ? simdKernels() : null;
  if (k !== null) {
    scratch ??= new Scratch(k);
    const rowLen = f.inPerGroup * f.kh * f.kw;
    if (channelsLast) {
      if (f.out % 4 === 0) return simdChannelsLast(f, scratch);
    } else if (rowLen % 4 === 0) {
      return simdChannelsFirstChunked(f, scratch);
    } else if (rowLen >= MIN_SIMD_ROW) {
      // Short ragged rows (depthwise 3x3: 9 floats) cost more in calls than in math.
      return simdChannelsFirst(f, scratch);
    }
  }
  return channelsLast ? jsChannelsLast(f) : jsChannelsFirst(f);
}

/**
 * Adds a smaller branch into one OIHW output row held in `row` at `rowBase`.
 * Returns a probe that is 0 unless a stored value is Inf or NaN (x * 0 is NaN then).
 */
function addSmallBranch(
  row: Float32Array,
  rowBase: number,
  br: RowBranch,
  o: number,
  f: RowFold,
): number {
  const { kh, kw } = br;
  const taps = f.kh * f.kw;
  const s = br.scale === null ? 1 : br.scale[o]!;
  const src = br.data;
  const sBase = o * f.inPerGroup * kh * kw;
  if (kh === 1 && kw === 1) {
    const c = rowBase + br.offH * f.kw + br.offW;
    let probe = 0;
    for (let i = 0; i < f.inPerGroup; i++) {
      probe += addProbed(row, c + i * taps, Math.fround(src[sBase + i]! * s));
    }
    return probe;
  }
  let probe = 0;
  for (let i = 0; i < f.inPerGroup; i++) {
    for (let h = 0; h < kh; h++) {
      const so = sBase + (i * kh + h) * kw;
      const d = rowBase + i * taps + (h + br.offH) * f.kw + br.offW;
      for (let w = 0; w < kw; w++) {
        probe += addProbed(row, d + w, Math.fround(src[so + w]! * s));
      }
    }
  }
  return probe;
}

function firstBad(a: Float32Array, from: number, to: number): number {
  for (let j = from; j < to; j++) if (!Number.isFinite(a[j])) return j - from;
  return -1;
}

/**
 * `a[x] = fround(a[x] + v)`, a float32 add; returns `stored * 0`, which is 0 for a
 * finite result and NaN otherwise, so summing the returns probes every store.
 */
function addProbed(a: Float32Array, x: number, v: number): number {
  const r = Math.fround(a[x]! + v);
  a[x] = r;
  return r * 0;
}

/**
 * Copies a finished staging chunk out to the kernel, unless a probe saw a
 * non-finite store: then returns the kernel index of the first bad value.
 */
function flushChunk(
  mem: Float32Array,
  from: number,
  len: number,
  dst: Float32Array,
  base: number,
  bad: number,
): number {
  if (bad !== 0) {
    const j = firstBad(mem, from, from + len);
    if (j >= 0) return base + j;
  }
  dst.set(mem.subarray(from, from + len), base);
  return -1;
}

function isFull(br: RowBranch, f: RowFold): boolean {
  return br.kh === f.kh && br.kw === f.kw;
}

function jsChannelsFirst(f: RowFold): number {
  const { dst, out, inPerGroup: ipg } = f;
  const taps = f.kh * f.kw;
  const rowLen = ipg * taps;
  const centre = ((f.kh - 1) / 2) * f.kw + (f.kw - 1) / 2;
  for (let o = 0; o < out; o++) {
    const base = o * rowLen;
    let filled = false;
    for (const br of f.branches) {
      if (!isFull(br, f)) {
        if (!filled) dst.fill(0, base, base + rowLen);
        filled = true;
        addSmallBranch(dst, base, br, o, f);
        continue;
      }
      const src = br.data;
      const s = br.scale === null ? 1 : br.scale[o]!;
      if (!filled) for (let j = 0; j < rowLen; j++) dst[base + j] = src[base + j]! * s;
      else for (let j = 0; j < rowLen; j++) dst[base + j]! += Math.fround(src[base + j]! * s);
      filled = true;
    }
    if (!filled) dst.fill(0, base, base + rowLen);
    if (f.identityScale !== null) dst[base + (o % ipg) * taps + centre]! += f.identityScale[o]!;
    const bad = firstBad(dst, base, base + rowLen);
    if (bad >= 0) return base + bad;
  }
  return -1;
}

function simdChannelsFirst(f: RowFold, sc: Scratch): number {
  const { dst, out, inPerGroup: ipg } = f;
  const taps = f.kh * f.kw;
  const rowLen = ipg * taps;
  const R = roundUp4(rowLen);
  const A = 0; // staging for one source row
  const B = R; // the output row being built
  const mem = sc.ensure(2 * R);
  const k = sc.k;
  const centre = ((f.kh - 1) / 2) * f.kw + (f.kw - 1) / 2;
  mem.fill(0, A, A + R);
  for (let o = 0; o < out; o++) {
    const base = o * rowLen;
    let filled = false;
    let bad = 0;
    for (const br of f.branches) {
      if (!isFull(br, f)) {
        if (!filled) mem.fill(0, B, B + R);
        filled = true;
        if (addSmallBranch(mem, B, br, o, f) !== 0) bad = 1;
        continue;
      }
      mem.set(br.data.subarray(base, base + rowLen), A);
      const s = br.scale === null ? 1 : br.scale[o]!;
      bad |= filled ? k.scaleAdd(B * 4, A * 4, R * 4, s) : k.scale(B * 4, A * 4, R * 4, s);
      filled = true;
    }
    if (!filled) mem.fill(0, B, B + R);
    if (f.identityScale !== null) {
      if (addProbed(mem, B + (o % ipg) * taps + centre, f.identityScale[o]!) !== 0) bad = 1;
    }
    const at = flushChunk(mem, B, rowLen, dst, base, bad);
    if (at >= 0) return at;
  }
  return -1;
}

/**
 * OIHW rows whose length is a whole number of lanes: many rows per chunk, one
 * wasm call per branch per chunk, each row scaled by its own channel's factor.
 */
function simdChannelsFirstChunked(f: RowFold, sc: Scratch): number {
  const { dst, out, inPerGroup: ipg } = f;
  const taps = f.kh * f.kw;
  const rowLen = ipg * taps;
  const rows = Math.max(1, Math.min(out, Math.floor(CHUNK_FLOATS / rowLen)));
  const n = rows * rowLen;
  // Layout: per-row scales of one chunk (+ one spare float the loop may read), A, B.
  const S = 0;
  const A = roundUp4(rows + 1);
  const B = A + n;
  const mem = sc.ensure(B + n);
  const k = sc.k;
  const centre = ((f.kh - 1) / 2) * f.kw + (f.kw - 1) / 2;
  for (let o0 = 0; o0 < out; o0 += rows) {
    const o1 = Math.min(out, o0 + rows);
    const len = (o1 - o0) * rowLen;
    const base = o0 * rowLen;
    let filled = false;
    let bad = 0;
    for (const br of f.branches) {
      if (!isFull(br, f)) continue;
      if (br.scale === null) mem.fill(1, S, S + (o1 - o0));
      else mem.set(br.scale.subarray(o0, o1), S);
      mem.set(br.data.subarray(base, base + len), A);
      bad |= filled
        ? k.scaleRowsAdd(B * 4, A * 4, S * 4, rowLen * 4, len * 4)
        : k.scaleRows(B * 4, A * 4, S * 4, rowLen * 4, len * 4);
      filled = true;
    }
    if (!filled) mem.fill(0, B, B + len);
    for (const br of f.branches) {
      if (isFull(br, f)) continue;
      if (br.kh === 1 && br.kw === 1) {
        // Stage the 1x1 rows in A (free now) and scatter them onto the centre taps in wasm.
        mem.set(br.data.subarray(o0 * ipg, o1 * ipg), A);
        const c = br.offH * f.kw + br.offW;
        for (let o = o0; o < o1; o++) {
          const s = br.scale === null ? 1 : br.scale[o]!;
          bad |= k.scatterAdd(
            (B + (o - o0) * rowLen + c) * 4,
            (A + (o - o0) * ipg) * 4,
            ipg * 4,
            taps * 4,
            s,
          );
        }
        continue;
      }
      for (let o = o0; o < o1; o++) {
        if (addSmallBranch(mem, B + (o - o0) * rowLen, br, o, f) !== 0) bad = 1;
      }
    }
    if (f.identityScale !== null) {
      let probe = 0;
      for (let o = o0; o < o1; o++) {
        probe += addProbed(
          mem,
          B + (o - o0) * rowLen + (o % ipg) * taps + centre,
          f.identityScale[o]!,
        );
      }
      if (probe !== 0) bad = 1;
    }
    const at = flushChunk(mem, B, len, dst, base, bad);
    if (at >= 0) return at;
  }
  return -1;
}

function jsChannelsLast(f: RowFold): number {
  const { dst, out, inPerGroup: ipg, kh: KH, kw: KW } = f;
  const cH = (KH - 1) / 2;
  const cW = (KW - 1) / 2;
  for (let h = 0; h < KH; h++) {
    for (let w = 0; w < KW; w++) {
      for (let i = 0; i < ipg; i++) {
        const base = ((h * KW + w) * ipg + i) * out;
        let filled = false;
        for (const br of f.branches) {
          const hb = h - br.offH;
          const wb = w - br.offW;
          if (hb < 0 || hb >= br.kh || wb < 0 || wb >= br.kw) continue;
          const src = br.data;
          const sBase = ((hb * br.kw + wb) * ipg + i) * out;
          const s = br.scale;
          if (s === null) {
            if (!filled) dst.set(src.subarray(sBase, sBase + out), base);
            else for (let o = 0; o < out; o++) dst[base + o]! += src[sBase + o]!;
          } else if (!filled) {
            for (let o = 0; o < out; o++) dst[base + o] = src[sBase + o]! * s[o]!;
          } else {
            for (let o = 0; o < out; o++) dst[base + o]! += Math.fround(src[sBase + o]! * s[o]!);
          }
          filled = true;
        }
        if (!filled) dst.fill(0, base, base + out);
        if (f.identityScale !== null && h === cH && w === cW) {
          for (let o = i; o < out; o += ipg) dst[base + o]! += f.identityScale[o]!;
        }
        const bad = firstBad(dst, base, base + out);
        if (bad >= 0) return base + bad;
      }
    }
  }
  return -1;
}

function simdChannelsLast(f: RowFold, sc: Scratch): number {
  const { dst, out, inPerGroup: ipg, kh: KH, kw: KW } = f;
  const cH = (KH - 1) / 2;
  const cW = (KW - 1) / 2;
  const rows = Math.max(1, Math.min(ipg, Math.floor(CHUNK_FLOATS / out)));
  const n = rows * out;
  // Layout: one scale vector per branch, then A (staging), then B (output chunk).
  const S = 0;
  const A = f.branches.length * out;
  const B = A + n;
  const mem = sc.ensure(B + n);
  f.branches.forEach((br, b) => {
    if (br.scale === null) mem.fill(1, S + b * out, S + (b + 1) * out);
    else mem.set(br.scale, S + b * out);
  });
  const k = sc.k;
  for (let h = 0; h < KH; h++) {
    for (let w = 0; w < KW; w++) {
      for (let i0 = 0; i0 < ipg; i0 += rows) {
        const i1 = Math.min(ipg, i0 + rows);
        const len = (i1 - i0) * out;
        const base = ((h * KW + w) * ipg + i0) * out;
        let filled = false;
        let bad = 0;
        f.branches.forEach((br, b) => {
          const hb = h - br.offH;
          const wb = w - br.offW;
          if (hb < 0 || hb >= br.kh || wb < 0 || wb >= br.kw) return;
          const sBase = ((hb * br.kw + wb) * ipg + i0) * out;
          mem.set(br.data.subarray(sBase, sBase + len), A);
          const sp = (S + b * out) * 4;
          bad |= filled
            ? k.mulRowsAdd(B * 4, A * 4, sp, out * 4, len * 4)
            : k.mulRows(B * 4, A * 4, sp, out * 4, len * 4);
          filled = true;
        });
        if (!filled) mem.fill(0, B, B + len);
        if (f.identityScale !== null && h === cH && w === cW) {
          let probe = 0;
          for (let i = i0; i < i1; i++) {
            const r = B + (i - i0) * out;
            for (let o = i; o < out; o += ipg) probe += addProbed(mem, r + o, f.identityScale[o]!);
          }
          if (probe !== 0) bad = 1;
        }
        const at = flushChunk(mem, B, len, dst, base, bad);
        if (at >= 0) return at;
      }
    }
  }
  return -1;
}
