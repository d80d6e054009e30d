import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The end-to-end test trains, folds and times a real (tiny) run.
    testTimeout: 300_000,
  },
});
