import { FuseError } from '../errors.js';
import { type SafetensorsDType, shapeSize } from '../io/safetensors.js';

/**
 * One tensor of a flat PyTorch-style state dict. Conv weights are OIHW
 * `[out, in/groups, kh, kw]` as PyTorch stores them; BatchNorm vectors are
 * `[channels]`. Tensors a fold reads must be Float32Array; integer tensors
 * (BatchNorm's `num_batches_tracked`, I64 in PyTorch) may be Float64Array, as
 * `readSafetensors` returns them. A `SafeTensor` is a `StateTensor`.
 */
export interface StateTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
  /** The stored dtype, when known (`F32`, `F16`, `I64`, ...); kept on pass-through. */
  readonly dtype?: SafetensorsDType;
}

/** A flat state dict: key -> tensor, in the order the source framework wrote it. */
export type StateDict = ReadonlyMap<string, StateTensor>;

/** A state dict from a Map or a plain object, with every tensor's shape checked against its data. */
export function toStateDict(
  op: string,
  input: StateDict | Readonly<Record<string, StateTensor>>,
): StateDict {
  if (input === null || typeof input !== 'object') {
    throw new FuseError(op, 'stateDict', 'must be a Map or an object of { shape, data } tensors');
  }
  const map: StateDict = input instanceof Map ? input : new Map(Object.entries(input));
  for (const [key, t] of map) {
    if (t === null || typeof t !== 'object' || !Array.isArray(t.shape)) {
      throw new FuseError(op, key, 'must be a tensor { shape, data }');
    }
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FuseError(
        op,
        key,
        `has shape ${JSON.stringify(t.shape)}, expected non-negative integers`,
      );
    }
    if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
      throw new FuseError(
        op,
        key,
        'must hold a Float32Array (or Float64Array for integer tensors)',
        {
          [key]: t.shape,
        },
      );
    }
    if (t.data.length !== shapeSize(t.shape)) {
      throw new FuseError(
        op,
        key,
        `has ${t.data.length} elements, but its shape [${t.shape.join(', ')}] needs ${shapeSize(t.shape)}`,
        { [key]: t.shape },
      );
    }
  }
  return map;
}
