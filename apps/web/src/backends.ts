/**
 * Which TF.js backends this browser can run, and switching between them. Each
 * is probed by actually starting it, and every unavailable one keeps the reason
 * it failed, so the page never claims a backend it is not running on.
 */
import { probeBackends as probeAll } from '@repnets/train/browser';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
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

/**
 * XNNPACK's thread pool size, the calling thread included: every core (or
 * `?threads=N`), capped at the 8 workers the threaded build pre-spawns. Only
 * the threaded SIMD build (cross-origin-isolated pages) uses it; the others
 * run one thread.
 */
const asked = Number(new URLSearchParams(location.search).get('threads'));
export const WASM_THREADS = Math.max(
  1,
  Math.min(8, Number.isInteger(asked) && asked > 0 ? asked : navigator.hardwareConcurrency || 1),
);
setThreadsCount(WASM_THREADS);

/**
 * tfjs 4.22's wasm runtime caps the pool at navigator.hardwareConcurrency / 2
 * (its C++ assumes two hyperthreads per core and reads the count once, as the
 * module starts), whatever setThreadsCount() asks for: on a 2-core machine one
 * thread, although the threaded build, its 8 workers and SharedArrayBuffer are
 * all there. So while the wasm module starts, the page reports twice the
 * threads it wants, then puts the browser's own figure back.
 */
async function withWasmCoreCount<T>(start: () => Promise<T>): Promise<T> {
  const own = Object.getOwnPropertyDescriptor(navigator, 'hardwareConcurrency');
  Object.defineProperty(navigator, 'hardwareConcurrency', {
    configurable: true,
    get: () => 2 * WASM_THREADS,
  });
  try {
    return await start();
  } finally {
    if (own) Object.defineProperty(navigator, 'hardwareConcurrency', own);
    else Reflect.deleteProperty(navigator, 'hardwareConcurrency');
  }
}

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendStatus {
  readonly name: BackendName;
  readonly available: boolean;
  /** The device or build that runs it, or why it cannot run. */
  readonly detail: string;
  /** wasm only: XNNPACK's thread count as the started runtime reports it (`getThreadsCount()`). */
  readonly threads?: number;
}

/** The wasm runtime's own thread count, or undefined before (or without) a started wasm backend. */
export function wasmThreads(): number | undefined {
  try {
    return getThreadsCount();
  } catch {
    return undefined;
  }
}

/** Whether the page may share memory with workers (COOP/COEP served), which threads need. */
export const isolated = (): boolean => globalThis.crossOriginIsolated === true;

/**
 * The wasm row's detail with the thread count the runtime reports (not
 * inferred from a flag) and why it is one where the page is not isolated.
 */
function wasmDetail(detail: string, threads: number): string {
  const count = `${threads} thread${threads === 1 ? '' : 's'}`;
  const why = isolated() ? '' : ' (page not cross-origin isolated: no SharedArrayBuffer)';
  return detail.replace(/\d+ threads?/, `${count}${why}`);
}

/**
 * Starts every backend once, fastest first, and leaves the first one that
 * works active (@repnets/train's browser probing: a backend that fails to
 * start is removed from the registry so that tfjs never falls back to it).
 */
export async function probeBackends(): Promise<BackendStatus[]> {
  // The probe starts wasm (every backend is started once), so the module starts in here.
  const attempts = await withWasmCoreCount(() => probeAll(BACKENDS));
  const threads = wasmThreads();
  return attempts.map((a) => {
    const wasm = a.name === 'wasm' && a.ok && threads !== undefined;
    return {
      name: a.name as BackendName,
      available: a.ok,
      detail: wasm ? wasmDetail(a.detail, threads) : a.detail,
      ...(wasm ? { threads } : {}),
    };
  });
}

/** Makes `name` the active backend and returns what tfjs reports as active (the honest answer). */
export async function useBackend(name: BackendName): Promise<string> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
  return tf.getBackend();
}
