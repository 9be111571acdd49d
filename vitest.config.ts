import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real servers on their own ports; files may run in parallel.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
