/**
 * The README's custom-device example ("Your own device behind the VFIO API") is this repository's
 * test/cli/readme-pci-example.ts with the package's entry points in its imports (so the type checker
 * checks it), and it runs: the config region shows the IDs, the BAR handler keeps the register, and
 * the doorbell signals the MSI-X trigger.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const EXAMPLE = readFileSync(new URL('./readme-pci-example.ts', import.meta.url), 'utf8');

describe('the README custom-device example', () => {
  it('is readme-pci-example.ts with the vidxd/* entry points', () => {
    const block = /```ts\n(import \{ MsixCapability, PcieCapability, PciFunctionBuilder \}[\s\S]*?)```/.exec(README)?.[1];
    expect(block).toBeDefined();
    const local = (block as string).replace(/from 'vidxd\/(\w+)'/g, "from '../../src/$1/index.js'");
    expect(local).toBe(EXAMPLE);
    expect(block).toContain("from 'vidxd/pci'");
    expect(block).toContain("from 'vidxd/vfio'");
  });

  it('runs: IDs from the config region, the scratch register through the BAR handler, one interrupt per doorbell', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await import('./readme-pci-example.js');
      expect(log.mock.calls).toEqual([['10f01af4'], ['cafe'], [1]]);
    } finally {
      log.mockRestore();
    }
  });
});
