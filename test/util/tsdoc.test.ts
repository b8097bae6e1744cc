/**
 * Every exported symbol of `src/` carries a TSDoc comment: top-level exported declarations, and the
 * public members of exported classes and interfaces (a setter shares its getter's comment; a
 * constructor is documented by its class). Re-exports (`export { … } from`) are documented where they
 * are declared.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', '..', 'src');

const DECLARATION = /^export\s+(?:declare\s+)?(?:default\s+)?(?:async\s+)?(?:abstract\s+)?(?:function|class|interface|type(?!\s*\{)|const|let|var|enum)\b/;
const CONTAINER = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:class|interface)\b.*\{\s*$/;
const MEMBER = /^ {2}(?:(?:readonly|static|get|async|override|public|abstract)\s+)*[A-Za-z_$][\w$]*\??\s*[(<:=]/;
const EXEMPT_MEMBER = /^ {2}(?:private|protected|#|constructor\(|set\s|(?:static\s+)?set\s)/;

/** The declarations of `text` (one module's source) that lack a TSDoc comment, as `line: text`. */
export function undocumented(text: string): string[] {
  const lines = text.split('\n');
  const missing: string[] = [];
  const documented = (i: number): boolean => {
    let j = i - 1;
    while (j >= 0 && (lines[j] as string).trim() === '') j--;
    return j >= 0 && (lines[j] as string).trim().endsWith('*/');
  };
  let inContainer = false;
  lines.forEach((line, i) => {
    if (DECLARATION.test(line) && !documented(i)) missing.push(`${i + 1}: ${line.trim()}`);
    if (CONTAINER.test(line)) {
      inContainer = true;
      return;
    }
    if (inContainer && line.startsWith('}')) inContainer = false;
    if (inContainer && MEMBER.test(line) && !EXEMPT_MEMBER.test(line) && !documented(i)) missing.push(`${i + 1}: ${line.trim()}`);
  });
  return missing;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('TSDoc', () => {
  it('is on every exported declaration and every public member of an exported class or interface in src/', () => {
    const missing = sources(SRC).flatMap((p) => undocumented(readFileSync(p, 'utf8')).map((m) => `${relative(SRC, p)}:${m}`));
    expect(missing).toEqual([]);
  });

  it('the check finds an undocumented export, member and field, and accepts documented ones', () => {
    const text = [
      '/** Documented. */',
      'export function a(): void {}',
      'export function b(): void {}',
      '/** A class. */',
      'export class C {',
      '  /** Documented. */',
      '  readonly x = 1;',
      '  y = 2;',
      '  constructor() {}',
      '  get z(): number { return 1; }',
      '  set z(v: number) {}',
      '  private w = 3;',
      '}',
      '/** An interface. */',
      'export interface I {',
      '  readonly f?: number;',
      '}',
      "export type { A } from './a.js';",
    ].join('\n');
    expect(undocumented(text)).toEqual(['3: export function b(): void {}', '8: y = 2;', '10: get z(): number { return 1; }', '16: readonly f?: number;']);
  });
});
