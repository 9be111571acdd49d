import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Long fault-injection runs, kept out of `npm test` while they still report open findings
// (see the cluster issue's notes). Run with `npm run test:faults`.
export default defineConfig({ test: { ...base.test, include: ['test/**/*.fault.ts'], testTimeout: 600_000 } });
