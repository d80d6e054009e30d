import type * as tf from '@tensorflow/tfjs';

/** The part of the wasm backend these kernels use (its class is not exported as a type we can import cheaply). */
export interface WasmBackendLike {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

export type KernelArgs = {
  inputs: Record<string, tf.TensorInfo>;
  backend: unknown;
  attrs?: Record<string, unknown>;
};

/** The same data seen with another shape (what the wasm Reshape kernel does), for kernels we call directly. */
export function view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** Calls another registered wasm kernel directly, bypassing the engine (no tape, no extra bookkeeping). */
export function callKernel(
  tfl: typeof tf,
  name: string,
  backend: unknown,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown> = {},
): tf.TensorInfo {
  const k = tfl.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm training kernels: the wasm backend has no '${name}' kernel`);
  return k.kernelFunc({ inputs, backend, attrs } as never) as tf.TensorInfo;
}
