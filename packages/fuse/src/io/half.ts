/**
 * Bit-level conversions between float32 and the two 16-bit float formats that
 * checkpoints use: IEEE 754 binary16 (`F16`) and bfloat16 (`BF16`, the top half
 * of a float32). Encoding rounds to nearest, ties to even, as PyTorch's `.half()`
 * and `.bfloat16()` do, so a file written here matches one written there.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

let f16Table: Float32Array | null = null;

/** The float32 value of every binary16 bit pattern, built once on first use (256 KiB). */
function f16ToF32Table(): Float32Array {
  if (f16Table !== null) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 31) t[h] = mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = t;
  return t;
}

/** The value of one binary16 bit pattern. */
export function f16BitsToNumber(bits: number): number {
  return f16ToF32Table()[bits & 0xffff]!;
}

/** Decodes binary16 bit patterns into a new Float32Array (exact: every F16 is a float32). */
export function decodeF16(bits: Uint16Array): Float32Array {
  const table = f16ToF32Table();
  const out = new Float32Array(bits.length);
  for (let j = 0; j < bits.length; j++) out[j] = table[bits[j]!]!;
  return out;
}

/**
 * The binary16 bit pattern nearest to the float32 value `v` (ties to even).
 * Finite values of magnitude >= 65520 become infinity, values below half the
 * smallest subnormal (2^-25) become a signed zero, NaN stays NaN.
 * `v` should already be a float32: rounding a float64 twice can differ in the last bit.
 */
export function numberToF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal result: the half's unit is 2^-24, so keep mant >> (14 - e) bits.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** Decodes bfloat16 bit patterns: each is the top 16 bits of a float32. */
export function decodeBF16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let j = 0; j < bits.length; j++) outBits[j] = bits[j]! << 16;
  return out;
}

/** The value of one bfloat16 bit pattern. */
export function bf16BitsToNumber(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** The bfloat16 bit pattern nearest to the float32 value `v` (ties to even; NaN stays NaN). */
export function numberToBF16Bits(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return (x >>> 16) | 0x40;
  // No wrap-around: the largest non-NaN pattern plus 0x8000 stays below 2^32.
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
