/** src/vidxd imports the layers below it through their entry points only, and no lower layer imports it. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const LOWER = ['pci', 'memory', 'dsa', 'host', 'vfio', 'mdev'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Every import of the files of `layer`, as `file: target` relative to src (or `package x`). */
function imports(layer: string): string[] {
  const out: string[] = [];
  for (const file of sources(join(SRC, layer))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] as string;
      out.push(`${relative(SRC, file)}: ${spec.startsWith('.') ? relative(SRC, resolve(join(file, '..'), spec)) : `package ${spec}`}`);
    }
  }
  return out;
}

describe('src/vidxd layering', () => {
  it('reaches every lower layer only through its index.js, and imports no package (but worker_threads in vidxd/xthread)', () => {
    const bad = imports('vidxd').filter((line) => {
      const target = line.split(': ')[1] as string;
      if (target.startsWith('vidxd/')) return false;
      // The cross-thread device host (vidxd/xthread) talks to its guest thread over worker_threads ports.
      if (line.startsWith('vidxd/xthread/') && target === 'package node:worker_threads') return false;
      const [layer, file] = target.split('/');
      return !(LOWER.includes(layer as string) && file === 'index.js');
    });
    expect(bad).toEqual([]);
    expect(imports('vidxd').some((l) => l.endsWith(': host/index.js'))).toBe(true);
  });

  it('is imported by no lower layer', () => {
    for (const layer of LOWER) expect(imports(layer).filter((l) => l.includes(': vidxd/'))).toEqual([]);
  });
});
