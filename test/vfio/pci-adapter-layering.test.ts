import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const VFIO = join(SRC, 'vfio');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Every import leaving src/vfio, as `file: layer/path`. */
function outsideImports(): string[] {
  const out: string[] = [];
  for (const file of sources(VFIO)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] as string;
      const target = spec.startsWith('.') ? relative(SRC, resolve(join(file, '..'), spec)) : `package ${spec}`;
      if (!target.startsWith('vfio/')) out.push(`${relative(VFIO, file)}: ${target}`);
    }
  }
  return out.sort();
}

describe('src/vfio layering around the PCI adapter', () => {
  it('reaches into src/pci only from the PCI adapter files, through its entry point', () => {
    const pci = outsideImports().filter((l) => l.includes(': pci/'));
    expect(pci.length).toBeGreaterThan(0);
    for (const line of pci) expect(line).toMatch(/^pci-[a-z-]+\.ts: pci\/index\.js$/);
  });

  it('imports nothing of dsa, host, vidxd, mdev or memory, and no package', () => {
    expect(outsideImports().filter((l) => !l.includes(': pci/'))).toEqual([]);
  });
});
