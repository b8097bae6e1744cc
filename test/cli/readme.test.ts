/**
 * The README's VMM example is this repository's test/cli/readme-example.ts with the package's entry
 * points in its imports (so the type checker checks it), and it runs: the vdev copies 4 KiB.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const EXAMPLE = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');

describe('the README example', () => {
  it('is readme-example.ts with the vidxd/* entry points', () => {
    const block = /```ts\n(import \{ DsaDevice[\s\S]*?)```/.exec(README)?.[1];
    expect(block).toBeDefined();
    const local = (block as string).replace(/from 'vidxd\/(\w+)'/g, "from '../../src/$1/index.js'");
    expect(local).toBe(EXAMPLE);
    for (const entry of ['dsa', 'host', 'vidxd', 'vfio', 'mdev', 'memory', 'guest']) expect(block).toContain(`from 'vidxd/${entry}'`);
  });

  it('runs: the memmove completes and the destination holds the data', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await import('./readme-example.js');
      expect(log).toHaveBeenCalledWith(1, 0xab);
    } finally {
      log.mockRestore();
    }
  });

  it('every entry point it names is exported by package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown> };
    for (const entry of ['dsa', 'host', 'vidxd', 'vfio', 'mdev', 'memory', 'guest']) expect(pkg.exports[`./${entry}`]).toBeDefined();
  });
});
