/** Vitest configuration of `npm test`: the repository root, every *.test.ts but the real-VMM check, and the global setup. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    exclude: ['test/vmm/**', '**/node_modules/**'],
    globalSetup: ['test/util/global-setup.ts'],
    // A guard against hangs, not a speed requirement: timing belongs in `npm run bench`. Generous, so a
    // loaded 2-core machine running seeded 100,000-step property tests does not fail them.
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
