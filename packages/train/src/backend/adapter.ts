/** A WebGPU adapter as RepNets reports it, in Node (Dawn) and in browsers. */

export interface AdapterReport {
  readonly description: string;
  /** True for CPU implementations (lavapipe/llvmpipe, SwiftShader): slower than wasm for training. */
  readonly software: boolean;
}

export const NO_ADAPTER =
  'navigator.gpu has no adapter (no Vulkan/Metal/D3D12 driver; on Linux without a GPU install Mesa >= 25 lavapipe)';
/** NO_ADAPTER in a few words, for the one-line reason. */
export const NO_ADAPTER_BRIEF = 'no WebGPU adapter';

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
  return { description, software };
}
