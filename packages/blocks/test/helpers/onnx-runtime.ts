import type * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';

export type InferenceSessionOptions = ort.InferenceSession.SessionOptions;

/**
 * Runs an ONNX model (its bytes or a file path) in onnxruntime-node on the
 * NHWC input `x` and returns its first output. One thread unless `options`
 * say otherwise: the test machine is small and shared.
 */
export async function runOnnx(
  source: Uint8Array | string,
  x: tf.Tensor,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const o = { intraOpNumThreads: 1, ...options };
  // Two calls, one per overload of create().
  const session =
    typeof source === 'string'
      ? await ort.InferenceSession.create(source, o)
      : await ort.InferenceSession.create(source, o);
  try {
    const input = new ort.Tensor('float32', (await x.data()) as Float32Array, x.shape);
    const out = await session.run({ [session.inputNames[0]!]: input });
    const y = out[session.outputNames[0]!]!;
    return { data: y.data as Float32Array, dims: y.dims };
  } finally {
    await session.release();
  }
}
