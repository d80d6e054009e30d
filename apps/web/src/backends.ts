/**
 * Which TF.js backends this browser can run, and switching between them. Each
 * is probed by actually starting it, and every unavailable one keeps the reason
 * it failed, so the page never claims a backend it is not running on.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
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

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/** WebGPU's own answer, asked directly: tfjs turns a missing adapter into a bare `false`. */
async function webgpuAdapter(): Promise<string> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) throw new Error('navigator.gpu is missing (WebGPU is disabled in this browser)');
  const adapter = (await gpu.requestAdapter()) as { info?: AdapterInfoLike } | null;
  if (!adapter) throw new Error('navigator.gpu.requestAdapter() returned no adapter');
  const info = adapter.info ?? {};
  const name =
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') ||
    'unnamed adapter';
  return info.isFallbackAdapter ? `${name} (software fallback adapter)` : name;
}

function webglRenderer(): string {
  const gl = document.createElement('canvas').getContext('webgl2');
  if (!gl) return 'WebGL 2';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = ext
    ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)
    : gl.getParameter(gl.RENDERER);
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return `WebGL ${tf.env().getNumber('WEBGL_VERSION')}: ${renderer}`;
}

function wasmBuild(): string {
  const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? getThreadsCount() : 1;
  return `XNNPACK${simd ? ', SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'}`;
}

const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0]!;

async function start(name: BackendName): Promise<string> {
  const adapter = name === 'webgpu' ? await webgpuAdapter() : '';
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new Error(firstLine(e));
  }
  if (!ok) throw new Error(`tf.setBackend('${name}') failed (see the console)`);
  await tf.ready();
  switch (name) {
    case 'webgpu':
      return adapter;
    case 'webgl':
      return webglRenderer();
    case 'wasm':
      return wasmBuild();
    case 'cpu':
      return 'plain JavaScript';
  }
}

/**
 * Starts every backend once, fastest first, and leaves the first one that
 * works active. A backend that fails to start is removed from the registry so
 * that tfjs never falls back to it on its own.
 */
export async function probeBackends(): Promise<BackendStatus[]> {
  const statuses: BackendStatus[] = [];
  for (const name of BACKENDS) {
    try {
      statuses.push({ name, available: true, detail: await start(name) });
    } catch (e) {
      statuses.push({ name, available: false, detail: firstLine(e) });
      if (tf.findBackendFactory(name)) tf.removeBackend(name);
    }
  }
  const best = statuses.find((s) => s.available);
  if (!best) throw new Error('no TF.js backend could start in this browser');
  await useBackend(best.name);
  return statuses;
}

/** Makes `name` the active backend and returns what tfjs reports as active (the honest answer). */
export async function useBackend(name: BackendName): Promise<string> {
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
  return tf.getBackend();
}
