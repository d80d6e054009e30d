/**
 * The arithmetic of int8 quantization, as ONNX QuantizeLinear defines it:
 * q = saturate(roundHalfEven(x / scale) + zeroPoint), x' = (q - zeroPoint) * scale.
 */

/** Round half to even, the rounding QuantizeLinear uses. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round sends .5 up; where it landed on an odd number from an exact half, step back.
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Scale and zero point of one uint8 activation tensor. */
export interface ActivationParams {
  /** float32, as stored in the graph. */
  readonly scale: number;
  /** 0..255. */
  readonly zeroPoint: number;
}

/**
 * uint8 asymmetric parameters for the range [lo, hi], widened to hold 0 so
 * that zero (the padding value, and ReLU's floor) is exact: ONNX Runtime's
 * convention. An all-zero tensor gets scale 1, zero point 0, as ORT gives it.
 */
export function activationParams(lo: number, hi: number): ActivationParams {
  const min = Math.min(lo, 0);
  const max = Math.max(hi, 0);
  if (max === min) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((max - min) / 255);
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-min / scale)));
  return { scale, zeroPoint };
}

/** x through uint8 QuantizeLinear then DequantizeLinear. */
export function fakeQuantU8(x: number, p: ActivationParams): number {
  const q = Math.min(255, Math.max(0, roundHalfEven(x / p.scale) + p.zeroPoint));
  return (q - p.zeroPoint) * p.scale;
}

/** An int8 per-channel weight: values, one scale per channel, and its SQNR. */
export interface QuantizedWeight {
  readonly data: Int8Array;
  readonly scales: Float32Array;
  /** 10 log10(sum w^2 / sum (w - w')^2), dB; Infinity when exact. */
  readonly sqnrDb: number;
}

/**
 * Symmetric int8 per channel: scale = max|w| / qmax over the channel, zero
 * point 0, values in [-qmax, qmax] (never -128, so the range is symmetric).
 * qmax 127, or 63 for 7-bit weights. A channel of zeros gets scale 1.
 * `channelOf(i)` is the channel of flat element i.
 */
export function quantizeWeight(
  w: Float32Array,
  channels: number,
  channelOf: (i: number) => number,
  qmax = 127,
): QuantizedWeight {
  const absMax = new Float64Array(channels);
  for (const [i, v] of w.entries()) {
    const c = channelOf(i);
    absMax[c] = Math.max(absMax[c]!, Math.abs(v));
  }
  const scales = Float32Array.from(absMax, (m) => (m > 0 ? m / qmax : 1));
  const data = new Int8Array(w.length);
  let signal = 0;
  let noise = 0;
  for (const [i, v] of w.entries()) {
    const s = scales[channelOf(i)]!;
    const q = Math.min(qmax, Math.max(-qmax, roundHalfEven(v / s)));
    data[i] = q;
    signal += v * v;
    noise += (v - q * s) ** 2;
  }
  return { data, scales, sqnrDb: sqnr(signal, noise) };
}

/** Signal-to-quantization-noise ratio in dB from the two sums of squares. */
export function sqnr(signal: number, noise: number): number {
  if (noise === 0) return Number.POSITIVE_INFINITY;
  if (signal === 0) return Number.NEGATIVE_INFINITY;
  return 10 * Math.log10(signal / noise);
}

const INT32_MAX = 2 ** 31 - 1;

/**
 * A bias as int32 at scale inputScale * weightScale[c] (zero point 0), the
 * form ONNX Runtime folds into QLinearConv / QGemm. Undefined when a value
 * does not fit int32 (a tiny input or weight scale): that layer stays float.
 */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { data: Int32Array; scales: Float32Array } | undefined {
  const scales = Float32Array.from(weightScales, (s) => inputScale * s);
  const data = new Int32Array(bias.length);
  for (const [c, b] of bias.entries()) {
    const q = roundHalfEven(b / scales[c]!);
    if (!Number.isFinite(q) || Math.abs(q) > INT32_MAX) return undefined;
    data[c] = q;
  }
  return { data, scales };
}
