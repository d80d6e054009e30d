/**
 * Activation ranges from a calibration set: the TF.js model is run with every
 * tensor that feeds a Conv or Gemm as an extra output, batch by batch.
 */
import * as tf from '@tensorflow/tfjs';
import { type ActivationParams, activationParams, fakeQuantU8, sqnr } from './int8-params.js';

/** How an activation's clipping range is chosen from the calibration data. */
export type CalibrationMethod = 'minmax' | 'percentile' | 'mse';

/** One calibration batch as raw NHWC data. */
export interface CalibrationBatch {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number];
}

/** Calibration input: NHWC batches, already preprocessed as the model takes them. */
export type CalibrationSet = Iterable<tf.Tensor4D | CalibrationBatch>;

const BINS = 2048;

interface Stats {
  min: number;
  max: number;
  hist?: Float64Array;
  signal: number;
  noise: number;
}

/** Calibrated parameters of one tensor, and what quantizing it costs on the calibration set. */
export interface CalibratedTensor extends ActivationParams {
  /** Observed range over the calibration set. */
  readonly min: number;
  readonly max: number;
  /** Clipping range the method chose (within [min, max], widened to hold 0). */
  readonly clipMin: number;
  readonly clipMax: number;
  /** SQNR of QuantizeLinear/DequantizeLinear on the calibration values, dB. */
  readonly sqnrDb: number;
}

/** Checks the set and turns it into tensors (owned ones are disposed by the caller). */
export function readCalibration(
  set: CalibrationSet,
  inputShape: readonly (number | null)[],
  minImages: number,
  who: string,
): { batches: tf.Tensor4D[]; owned: tf.Tensor4D[]; images: number } {
  const batches: tf.Tensor4D[] = [];
  const owned: tf.Tensor4D[] = [];
  const want = `[n, ${inputShape.slice(1).join(', ')}]`;
  let images = 0;
  let k = 0;
  if (
    set === null ||
    set === undefined ||
    typeof (set as Iterable<unknown>)[Symbol.iterator] !== 'function'
  ) {
    throw new Error(`${who}: calibration must be an iterable of NHWC batches, got ${String(set)}`);
  }
  try {
    for (const b of set) {
      let t: tf.Tensor4D;
      if (b instanceof tf.Tensor) {
        t = b;
      } else if (b && b.data instanceof Float32Array && Array.isArray(b.shape)) {
        const size = b.shape.reduce((p, d) => p * d, 1);
        if (b.shape.length !== 4 || size !== b.data.length) {
          throw new Error(
            `${who}: calibration batch ${k} has ${b.data.length} values for shape [${b.shape.join(', ')}]; expected an NHWC ${want} batch`,
          );
        }
        t = tf.tensor4d(b.data, b.shape as [number, number, number, number]);
        owned.push(t);
      } else {
        throw new Error(
          `${who}: calibration batch ${k} is neither a tf.Tensor4D nor { data: Float32Array, shape }`,
        );
      }
      const bad =
        t.shape.length !== 4 ||
        t.shape.slice(1).some((d, i) => inputShape[i + 1] !== null && d !== inputShape[i + 1]);
      if (bad) {
        throw new Error(
          `${who}: calibration batch ${k} has shape [${t.shape.join(', ')}], the model takes ${want}`,
        );
      }
      batches.push(t);
      images += t.shape[0];
      k++;
    }
  } catch (e) {
    for (const t of owned) t.dispose();
    throw e;
  }
  if (images < minImages) {
    for (const t of owned) t.dispose();
    throw new Error(
      `${who}: the calibration set has ${images} image(s) in ${batches.length} batch(es); at least ${minImages} are needed (option minCalibrationImages)`,
    );
  }
  return { batches, owned, images };
}

/** Bin index of v in [min, max] over BINS bins. */
const bin = (v: number, min: number, width: number) =>
  Math.min(BINS - 1, Math.max(0, Math.floor((v - min) / width)));

/** The range holding `fraction` of the mass at each tail cut: [(1-f) quantile, f quantile]. */
function percentileRange(s: Stats, percent: number): [number, number] {
  const hist = s.hist!;
  const total = hist.reduce((a, b) => a + b, 0);
  const width = (s.max - s.min) / BINS;
  const tail = total * (1 - percent / 100);
  let acc = 0;
  let lo = s.min;
  for (const [i, n] of hist.entries()) {
    acc += n;
    if (acc > tail) {
      lo = s.min + i * width;
      break;
    }
  }
  acc = 0;
  let hi = s.max;
  for (let i = BINS - 1; i >= 0; i--) {
    acc += hist[i]!;
    if (acc > tail) {
      hi = s.min + (i + 1) * width;
      break;
    }
  }
  return [Math.max(lo, s.min), Math.min(hi, s.max)];
}

/**
 * The clipping range [f min, f max], f on a grid from 0.05 to 1, whose
 * QuantizeLinear/DequantizeLinear error over the histogram (values at bin
 * centres) is least: clipping a few outliers buys a finer step for the rest.
 */
function mseRange(s: Stats): [number, number] {
  const hist = s.hist!;
  const width = (s.max - s.min) / BINS;
  let best: [number, number] = [s.min, s.max];
  let bestErr = Number.POSITIVE_INFINITY;
  for (let k = 100; k >= 5; k--) {
    const f = k / 100;
    const p = activationParams(f * s.min, f * s.max);
    let err = 0;
    for (const [i, n] of hist.entries()) {
      if (n === 0) continue;
      const x = s.min + (i + 0.5) * width;
      err += n * (x - fakeQuantU8(x, p)) ** 2;
    }
    if (err < bestErr) {
      bestErr = err;
      best = [f * s.min, f * s.max];
    }
  }
  return best;
}

/**
 * Runs the model over the batches with `targets` as outputs and calibrates
 * each: one pass for the ranges, one for the histograms (percentile, mse),
 * one for the SQNR at the chosen parameters.
 */
export async function calibrate(
  model: tf.LayersModel,
  targets: readonly tf.SymbolicTensor[],
  batches: readonly tf.Tensor4D[],
  method: CalibrationMethod,
  percentile: number,
): Promise<CalibratedTensor[]> {
  const input = model.inputs[0]!;
  const inner = targets.filter((t) => t !== input);
  const probe =
    inner.length > 0 ? tf.model({ inputs: model.inputs, outputs: [...inner] }) : undefined;
  const forEach = async (visit: (k: number, data: Float32Array) => void) => {
    for (const x of batches) {
      const outs = probe ? probe.predict(x) : [];
      const list = Array.isArray(outs) ? outs : [outs];
      let j = 0;
      for (const [k, t] of targets.entries()) {
        const y = t === input ? x : list[j++]!;
        visit(k, (await y.data()) as Float32Array);
      }
      for (const o of list) o.dispose();
    }
  };
  const stats: Stats[] = targets.map(() => ({
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    signal: 0,
    noise: 0,
  }));
  await forEach((k, data) => {
    const s = stats[k]!;
    for (const v of data) {
      if (v < s.min) s.min = v;
      if (v > s.max) s.max = v;
    }
  });
  for (const s of stats) {
    if (!Number.isFinite(s.min) || !Number.isFinite(s.max)) {
      throw new Error(
        'exportOnnxInt8: the model produced a non-finite activation on the calibration set',
      );
    }
  }
  if (method !== 'minmax') {
    for (const s of stats) s.hist = new Float64Array(BINS);
    await forEach((k, data) => {
      const s = stats[k]!;
      const hist = s.hist as Float64Array;
      const width = (s.max - s.min) / BINS || 1;
      for (const v of data) {
        const i = bin(v, s.min, width);
        hist[i] = (hist[i] ?? 0) + 1;
      }
    });
  }
  const ranges = stats.map((s): [number, number] => {
    if (method === 'minmax' || s.max === s.min) return [s.min, s.max];
    return method === 'percentile' ? percentileRange(s, percentile) : mseRange(s);
  });
  const params = ranges.map(([lo, hi]) => activationParams(lo, hi));
  await forEach((k, data) => {
    const s = stats[k]!;
    const p = params[k]!;
    for (const v of data) {
      s.signal += v * v;
      s.noise += (v - fakeQuantU8(v, p)) ** 2;
    }
  });
  return stats.map((s, k) => ({
    ...params[k]!,
    min: s.min,
    max: s.max,
    clipMin: Math.min(ranges[k]![0], 0),
    clipMax: Math.max(ranges[k]![1], 0),
    sqnrDb: sqnr(s.signal, s.noise),
  }));
}
