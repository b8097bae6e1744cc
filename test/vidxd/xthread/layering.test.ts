/** src/vidxd/xthread imports dsa and vfio through their entry points (and node:worker_threads), and nothing of ours imports it but the root index. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

function imports(files: readonly string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] as string;
      out.push(`${relative(SRC, file)}: ${spec.startsWith('.') ? relative(SRC, resolve(join(file, '..'), spec)) : `package ${spec}`}`);
    }
  }
  return out;
}

describe('src/vidxd/xthread layering', () => {
  it('reaches dsa and vfio only through their index.js, and imports no package but node:worker_threads', () => {
    const bad = imports(sources(join(SRC, 'vidxd', 'xthread'))).filter((line) => {
      const target = line.split(': ')[1] as string;
      return !(target.startsWith('vidxd/xthread/') || target === 'vidxd/portals.js' || target === 'dsa/index.js' || target === 'vfio/index.js' || target === 'package node:worker_threads');
    });
    expect(bad).toEqual([]);
  });

  it('is imported by no other module (the vdev included) but the root index', () => {
    const others = sources(SRC).filter((f) => !relative(SRC, f).startsWith('vidxd/xthread/') && relative(SRC, f) !== 'index.ts');
    expect(imports(others).filter((l) => l.includes(': vidxd/xthread/'))).toEqual([]);
  });
});
