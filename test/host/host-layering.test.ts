/**
 * src/dsa imports only pci, memory and itself; src/host only dsa, pci, memory and itself (both may use the
 * leaf modules errno.js and native.js); neither imports a package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

function badImports(layer: string, allowed: readonly string[]): string[] {
  const bad: string[] = [];
  for (const file of sources(join(SRC, layer))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] as string;
      const top = relative(SRC, resolve(join(file, '..'), spec)).split(/[\\/]/)[0] as string;
      // errno.js (the library's one errno table) and native.js (the optional addon's loader) are leaf
      // modules every layer may use.
      if (!spec.startsWith('.') || !spec.endsWith('.js') || ![layer, ...allowed, 'errno.js', 'native.js'].includes(top)) bad.push(`${relative(SRC, file)}: ${spec}`);
    }
  }
  return bad;
}

describe('layering of the device model and the host driver', () => {
  it('src/dsa imports only src/pci, src/memory and itself', () => {
    expect(badImports('dsa', ['pci', 'memory'])).toEqual([]);
  });

  it('src/host imports only src/dsa, src/pci, src/memory and itself', () => {
    expect(badImports('host', ['dsa', 'pci', 'memory'])).toEqual([]);
  });
});
