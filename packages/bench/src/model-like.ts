import * as tf from '@tensorflow/tfjs';

/**
 * What the latency and equivalence helpers need of a model: a tf.LayersModel,
 * or anything with the same `apply` (a wrapper, a test double).
 */
export interface InferenceModel {
  apply(
    inputs: tf.Tensor | tf.Tensor[],
    kwargs?: Record<string, unknown>,
  ): tf.Tensor | tf.Tensor[] | tf.SymbolicTensor | tf.SymbolicTensor[];
  /** Read for the default input shape when none is given. */
  readonly inputs?: readonly { readonly shape: readonly (number | null)[] }[];
  readonly name?: string;
}

/** Runs the model in inference mode (BN on running statistics) and returns its output tensors, at least one. */
export function infer(
  model: InferenceModel,
  x: tf.Tensor,
  caller: string,
): [tf.Tensor, ...tf.Tensor[]] {
  if (typeof model?.apply !== 'function') {
    throw new Error(`${caller}: model must be a tf.LayersModel (or have apply()), got ${model}`);
  }
  const y = tf.tidy(() => model.apply(x, { training: false }) as tf.Tensor | tf.Tensor[]);
  const [first, ...rest] = Array.isArray(y) ? y : [y];
  if (!(first instanceof tf.Tensor) || !rest.every((t) => t instanceof tf.Tensor)) {
    tf.dispose([first, ...rest].filter((t) => t instanceof tf.Tensor));
    throw new Error(
      `${caller}: model '${model.name ?? '?'}' did not return tensors from apply(x, {training: false})`,
    );
  }
  return [first, ...rest];
}

/** The per-image input shape: `given`, or the model's declared input without the batch axis. */
export function perImageShape(
  model: InferenceModel,
  given: readonly number[] | undefined,
  caller: string,
): number[] {
  if (given !== undefined) {
    if (
      !Array.isArray(given) ||
      given.length === 0 ||
      !given.every((d) => Number.isInteger(d) && d > 0)
    ) {
      throw new Error(
        `${caller}: inputShape must be positive integers per image (no batch axis), e.g. [28, 28, 1]; got ${JSON.stringify(given)}`,
      );
    }
    return [...given];
  }
  const declared = model.inputs?.[0]?.shape;
  if (!declared) {
    throw new Error(
      `${caller}: model '${model.name ?? '?'}' declares no input shape; pass inputShape`,
    );
  }
  const perImage = declared.slice(1);
  if (perImage.some((d) => d === null)) {
    throw new Error(
      `${caller}: model '${model.name ?? '?'}' input [${declared.map((d) => d ?? 'null').join(', ')}] has unknown dimensions; pass inputShape`,
    );
  }
  return perImage as number[];
}

export function positiveInt(caller: string, name: string, v: unknown, min = 1): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new Error(`${caller}: ${name} must be an integer >= ${min}, got ${String(v)}`);
  }
  return v;
}
