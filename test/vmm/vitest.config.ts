/**
 * The real-VMM check (`npm run test:vmm`), kept out of `npm test`: QEMU with a Linux guest drives
 * `vidxd serve`. Its files end in `.vmm.ts`, which the default `npm test` run never collects. Boots
 * run one file at a time (each file boots its VMs in order; the two-VM file boots two at once).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/vmm/**/*.vmm.ts'],
    globalSetup: ['test/vmm/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: 'forks',
  },
});
