/**
 * Which TF.js backends this browser can run, and switching between them. Each
 * is probed by actually starting it, and every unavailable one keeps the reason
 * it failed, so the page never claims a backend it is not running on.
 */
import { probeBackends as probeAll } from '@repnets/train/browser';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

// Vite copies the three binaries into the build (hashed names); the backend
// picks one at start-up from what the browser supports (threads need the page
// to be cross-origin isolated, which the dev and preview servers arrange).
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendStatus {
  readonly name: BackendName;
  readonly available: boolean;
  /** The device or build that runs it, or why it cannot run. */
  readonly detail: string;
}

/**
 * Starts every backend once, fastest first, and leaves the first one that
 * works active (@repnets/train's browser probing: a backend that fails to
 * start is removed from the registry so that tfjs never falls back to it).
 */
export async function probeBackends(): Promise<BackendStatus[]> {
  const attempts = await probeAll(BACKENDS);
  return attempts.map((a) => ({
    name: a.name as BackendName,
    available: a.ok,
    detail: a.detail,
  }));
}

/** Makes `name` the active backend and returns what tfjs reports as active (the honest answer). */
export async function useBackend(name: BackendName): Promise<string> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
  return tf.getBackend();
}
