import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PCI = fileURLToPath(new URL('../../src/pci', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

describe('src/pci layering', () => {
  it('imports nothing outside src/pci and no package at all', () => {
    const files = sources(PCI);
    expect(files.length).toBeGreaterThan(10);
    const bad: string[] = [];
    for (const file of files) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1] as string;
        const target = resolve(join(file, '..'), spec);
        if (!spec.startsWith('.') || relative(PCI, target).startsWith('..') || !spec.endsWith('.js')) {
          bad.push(`${relative(PCI, file)}: ${spec}`);
        }
      }
    }
    expect(bad).toEqual([]);
  });
});
