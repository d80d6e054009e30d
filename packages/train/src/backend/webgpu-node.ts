/**
 * WebGPU for TF.js in Node: the `webgpu` package (Dawn, prebuilt in its
 * tarball) provides `navigator.gpu`. On a machine without a GPU, Dawn runs on
 * Mesa's lavapipe Vulkan driver (Mesa >= 25), a software adapter.
 */
import { type AdapterReport, describeAdapter, NO_ADAPTER, NO_ADAPTER_BRIEF } from './adapter.js';
import { Unavailable } from './choice.js';

export type { AdapterReport } from './adapter.js';

interface GpuLike {
  requestAdapter(): Promise<{ info?: Record<string, unknown>; isFallbackAdapter?: boolean } | null>;
}

const g = globalThis as { navigator?: { gpu?: GpuLike } };
let installedByUs = false;

async function optionalImport(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

/**
 * Makes `navigator.gpu` available (installing Dawn's in Node when needed) and
 * describes the adapter; throws with the reason when there is none.
 */
export async function ensureWebGPU(): Promise<AdapterReport> {
  if (!g.navigator?.gpu) {
    let mod: { create: (flags: string[]) => GpuLike; globals: object };
    try {
      mod = (await optionalImport('webgpu')) as typeof mod;
    } catch (e) {
      throw new Unavailable(
        "'webgpu' package did not load",
        `no navigator.gpu, and the 'webgpu' package could not load: ${String((e as Error).message).split('\n')[0]}`,
      );
    }
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create([]);
    if (g.navigator) Object.assign(g.navigator, { gpu });
    else (globalThis as { navigator?: unknown }).navigator = { gpu };
    installedByUs = true;
  }
  const adapter = await g.navigator!.gpu!.requestAdapter();
  if (!adapter) throw new Unavailable(NO_ADAPTER_BRIEF, NO_ADAPTER);
  return describeAdapter(adapter);
}

/**
 * Lets Node exit after WebGPU work: Dawn keeps the event loop alive while
 * `navigator.gpu` we installed is reachable.
 */
export function releaseWebGPU(): void {
  if (installedByUs && g.navigator) {
    delete g.navigator.gpu;
    installedByUs = false;
  }
}
