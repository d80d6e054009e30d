import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { onnxModels } from './build/onnx-models';

// Cross-origin isolation lets the wasm backend use threads (SharedArrayBuffer).
// Hosts that cannot send these headers still work: tfjs then picks the
// single-threaded SIMD binary, and the page says so.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  // Relative URLs, so dist/ works from any folder of any static host.
  base: './',
  plugins: [onnxModels(fileURLToPath(new URL('public/models', import.meta.url)))],
  resolve: {
    // One tfjs for the page and @repnets/blocks: layers and backends register
    // into the copy they import, and a second copy would never see them.
    dedupe: ['@tensorflow/tfjs'],
  },
  // Only the page itself: the dependency scan would otherwise also crawl built
  // copies of it (test-output/site/index.html) and the bundles they load.
  optimizeDeps: { entries: ['index.html'] },
  server: { headers: isolation },
  preview: { headers: isolation },
  build: {
    target: 'es2022',
    // tfjs with three backends is one ~1.5 MB chunk by nature; splitting it buys nothing here.
    chunkSizeWarningLimit: 4096,
  },
});
