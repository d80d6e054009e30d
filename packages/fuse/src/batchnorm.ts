import { FuseError } from './errors.js';

/**
 * Inference-time batch normalization of one layer:
 * `y = gamma * (x - mean) / sqrt(variance + eps) + beta`, per channel.
 * `gamma` and `beta` may be left out for layers built without scale or centre
 * (they then act as 1 and 0). `eps` has no default on purpose: TF.js layers use
 * 1e-3 and PyTorch 1e-5, so the caller must read the layer's own value.
 */
export interface BatchNorm {
  readonly gamma?: Float32Array;
  readonly beta?: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly eps: number;
}

/** BN as the affine map `y = scale * x + shift`, in float64 for exact folding. */
export interface AffineChannels {
  readonly scale: Float64Array;
  readonly shift: Float64Array;
}

function checkVector(
  op: string,
  arg: string,
  v: unknown,
  channels: number,
  shapes: Record<string, readonly number[]>,
): asserts v is Float32Array {
  if (!(v instanceof Float32Array)) {
    throw new FuseError(op, arg, 'must be a Float32Array', shapes);
  }
  if (v.length !== channels) {
    throw new FuseError(op, arg, `has ${v.length} channels, expected ${channels}`, shapes);
  }
  for (let c = 0; c < v.length; c++) {
    if (!Number.isFinite(v[c])) {
      throw new FuseError(op, arg, `has a non-finite value ${v[c]} at channel ${c}`, shapes);
    }
  }
}

/** Checks a BN record against `channels` and names the bad field. */
export function validateBatchNorm(
  op: string,
  arg: string,
  bn: BatchNorm,
  channels: number,
  shapes: Record<string, readonly number[]> = {},
): void {
  if (bn === null || typeof bn !== 'object') {
    throw new FuseError(
      op,
      arg,
      'must be a BatchNorm record { mean, variance, eps, gamma?, beta? }',
      shapes,
    );
  }
  if (typeof bn.eps !== 'number' || !Number.isFinite(bn.eps) || bn.eps <= 0) {
    throw new FuseError(
      op,
      `${arg}.eps`,
      `is ${String(bn.eps)}, expected a finite number > 0`,
      shapes,
    );
  }
  checkVector(op, `${arg}.mean`, bn.mean, channels, shapes);
  checkVector(op, `${arg}.variance`, bn.variance, channels, shapes);
  for (let c = 0; c < channels; c++) {
    if (bn.variance[c]! < 0) {
      throw new FuseError(
        op,
        `${arg}.variance`,
        `is negative (${bn.variance[c]}) at channel ${c}`,
        shapes,
      );
    }
  }
  if (bn.gamma !== undefined) checkVector(op, `${arg}.gamma`, bn.gamma, channels, shapes);
  if (bn.beta !== undefined) checkVector(op, `${arg}.beta`, bn.beta, channels, shapes);
}

/**
 * BN as a per-channel affine map:
 * `scale = gamma / sqrt(variance + eps)`, `shift = beta - mean * scale`.
 * Computed in float64: the folded weights are rounded to float32 once, at the end.
 */
export function batchNormAffine(bn: BatchNorm): AffineChannels {
  const n = bn.mean.length;
  const scale = new Float64Array(n);
  const shift = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    const s = (bn.gamma ? bn.gamma[c]! : 1) / Math.sqrt(bn.variance[c]! + bn.eps);
    scale[c] = s;
    shift[c] = (bn.beta ? bn.beta[c]! : 0) - bn.mean[c]! * s;
  }
  return { scale, shift };
}

/**
 * {@link validateBatchNorm} and {@link batchNormAffine} in one pass: the common
 * case (everything finite, variances >= 0) costs a single loop, and only a bad
 * record pays for the field-by-field scan that names what is wrong.
 */
export function checkedBatchNormAffine(
  op: string,
  arg: string,
  bn: BatchNorm,
  channels: number,
  shapes: Record<string, readonly number[]> = {},
): AffineChannels {
  const fields =
    bn !== null && typeof bn === 'object'
      ? [bn.mean, bn.variance, bn.gamma ?? bn.mean, bn.beta ?? bn.mean]
      : [];
  const shapeOk =
    fields.length === 4 &&
    fields.every((f) => f instanceof Float32Array && f.length === channels) &&
    typeof bn.eps === 'number' &&
    Number.isFinite(bn.eps) &&
    bn.eps > 0;
  if (!shapeOk) validateBatchNorm(op, arg, bn, channels, shapes);
  const { mean, variance, eps } = bn;
  const gamma = bn.gamma ?? null;
  const beta = bn.beta ?? null;
  const scale = new Float64Array(channels);
  const shift = new Float64Array(channels);
  let probe = 0;
  let minVar = 0;
  for (let c = 0; c < channels; c++) {
    const g = gamma === null ? 1 : gamma[c]!;
    const b = beta === null ? 0 : beta[c]!;
    const v = variance[c]!;
    const s = g / Math.sqrt(v + eps);
    scale[c] = s;
    shift[c] = b - mean[c]! * s;
    probe += (g + b + mean[c]! + v) * 0;
    if (v < minVar) minVar = v;
  }
  // NaN probe or a negative variance: let the full check name the field and channel.
  if (probe !== 0 || minVar < 0) validateBatchNorm(op, arg, bn, channels, shapes);
  return { scale, shift };
}
