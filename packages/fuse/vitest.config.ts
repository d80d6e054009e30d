import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // The README snippets import the package by name; test them against src.
    alias: [
      { find: /^@repnets\/fuse\/image$/, replacement: src('./src/image/index.ts') },
      { find: /^@repnets\/fuse\/hub$/, replacement: src('./src/hub/index.ts') },
      { find: /^@repnets\/fuse$/, replacement: src('./src/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
  },
});
