/** A WebGPU adapter as RepNets reports it, in Node (Dawn) and in browsers. */

export interface AdapterReport {
  readonly description: string;
  /** A few words for the one-line reason: the device's own name, without driver versions. */
  readonly name: string;
  /** True for CPU implementations (lavapipe/llvmpipe, SwiftShader): slower than wasm for training. */
  readonly software: boolean;
}

export const NO_ADAPTER =
  'navigator.gpu has no adapter (no Vulkan/Metal/D3D12 driver; on Linux without a GPU install Mesa >= 25 lavapipe)';
/** NO_ADAPTER in a few words, for the one-line reason. */
export const NO_ADAPTER_BRIEF = 'no WebGPU adapter';
/** Why 'auto' passes over WebGPU on a CPU implementation, in a few words. */
export const SOFTWARE_ONLY_BRIEF = 'only a software WebGPU adapter';

/** What an adapter says about itself, in one line, and whether it is a CPU implementation. */
export function describeAdapter(adapter: {
  info?: Record<string, unknown>;
  isFallbackAdapter?: boolean;
}): AdapterReport {
  const info = adapter.info ?? {};
  const parts = ['vendor', 'architecture', 'device', 'description']
    .map((k) => String(info[k] ?? ''))
    .filter(Boolean);
  const description = parts.join(' / ') || 'unnamed adapter';
  const software =
    adapter.isFallbackAdapter === true ||
    info.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(description);
  return { description, name: shortName(info), software };
}

/**
 * The adapter's name without its driver and version strings: Dawn on lavapipe
 * says 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6)', a GPU 'NVIDIA H200'.
 */
function shortName(info: Record<string, unknown>): string {
  const first = ['description', 'device', 'vendor']
    .map((k) => String(info[k] ?? '').trim())
    .find(Boolean);
  if (!first) return 'unnamed adapter';
  const name = first.split(/[:(]/)[0]!.trim() || first;
  return name.length > 40 ? `${name.slice(0, 39)}…` : name;
}
