/**
 * Backend selection in a browser: WebGPU when the page imported
 * '@tensorflow/tfjs-backend-webgpu' and the browser has an adapter, WebGL,
 * wasm with the RepNets training kernels, the plain-JS cpu backend last. Each
 * is started for real, so a choice never names a backend that cannot run.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../engine/wasm/register.js';
import { describeAdapter, NO_ADAPTER_BRIEF, SOFTWARE_ONLY_BRIEF } from './adapter.js';
import {
  type BackendAttempt,
  type BackendChoice,
  type BackendName,
  type BackendPreference,
  failed,
  firstLine,
  type Probe,
  selectWith,
  Unavailable,
} from './choice.js';
import { cpuChosenByName, warnIfCpu } from './slow-cpu.js';

interface GpuLike {
  requestAdapter(): Promise<{ info?: Record<string, unknown>; isFallbackAdapter?: boolean } | null>;
}

interface GlLike {
  readonly RENDERER: number;
  getParameter(name: number): unknown;
  getExtension(name: string): { UNMASKED_RENDERER_WEBGL?: number; loseContext?(): void } | null;
}

/** The GPU behind WebGL, as the browser names it ('' where it will not say). */
function webglRenderer(): string {
  const doc = (globalThis as { document?: { createElement(tag: 'canvas'): unknown } }).document;
  const canvas = doc?.createElement('canvas') as { getContext(kind: 'webgl2'): GlLike | null };
  const gl = canvas?.getContext('webgl2');
  if (!gl) return '';
  const debug = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = gl.getParameter(debug?.UNMASKED_RENDERER_WEBGL ?? gl.RENDERER);
  gl.getExtension('WEBGL_lose_context')?.loseContext?.();
  return String(renderer ?? '');
}

/** setBackend, with tfjs's bare `false` (or throw) turned into a reason. */
async function start(name: string, context = ''): Promise<void> {
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (e) {
    throw new Error(firstLine(e));
  }
  if (!ok) throw new Error(`tf.setBackend('${name}') failed${context} (see the console)`);
  await tf.ready();
}

const PROBES: Record<BackendName, Probe> = {
  async tensorflow() {
    throw new Unavailable('tfjs-node is Node-only', 'tfjs-node is Node-only');
  },
  async webgpu(auto) {
    if (!tf.findBackendFactory('webgpu')) {
      throw new Unavailable(
        'tfjs-backend-webgpu not imported',
        "not registered: import '@tensorflow/tfjs-backend-webgpu' in the page",
      );
    }
    const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
    if (!gpu) {
      throw new Unavailable(
        'WebGPU off in this browser',
        'navigator.gpu is missing (WebGPU is off in this browser)',
      );
    }
    const adapter = await gpu.requestAdapter();
    if (!adapter)
      throw new Unavailable(NO_ADAPTER_BRIEF, 'navigator.gpu.requestAdapter() returned no adapter');
    const { description, name, software } = describeAdapter(adapter);
    if (auto && software) {
      throw new Unavailable(
        SOFTWARE_ONLY_BRIEF,
        `only a software adapter (${description}); ask for 'webgpu' by name to use it`,
      );
    }
    await start('webgpu', ` on ${description}`);
    const kind = software ? ' (software)' : '';
    return { detail: `${description}${kind}`, brief: `${name}${kind}` };
  },
  async webgl() {
    await start('webgl');
    const renderer = webglRenderer();
    const version = `WebGL ${tf.env().getNumber('WEBGL_VERSION')}`;
    return { detail: `${version}${renderer ? `: ${renderer}` : ''}`, brief: version };
  },
  async wasm() {
    registerWasmTrainingKernels();
    await start(
      'wasm',
      " (a bundled page must call setWasmPaths() of '@tensorflow/tfjs-backend-wasm')",
    );
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? getThreadsCount() : 1;
    const build = `XNNPACK${simd ? ', SIMD' : ''}, ${threads} thread${threads === 1 ? '' : 's'}`;
    return { detail: `${build}; RepNets training kernels`, brief: build };
  },
  async cpu(auto) {
    if (!auto) cpuChosenByName();
    await start('cpu');
    return {
      detail: 'plain JS reference backend (slow: use it to check results, not to train)',
      brief: 'plain JS, slow',
    };
  },
};

/** The browser's order, fastest first. */
export const BROWSER_BACKENDS: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/**
 * Picks and activates a TF.js backend in a page. 'auto' tries webgpu > webgl
 * > wasm > cpu and takes the first that starts; a named backend is tried alone
 * and its failure is an error that says why.
 */
export async function selectBackend(
  preference: BackendPreference = 'auto',
): Promise<BackendChoice> {
  const choice = await selectWith(preference, BROWSER_BACKENDS, PROBES);
  if (preference === 'auto') warnIfCpu(choice);
  return choice;
}

/**
 * Starts every backend of `names` once and reports each (the device or build,
 * or why it cannot run), for a page that lets its user pick. A backend that
 * fails is removed from TF.js's registry so TF.js never falls back to it on
 * its own; the first that works is left active.
 */
export async function probeBackends(
  names: readonly BackendName[] = BROWSER_BACKENDS,
): Promise<BackendAttempt[]> {
  const attempts: BackendAttempt[] = [];
  for (const name of names) {
    try {
      attempts.push({ name, ok: true, ...(await PROBES[name](false)) });
    } catch (e) {
      attempts.push(failed(name, e));
      if (tf.findBackendFactory(name)) tf.removeBackend(name);
    }
  }
  const best = attempts.find((a) => a.ok);
  if (!best)
    throw new Error(
      `probeBackends: no TF.js backend could start (${attempts.map((a) => `${a.name}: ${a.detail}`).join('; ')})`,
    );
  await start(best.name);
  return attempts;
}

/** Nothing to release in a page; here so both entries have the same API. */
export async function releaseBackend(): Promise<void> {}
