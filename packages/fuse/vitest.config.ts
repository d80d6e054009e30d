import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The README snippets import the package by name; test them against src.
    // The subpath comes first: aliases match by prefix, in order.
    alias: {
      '@repnets/fuse/image': fileURLToPath(new URL('./src/image/index.ts', import.meta.url)),
      '@repnets/fuse': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
