import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Long fault-injection runs: the Jepsen-style cluster test (also in `npm test`, with a shorter
// fault phase) runs here for FLOE_JEPSEN_SECONDS (default 300), plus any *.fault.ts.
// Run with `npm run test:faults`.
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/cluster/jepsen.test.ts', 'test/**/*.fault.ts'],
    testTimeout: 900_000,
    env: { FLOE_JEPSEN_SECONDS: process.env.FLOE_JEPSEN_SECONDS ?? '300' },
  },
});
