/**
 * src/vfio-user knows only the VFIO device API (src/vfio), guest memory (src/memory), the errno
 * table and the addon loader (src/native.ts), through their entry points, plus Node's own modules — no other layer and no package — and
 * only the command line and the root entry point import it.
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

function imports(dir: string): string[] {
  const out: string[] = [];
  for (const file of sources(dir)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] as string;
      out.push(`${relative(SRC, file)}: ${spec.startsWith('.') ? relative(SRC, resolve(join(file, '..'), spec)) : spec}`);
    }
  }
  return out;
}

describe('src/vfio-user layering', () => {
  it('imports only vfio/index.js, memory/index.js, errno.js, native.js (the addon loader) and node: modules', () => {
    const all = imports(join(SRC, 'vfio-user'));
    const allowed = (target: string): boolean =>
      target.startsWith('vfio-user/') || ['vfio/index.js', 'memory/index.js', 'errno.js', 'native.js'].includes(target) || target.startsWith('node:');
    expect(all.filter((l) => !allowed(l.split(': ')[1] as string))).toEqual([]);
    expect(all.some((l) => l.endsWith(': vfio/index.js'))).toBe(true);
  });

  it('is imported by no library layer but the command line and the root entry point', () => {
    const offenders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !['vfio-user', 'cli'].includes(e.name))
      .flatMap((e) => imports(join(SRC, e.name)))
      .filter((l) => l.includes(': vfio-user/'));
    expect(offenders).toEqual([]);
  });
});
