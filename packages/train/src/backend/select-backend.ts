import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../engine/wasm/register.js';
import { ensureWebGPU, releaseWebGPU } from './webgpu-node.js';

export type BackendPreference = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface BackendAttempt {
  readonly name: Exclude<BackendPreference, 'auto'>;
  readonly ok: boolean;
  /** Why it was or was not chosen: the device, or the error that ruled it out. */
  readonly detail: string;
}

export interface BackendChoice {
  /** The TF.js backend now active. */
  readonly backend: string;
  readonly requested: BackendPreference;
  /** One line for logs: what runs and why. */
  readonly reason: string;
  /** Every backend tried, in order. */
  readonly tried: BackendAttempt[];
}

/**
 * Loads an optional TF.js package that may be absent or half-installed, without
 * letting bundlers or tsc resolve it. In Node it is required: '@tensorflow/tfjs'
 * resolves to its CommonJS build there, and a backend loaded as ESM would
 * register itself with a second copy of tfjs-core that TF.js never sees.
 */
async function optionalImport(name: string): Promise<unknown> {
  if (typeof process !== 'undefined' && process.versions?.node) {
    const { createRequire } = await import('node:module');
    return createRequire(import.meta.url)(name);
  }
  return import(/* @vite-ignore */ name);
}

type Probe = (auto: boolean) => Promise<string>;

const PROBES: Record<Exclude<BackendPreference, 'auto'>, Probe> = {
  async tensorflow() {
    // tfjs-node-gpu first (CUDA 11.2 + cuDNN 8.1), then tfjs-node. A failed optional
    // install leaves a package folder without its native binding: importing it throws.
    const errors: string[] = [];
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        await optionalImport(pkg);
        if (await tf.setBackend('tensorflow'))
          return `${pkg} (libtensorflow${pkg.endsWith('gpu') ? ', CUDA' : ', CPU'})`;
        errors.push(`${pkg}: setBackend('tensorflow') failed`);
      } catch (e) {
        errors.push(`${pkg}: ${firstLine(e)}`);
      }
    }
    throw new Error(errors.join('; '));
  },
  async webgpu(auto) {
    const adapter = await ensureWebGPU();
    if (auto && adapter.software) {
      throw new Error(
        `only a software adapter (${adapter.description}), slower than wasm; ask for 'webgpu' by name to use it`,
      );
    }
    try {
      await optionalImport('@tensorflow/tfjs-backend-webgpu');
    } catch (e) {
      throw new Error(`@tensorflow/tfjs-backend-webgpu: ${firstLine(e)}`);
    }
    if (!(await tf.setBackend('webgpu')))
      throw new Error(`setBackend('webgpu') failed on ${adapter.description}`);
    return `${adapter.description}${adapter.software ? ' (software)' : ''}; read tensors with await data(), not dataSync()`;
  },
  async wasm() {
    try {
      await optionalImport('@tensorflow/tfjs-backend-wasm');
    } catch (e) {
      throw new Error(`@tensorflow/tfjs-backend-wasm: ${firstLine(e)}`);
    }
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error("setBackend('wasm') failed");
    return 'XNNPACK, SIMD, 1 thread (TF.js wasm threads are disabled in Node); RepNets conv and depthwise gradient kernels';
  },
  async cpu() {
    await tf.setBackend('cpu');
    return 'plain JS reference backend (slow: use it to check results, not to train)';
  },
};

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

const AUTO_ORDER: Array<Exclude<BackendPreference, 'auto'>> = [
  'tensorflow',
  'webgpu',
  'wasm',
  'cpu',
];

/**
 * Picks and activates a TF.js backend for training. 'auto' tries tensorflow
 * (tfjs-node-gpu, then tfjs-node) > webgpu > wasm > cpu and takes the first that
 * works; a named backend is tried alone and its failure is an error that says
 * why. Either way the result lists every attempt with its reason.
 */
export async function selectBackend(
  preference: BackendPreference = 'auto',
): Promise<BackendChoice> {
  if (preference !== 'auto' && !(preference in PROBES)) {
    throw new Error(
      `selectBackend: unknown backend '${String(preference)}'; use auto, ${AUTO_ORDER.join(', ')}`,
    );
  }
  const order = preference === 'auto' ? AUTO_ORDER : [preference];
  const tried: BackendAttempt[] = [];
  for (const name of order) {
    try {
      const detail = await PROBES[name](preference === 'auto');
      await tf.ready();
      tried.push({ name, ok: true, detail });
      const fallbacks = tried.filter((t) => !t.ok).map((t) => `${t.name}: ${t.detail}`);
      const reason = `${name}: ${detail}${fallbacks.length ? ` (not available: ${fallbacks.join('; ')})` : ''}`;
      return { backend: tf.getBackend(), requested: preference, reason, tried };
    } catch (e) {
      tried.push({ name, ok: false, detail: firstLine(e) });
    }
  }
  const why = tried.map((t) => `${t.name}: ${t.detail}`).join('; ');
  throw new Error(`selectBackend('${preference}'): no backend could start (${why})`);
}

/**
 * Releases what {@link selectBackend} set up that would keep Node alive (the
 * WebGPU device) and returns to the cpu backend. Call it before exiting.
 */
export async function releaseBackend(): Promise<void> {
  if (tf.findBackend('webgpu')) {
    if (tf.getBackend() === 'webgpu') await tf.setBackend('cpu');
    tf.removeBackend('webgpu');
  }
  releaseWebGPU();
}
