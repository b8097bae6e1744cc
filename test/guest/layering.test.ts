/**
 * src/guest is a guest driver: it reaches the device through src/vfio only, and takes from src/dsa
 * nothing but its "header files" (constants, register and descriptor layouts, codec helpers) — never a
 * device-model class — and imports no package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as dsa from '../../src/dsa/index.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const GUEST = join(SRC, 'guest');

interface Import {
  readonly file: string;
  readonly target: string;
  readonly names: readonly string[];
}

function imports(): Import[] {
  const out: Import[] = [];
  for (const name of readdirSync(GUEST).filter((n) => n.endsWith('.ts'))) {
    const file = join(GUEST, name);
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s+(?:type\s+)?(?:\{([^}]*)\}|\*(?:\s+as\s+\w+)?)\s+from\s+'([^']+)'/gm)) {
      const spec = m[2] as string;
      const target = spec.startsWith('.') ? relative(SRC, resolve(GUEST, spec)) : `package ${spec}`;
      const names = (m[1] ?? '').split(',').map((n) => n.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0] as string).filter((n) => n !== '');
      out.push({ file: name, target, names });
    }
  }
  return out;
}

/** True for a class (a constructor declared with `class`). */
function isClass(v: unknown): boolean {
  return typeof v === 'function' && /^class\b/.test(Function.prototype.toString.call(v));
}

describe('src/guest layering', () => {
  it('imports only itself, vfio/index.js and dsa/index.js, and no package', () => {
    const all = imports();
    expect(all.length).toBeGreaterThan(10);
    const bad = all.filter((i) => !i.target.startsWith('guest/') && i.target !== 'vfio/index.js' && i.target !== 'dsa/index.js');
    expect(bad.map((i) => `${i.file}: ${i.target}`)).toEqual([]);
  });

  it('takes from dsa only constants, layouts and codec functions, never a device-model class', () => {
    const fromDsa = imports().filter((i) => i.target === 'dsa/index.js').flatMap((i) => i.names);
    expect(fromDsa).toContain('Opcode');
    const table = dsa as Readonly<Record<string, unknown>>;
    const classes = fromDsa.filter((n) => isClass(table[n]));
    expect(classes).toEqual([]);
    const modelNames = Object.keys(table).filter((n) => isClass(table[n]));
    expect(modelNames).toContain('DsaDevice');
    expect(fromDsa.filter((n) => modelNames.includes(n) || ['WqHost', 'PasidPolicy', 'CommandContext', 'Bar0Layout'].includes(n))).toEqual([]);
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
