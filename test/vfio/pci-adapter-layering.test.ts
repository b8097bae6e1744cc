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

/** Names imported from src/memory as values (not `import type` / `type X`), as `file: name`. */
function memoryValueImports(): string[] {
  const out: string[] = [];
  for (const file of sources(VFIO)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^import(\s+type)?\s*\{([^}]*)\}\s*from\s+['"]([^'"]+)['"]/gm)) {
      if (m[1] !== undefined || !relative(SRC, resolve(join(file, '..'), m[3] as string)).startsWith('memory/')) continue;
      for (const name of (m[2] as string).split(',').map((n) => n.trim())) {
        if (name !== '' && !name.startsWith('type ')) out.push(`${relative(VFIO, file)}: ${name}`);
      }
    }
  }
  return out.sort();
}

describe('src/vfio layering', () => {
  it('reaches into src/pci only from the PCI adapter files, through its entry point', () => {
    const pci = outsideImports().filter((l) => l.includes(': pci/'));
    expect(pci.length).toBeGreaterThan(0);
    for (const line of pci) expect(line).toMatch(/^pci-[a-z-]+\.ts: pci\/index\.js$/);
  });

  it('reaches into src/memory only through its entry point', () => {
    const memory = outsideImports().filter((l) => l.includes(': memory/'));
    expect(memory.length).toBeGreaterThan(0);
    for (const line of memory) expect(line).toMatch(/: memory\/index\.js$/);
  });

  it('takes from src/memory only types, the mapping machinery of the IOAS and the dirty log of DMA logging as values', () => {
    expect(memoryValueImports()).toEqual(['dma-logging.ts: DirtyLog', 'dma-logging.ts: IOVA_LIMIT', 'dma-logging.ts: PAGE_SIZE', 'ioas.ts: GuestMemory', 'ioas.ts: IOVA_LIMIT', 'ioas.ts: IoAddressSpace', 'ioas.ts: Perm', 'ioas.ts: RemoteRegion']);
  });

  it('imports nothing of dsa, host, vidxd or mdev, and no package (the shared errno table and embedder error hook excepted)', () => {
    expect(outsideImports().filter((l) => !l.includes(': pci/') && !l.includes(': memory/') && !l.endsWith(': errno.js') && !l.endsWith(': embedder.js'))).toEqual([]);
  });
});
