/**
 * Identity without a copy. TF.js's engine clones every tensor it saves for
 * the backward pass, and a clone is the Identity kernel; the stock wasm
 * Identity copies the data (a MobileOne-S0 step made 4983 such copies, about
 * 96 ms of its 1.5 s, measured). Here the output shares the input's buffer
 * and bumps its reference count, as the wasm Reshape kernel and the cpu
 * backend's Identity do. Safe because no wasm kernel writes into its inputs:
 * every one, ours included, writes a fresh output.
 */
import type * as tf from '@tensorflow/tfjs';
import type { KernelArgs } from './heap.js';

export function identityShared({ inputs, backend }: KernelArgs): tf.TensorInfo {
  const x = inputs.x!;
  (backend as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
