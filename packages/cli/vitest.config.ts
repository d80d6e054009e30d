import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The tests run the CLI in child processes, some of which train.
    testTimeout: 60_000,
  },
});
