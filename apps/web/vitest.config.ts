import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The browser test builds the site and times every backend in Chromium.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
