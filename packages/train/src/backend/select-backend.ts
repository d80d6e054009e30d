/**
 * Backend selection in Node: libtensorflow through tfjs-node when it is
 * installed, WebGPU through Dawn (the `webgpu` package), wasm with the RepNets
 * training kernels, the plain-JS cpu backend last.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from '../engine/wasm/register.js';
import { SOFTWARE_ONLY_BRIEF } from './adapter.js';
import {
  type BackendChoice,
  type BackendName,
  type BackendPreference,
  firstLine,
  type Probe,
  selectWith,
  Unavailable,
} from './choice.js';
import { cpuChosenByName, warnIfCpu } from './slow-cpu.js';
import { ensureWebGPU, releaseWebGPU } from './webgpu-node.js';
import { probeWebGPUQuietly } from './webgpu-quiet-probe.js';

/**
 * Loads a TF.js package that may be absent or half-installed. Required, not
 * imported: '@tensorflow/tfjs' resolves to its CommonJS build in Node, and a
 * backend loaded as ESM would register itself with a second copy of
 * tfjs-core that TF.js never sees.
 */
const optionalRequire = (name: string): unknown => createRequire(import.meta.url)(name);

/** Whether `e` says that `pkg` itself is not installed (not that something it needs is missing). */
const notInstalled = (e: unknown, pkg: string) =>
  (e as { code?: string })?.code === 'MODULE_NOT_FOUND' &&
  firstLine(e).startsWith(`Cannot find module '${pkg}'`);

/** A package name without its scope, as the short reason says it. */
const short = (pkg: string) => pkg.replace('@tensorflow/', '');

/** Requires backend package `pkg`, or throws why not: absent, or there but failing to load. */
function requireBackend(pkg: string): void {
  try {
    optionalRequire(pkg);
  } catch (e) {
    throw new Unavailable(
      `${short(pkg)} ${notInstalled(e, pkg) ? 'not installed' : 'failed to load'}`,
      `${pkg}: ${firstLine(e)}`,
    );
  }
}

/** tfjs-node's failure in a few words: which packages are absent, which are there but would not load. */
export function tensorflowBrief(outcomes: readonly { pkg: string; installed: boolean }[]): string {
  const broken = outcomes.filter((o) => o.installed).map((o) => short(o.pkg));
  if (broken.length === 0) return 'tfjs-node not installed';
  return `${broken.join(' and ')} installed but failed to load`;
}

const PROBES: Record<BackendName, Probe> = {
  async tensorflow() {
    // tfjs-node-gpu first (CUDA 11.2 + cuDNN 8.1), then tfjs-node. A failed optional
    // install leaves a package folder without its native binding: requiring it throws.
    const errors: string[] = [];
    const outcomes: { pkg: string; installed: boolean }[] = [];
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      try {
        optionalRequire(pkg);
        if (await tf.setBackend('tensorflow')) {
          const device = pkg.endsWith('gpu') ? 'CUDA' : 'CPU';
          return {
            detail: `${pkg} (libtensorflow, ${device})`,
            brief: `${short(pkg)}, ${device}`,
          };
        }
        errors.push(`${pkg}: setBackend('tensorflow') failed`);
        outcomes.push({ pkg, installed: true });
      } catch (e) {
        errors.push(`${pkg}: ${firstLine(e)}`);
        outcomes.push({ pkg, installed: !notInstalled(e, pkg) });
      }
    }
    throw new Unavailable(tensorflowBrief(outcomes), errors.join('; '));
  },
  async webgpu(auto) {
    // Asked by name, Dawn starts here and may speak; under 'auto' it is asked in
    // a child first, so a machine without a GPU prints nothing.
    if (auto && !(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
      const adapter = await probeWebGPUQuietly();
      if (adapter.software) throw softwareOnly(adapter.description);
    }
    const adapter = await ensureWebGPU();
    if (auto && adapter.software) throw softwareOnly(adapter.description);
    requireBackend('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu')))
      throw new Error(`setBackend('webgpu') failed on ${adapter.description}`);
    const software = adapter.software ? ' (software)' : '';
    return {
      detail: `${adapter.description}${software}; read tensors with await data(), not dataSync()`,
      brief: `${adapter.name}${software}`,
    };
  },
  async webgl() {
    throw new Unavailable(
      'WebGL needs a browser',
      'WebGL is a browser API; in Node use webgpu, wasm or tensorflow',
    );
  },
  async wasm() {
    requireBackend('@tensorflow/tfjs-backend-wasm');
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error("setBackend('wasm') failed");
    return {
      detail:
        'XNNPACK, SIMD, 1 thread (TF.js wasm threads are disabled in Node); RepNets conv and depthwise gradient kernels',
      brief: 'XNNPACK, SIMD, 1 thread',
    };
  },
  async cpu(auto) {
    if (!auto) cpuChosenByName();
    await tf.setBackend('cpu');
    return {
      detail: 'plain JS reference backend (slow: use it to check results, not to train)',
      brief: 'plain JS, slow',
    };
  },
};

function softwareOnly(description: string): Error {
  return new Unavailable(
    SOFTWARE_ONLY_BRIEF,
    `only a software adapter (${description}), slower than wasm; ask for 'webgpu' by name to use it`,
  );
}

const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

/**
 * Picks and activates a TF.js backend for training. 'auto' tries tensorflow
 * (tfjs-node-gpu, then tfjs-node) > webgpu > wasm > cpu and takes the first that
 * works; a named backend is tried alone and its failure is an error that says
 * why. Either way the result lists every attempt with its reason. 'auto'
 * ending on cpu warns once on stderr, naming why wasm could not start.
 */
export async function selectBackend(
  preference: BackendPreference = 'auto',
): Promise<BackendChoice> {
  const choice = await selectWith(preference, AUTO_ORDER, PROBES);
  if (preference === 'auto') warnIfCpu(choice);
  return choice;
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
