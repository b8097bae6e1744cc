/**
 * src/guest is a guest driver: it reaches the device through src/vfio only, and takes from the
 * library nothing but "header files" — src/pci/spec.ts and the dsa spec modules (constants,
 * register and descriptor layouts, codec helpers) — never a device-model file, and imports no
 * package. The header files themselves import only each other: no policy, no classes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const GUEST = join(SRC, 'guest');

/** The dsa "header files": every module of src/dsa/spec/, as paths relative to src. */
const DSA_SPEC_FILES: readonly string[] = readdirSync(join(SRC, 'dsa', 'spec'))
  .filter((n) => n.endsWith('.ts'))
  .map((n) => `dsa/spec/${n.replace(/\.ts$/, '.js')}`);

/** The PCI header file. */
const PCI_SPEC = 'pci/spec.js';

/** Whether `target` (a path relative to src) is a spec module. */
function isSpec(target: string): boolean {
  return target === PCI_SPEC || target.startsWith('dsa/spec/');
}

/** The source file (absolute) of a `.js` module path relative to src. */
const sourceOf = (target: string): string => join(SRC, target.replace(/\.js$/, '.ts'));

interface Import {
  readonly file: string;
  readonly target: string;
  readonly names: readonly string[];
}

/** Every import and re-export of `file` (absolute), with targets relative to src (or `package x`). */
function importsOf(file: string): Import[] {
  const out: Import[] = [];
  const name = relative(SRC, file);
  for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\b([^;]*?)\bfrom\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
    const spec = (m[2] ?? m[3]) as string;
    const target = spec.startsWith('.') ? relative(SRC, resolve(join(file, '..'), spec)) : `package ${spec}`;
    const braces = /\{([^}]*)\}/.exec(m[1] ?? '');
    const names = (braces?.[1] ?? '').split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0] as string).filter((n) => n !== '');
    out.push({ file: name, target, names });
  }
  return out;
}

function guestImports(): Import[] {
  return readdirSync(GUEST).filter((n) => n.endsWith('.ts')).flatMap((n) => importsOf(join(GUEST, n)));
}

describe('src/guest layering', () => {
  it('imports only itself, vfio/index.js, pci/spec.js and the dsa header files, and no package', () => {
    const all = guestImports();
    expect(all.length).toBeGreaterThan(10);
    const bad = all.filter((i) => !i.target.startsWith('guest/') && i.target !== 'vfio/index.js' && !isSpec(i.target));
    expect(bad.map((i) => `${i.file}: ${i.target}`)).toEqual([]);
  });

  it('takes its PCI numbers from pci/spec.js and its DSA numbers from the dsa header files directly', () => {
    const all = guestImports();
    expect(all.filter((i) => i.target === PCI_SPEC).flatMap((i) => i.names)).toContain('Header');
    const fromDsa = all.filter((i) => i.target.startsWith('dsa/'));
    expect(fromDsa.flatMap((i) => i.names)).toContain('Opcode');
    expect(fromDsa.filter((i) => i.target === 'dsa/index.js')).toEqual([]);
  });

  it('is imported by no library layer but cli and the root entry point', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (!['guest', 'cli'].includes(e.name)) walk(p);
        } else if (e.name.endsWith('.ts') && p !== join(SRC, 'index.ts') && /from '[^']*guest\//.test(readFileSync(p, 'utf8'))) {
          offenders.push(relative(SRC, p));
        }
      }
    };
    walk(SRC);
    expect(offenders).toEqual([]);
  });
});

describe('spec modules (pci/spec.ts and the dsa header files)', () => {
  const specs = [PCI_SPEC, ...DSA_SPEC_FILES];

  it('all exist', () => {
    for (const s of specs) expect(() => readFileSync(sourceOf(s)), s).not.toThrow();
  });

  it('import only other spec modules, and no package', () => {
    const bad = specs.flatMap((s) => importsOf(sourceOf(s))).filter((i) => !isSpec(i.target));
    expect(bad.map((i) => `${i.file}: ${i.target}`)).toEqual([]);
  });

  it('export no class', async () => {
    const classes: string[] = [];
    for (const s of specs) {
      const mod = (await import(pathToFileURL(sourceOf(s)).href)) as Readonly<Record<string, unknown>>;
      for (const [name, v] of Object.entries(mod)) {
        if (typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v))) classes.push(`${s}: ${name}`);
      }
    }
    expect(classes).toEqual([]);
  });
});
