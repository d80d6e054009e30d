/**
 * Weight quantization in the standard TF.js manifest: each float32 weight
 * stored as uint8 (affine, one min and scale per tensor) or float16, with a
 * `quantization` entry that stock `tf.loadLayersModel` reads and dequantizes
 * on load (tfjs-core's `decodeWeights`: `q * scale + min` for uint8, the
 * binary16 value for float16). Only the download shrinks: the loaded model
 * computes in float32 as before.
 */
import { numberToF16Bits } from '@repnets/fuse';
import type * as tf from '@tensorflow/tfjs';
import { entryBytes } from './model-json.js';

/** How a model folder stores its float32 weights: uint8 (4x smaller) or float16 (2x). */
export type WeightQuantization = 'uint8' | 'float16';

export const WEIGHT_QUANTIZATIONS: readonly WeightQuantization[] = ['uint8', 'float16'];

const UINT8_LEVELS = 255;

/**
 * What the converter records beside each quantization: the dtype a loader
 * gives the dequantized tensor (tfjs-core's manifest type leaves it out).
 */
const ORIGINAL = { original_dtype: 'float32' } as const;

/**
 * The affine uint8 grid of `values`: its range widened to hold 0, then its
 * lower end moved to a whole number of steps below 0, so an exact zero (the
 * padded taps of a folded kernel, an unused bias) stays exactly zero. The
 * move is at most half a step, so every value still rounds to within
 * `scale / 2` of itself. The same grid tensorflowjs_converter's
 * `--quantize_uint8` writes.
 */
function uint8Grid(values: Float32Array): { min: number; scale: number } {
  let lo = 0;
  let hi = 0;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === hi) return { min: 0, scale: 1 };
  const scale = (hi - lo) / UINT8_LEVELS;
  return { min: -Math.round(-lo / scale) * scale, scale };
}

function toUint8(values: Float32Array): { bytes: Uint8Array; min: number; scale: number } {
  const { min, scale } = uint8Grid(values);
  const bytes = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const q = Math.round(((values[i] as number) - min) / scale);
    bytes[i] = Math.min(Math.max(q, 0), UINT8_LEVELS);
  }
  return { bytes, min, scale };
}

/** float16 bit patterns, little-endian as TF.js reads them; or the index of the first value float16 cannot hold. */
function toFloat16(values: Float32Array): { bytes: Uint8Array } | { overflow: number } {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const bits = numberToF16Bits(values[i] as number);
    if ((bits & 0x7c00) === 0x7c00) return { overflow: i };
    view.setUint16(i * 2, bits, true);
  }
  return { bytes: out };
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * `specs` and their bytes `data` (in manifest order) with every float32
 * weight quantized as `dtype`; other weights (int32, already quantized) are
 * kept as they are. Refuses, naming the weight, a non-finite value (NaN has
 * no uint8 grid) and, for float16, a value beyond its range (|v| > 65504).
 */
export function quantizeWeights(
  specs: readonly tf.io.WeightsManifestEntry[],
  data: Uint8Array,
  dtype: WeightQuantization,
): { specs: tf.io.WeightsManifestEntry[]; data: Uint8Array } {
  if (!WEIGHT_QUANTIZATIONS.includes(dtype)) {
    throw new Error(
      `quantize: '${String(dtype).slice(0, 40)}' is not a weight quantization; expected one of ${WEIGHT_QUANTIZATIONS.join(', ')}`,
    );
  }
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    const bytes = entryBytes('weights manifest', spec);
    if (bytes === undefined) {
      throw new Error(`quantize: the weight '${spec.name}' is a string tensor, not a layer weight`);
    }
    const own = data.subarray(offset, offset + bytes);
    offset += bytes;
    if (own.byteLength !== bytes) {
      throw new Error(
        `quantize: the weight data ends inside the weight '${spec.name}' (${bytes} bytes listed, ${own.byteLength} left)`,
      );
    }
    if (spec.dtype !== 'float32' || spec.quantization !== undefined) {
      outSpecs.push(spec);
      parts.push(own);
      continue;
    }
    // A copy: the weight may start at an offset a Float32Array view cannot.
    const values = new Float32Array(own.slice().buffer);
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new Error(
        `quantize: the weight '${spec.name}' holds ${values[bad]} (value ${bad} of ${values.length}), which ${dtype} cannot store`,
      );
    }
    if (dtype === 'uint8') {
      const q = toUint8(values);
      const quantization = { dtype: 'uint8' as const, min: q.min, scale: q.scale, ...ORIGINAL };
      outSpecs.push({ ...spec, quantization });
      parts.push(q.bytes);
    } else {
      const q = toFloat16(values);
      if ('overflow' in q) {
        throw new Error(
          `quantize: the weight '${spec.name}' holds ${values[q.overflow]} (value ${q.overflow} of ${values.length}), beyond float16's largest value 65504: use uint8, or keep float32`,
        );
      }
      const quantization = { dtype: 'float16' as const, ...ORIGINAL };
      outSpecs.push({ ...spec, quantization });
      parts.push(q.bytes);
    }
  }
  if (offset !== data.byteLength) {
    throw new Error(
      `quantize: the weight data holds ${data.byteLength} bytes, but its manifest lists ${offset}`,
    );
  }
  return { specs: outSpecs, data: concat(parts) };
}
