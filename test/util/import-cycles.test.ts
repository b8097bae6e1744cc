/**
 * No two files under src/ import each other (type-only imports and re-exports count: a pair that
 * names each other is one unit split in two, whatever the compiler erases). The import graph is
 * read from the sources: every `import … from` and `export … from` with a relative path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** The import graph of `files` (paths relative to src, `.ts`): each file's relative imports. */
function importGraph(root: string, files: readonly string[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const targets = new Set<string>();
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'";]*?from\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) targets.add(relative(root, resolve(join(file, '..'), spec)).replace(/\.js$/, '.ts'));
    }
    graph.set(relative(root, file), targets);
  }
  return graph;
}

/** Every pair of files that import each other, as `a <-> b` (a before b). */
function mutualImports(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const out: string[] = [];
  for (const [a, targets] of graph) {
    for (const b of targets) if (a < b && graph.get(b)?.has(a) === true) out.push(`${a} <-> ${b}`);
  }
  return out.sort();
}

describe('the import graph of src/', () => {
  it('has no two files that import each other', () => {
    const graph = importGraph(SRC, sources(SRC));
    expect(graph.size).toBeGreaterThan(100);
    expect(mutualImports(graph)).toEqual([]);
  });

  it('reads type-only imports and re-exports as edges, and finds a pair', () => {
    const graph = new Map([
      ['host/wq.ts', new Set(['host/driver.ts', 'dsa/index.ts'])],
      ['host/driver.ts', new Set(['host/wq.ts'])],
      ['dsa/index.ts', new Set(['dsa/device.ts'])],
    ]);
    expect(mutualImports(graph)).toEqual(['host/driver.ts <-> host/wq.ts']);
    const parsed = importGraph(SRC, [join(SRC, 'host', 'index.ts')]).get('host/index.ts');
    expect(parsed?.has('host/wq.ts')).toBe(true);
  });
});
