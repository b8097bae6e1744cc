/**
 * Every section of the specification that the code and the docs cite exists in docs/spec/, and nothing
 * in src/, test/, docs/ or the README points outside the repository.
 *
 * A citation names a document and one or more sections: "vidxd-device.md §8.1", "`vfio-uapi.md` §7,
 * §8.5", "§§2–8", "§9.1–9.2" (both ends of a range are checked). A bare "§5.1" must be a section of
 * the document last named before it in the same file or of the document its folder implements
 * (src/vfio → vfio-uapi.md, src/dsa → dsa-operations.md, …); inside docs/spec/X.md, of X.md. A "§"
 * right after "DSA spec", "rev N" or "Table N-M" cites a third-party document and is not checked. A
 * section "N" or "N.M" exists when docs/spec/X.md has a heading that starts with that number.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const SPEC = join(ROOT, 'docs', 'spec');

/** The four documents of docs/spec, by the name the code cites them with. */
export const SPEC_DOCS = ['vidxd-device', 'dsa-operations', 'vfio-uapi', 'lspci-dump'] as const;
type SpecDoc = (typeof SPEC_DOCS)[number];

/** The documents a bare "§N" may mean in a file that names none, by the file's folder (first match wins). */
const DEFAULT_DOC: ReadonlyArray<readonly [prefix: string, doc: SpecDoc | readonly SpecDoc[]]> = [
  ['src/dsa/', 'dsa-operations'],
  ['src/host/', 'dsa-operations'],
  ['src/guest/', 'dsa-operations'],
  ['test/dsa/', 'dsa-operations'],
  ['test/host/', 'dsa-operations'],
  ['test/guest/', 'dsa-operations'],
  ['test/fuzz/', 'dsa-operations'],
  ['test/bench/', 'dsa-operations'],
  ['src/vfio/', 'vfio-uapi'],
  ['src/vfio-user/', 'vfio-uapi'],
  ['src/mdev/', 'vfio-uapi'],
  ['src/memory/', 'vfio-uapi'],
  ['test/vfio/', 'vfio-uapi'],
  ['test/vfio-user/', 'vfio-uapi'],
  ['test/mdev/', 'vfio-uapi'],
  ['test/memory/', 'vfio-uapi'],
  ['test/vmm/', ['vfio-uapi', 'vidxd-device']],
  ['src/', 'vidxd-device'],
  ['test/', 'vidxd-device'],
  ['docs/', 'vidxd-device'],
  ['README.md', 'vidxd-device'],
];

/** One citation of one section. */
export interface Citation {
  /** Repository-relative file. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /**
   * The documents the section may be in: the one named right before it; for a bare "§N", the file's
   * own document (docs/spec) or else the one last named before it in the file and the one its folder
   * implements.
   */
  readonly docs: readonly SpecDoc[];
  /** The section number ("8", "8.1"). */
  readonly section: string;
  /** Character offset in the file (orders citations of one line). */
  readonly at: number;
}

const NAMES = SPEC_DOCS.join('|');
/** One section reference: "§5", "§§2–8", "§9.1–9.2", "§12.1." (a full stop ends the sentence, not the number). */
const REF = '§§?\\s*\\d+(?:\\.\\d+)*(?:\\s*[–-]\\s*\\d+(?:\\.\\d+)*)?';
/** A document name (plain, in backticks or as a Markdown link) and the references that follow it: "`vfio-uapi.md` §7, §8.5 and §9". */
const NAMED = new RegExp(`\\b(${NAMES})(?:\\.md)?\\b[\`\\])]?(?:\\([^)\\s]*\\))?\\s*(${REF}(?:\\s*(?:,|;|/|and|or)?\\s*${REF})*)`, 'g');
const DOC_NAME = new RegExp(`\\b(${NAMES})(?:\\.md)?\\b`, 'g');
/** A "§" right after "spec", "rev N" or "Table N-M" cites a third-party document, not ours. */
const SECTION = /(?<!(?:DSA spec|rev \d[\d.]*|Table [\d-]+)\s*)§§?\s*(\d+(?:\.\d+)*)(?:\s*[–-]\s*(\d+(?:\.\d+)*))?/g;

function defaultDocs(file: string): readonly SpecDoc[] {
  for (const [prefix, doc] of DEFAULT_DOC) if (file.startsWith(prefix)) return typeof doc === 'string' ? [doc] : doc;
  return [];
}

function ownDoc(file: string): SpecDoc | null {
  const m = /^docs\/spec\/([\w-]+)\.md$/.exec(file);
  return m !== null && (SPEC_DOCS as readonly string[]).includes(m[1] as string) ? (m[1] as SpecDoc) : null;
}

/** Every section citation in `text` (the contents of `file`). */
export function citations(file: string, text: string): Citation[] {
  const lineOf = (at: number): number => text.slice(0, at).split('\n').length;
  const out: Citation[] = [];
  const push = (at: number, docs: readonly SpecDoc[], m: RegExpMatchArray): void => {
    for (const s of [m[1], m[2]]) if (s !== undefined) out.push({ file, line: lineOf(at), docs, section: s.replace(/\.$/, ''), at });
  };
  // Named chains first; their references are taken.
  const taken = new Set<number>();
  for (const m of text.matchAll(NAMED)) {
    const doc = m[1] as SpecDoc;
    const chainAt = m.index + m[0].length - (m[2] as string).length;
    for (const r of (m[2] as string).matchAll(SECTION)) {
      taken.add(chainAt + r.index);
      push(chainAt + r.index, [doc], r);
    }
  }
  // Bare references.
  const named: { at: number; doc: SpecDoc }[] = [...text.matchAll(DOC_NAME)].map((m) => ({ at: m.index, doc: m[1] as SpecDoc }));
  const own = ownDoc(file);
  const fallback = defaultDocs(file);
  let k = -1;
  for (const m of text.matchAll(SECTION)) {
    if (taken.has(m.index)) continue;
    while (k + 1 < named.length && (named[k + 1] as { at: number }).at < m.index) k++;
    const docs = new Set<SpecDoc>();
    if (own !== null) docs.add(own);
    else {
      if (k >= 0) docs.add((named[k] as { doc: SpecDoc }).doc);
      for (const d of fallback) docs.add(d);
    }
    if (docs.size > 0) push(m.index, [...docs], m);
  }
  return out.sort((a, b) => a.at - b.at);
}

/** The section numbers docs/spec/`doc`.md defines: every heading that starts with a number. */
export function sections(markdown: string): Set<string> {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s/gm)) out.add(m[1] as string);
  return out;
}

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : files(p, ext);
    return ext.test(e.name) ? [p] : [];
  });
}

const SOURCES = [
  ...files(join(ROOT, 'src'), /\.(ts|c|cc|h|gyp)$/),
  ...files(join(ROOT, 'test'), /\.(ts|sh|py)$/),
  ...files(join(ROOT, 'docs'), /\.md$/).filter((p) => !p.startsWith(SPEC)),
  join(ROOT, 'README.md'),
].filter((p) => p !== join(import.meta.dirname, 'spec-citations.test.ts'));

describe('specification citations', () => {
  const defined = new Map(SPEC_DOCS.map((d) => [d, sections(readFileSync(join(SPEC, `${d}.md`), 'utf8'))]));
  const all = SOURCES.flatMap((p) => citations(relative(ROOT, p), readFileSync(p, 'utf8')));

  it('every section cited in src/, test/, docs/ and the README is a heading of docs/spec/', () => {
    expect(all.length).toBeGreaterThan(300);
    const missing = all
      .filter((c) => !c.docs.some((d) => (defined.get(d) as Set<string>).has(c.section)))
      .map((c) => `${c.file}:${c.line}: ${c.docs.join('.md or ')}.md §${c.section}`);
    expect(missing).toEqual([]);
  });

  it('every document is cited, and each one has the sections the others refer to', () => {
    for (const d of SPEC_DOCS) expect(SOURCES.some((p) => readFileSync(p, 'utf8').includes(`${d}.md`))).toBe(true);
    // The documents cite each other too.
    const cross = SPEC_DOCS.flatMap((d) => citations(`docs/spec/${d}.md`, readFileSync(join(SPEC, `${d}.md`), 'utf8')))
      .filter((c) => !c.docs.some((d) => (defined.get(d) as Set<string>).has(c.section)))
      .map((c) => `${c.file}:${c.line}: ${c.docs.join('.md or ')}.md §${c.section}`);
    expect(cross).toEqual([]);
  });

  it('the parser reads names, lists, ranges and bare sections, and skips third-party ones', () => {
    const text = [
      '/** `vfio-uapi.md` §7, §8.5 and §§2–3; see §9.1–9.2 of vidxd-device.md. */',
      '// DSA spec rev 3.0 §9 and Table 8-3 §4 are not ours; (§12.1.) is.',
      '// dsa-operations.md §11.2, and [vfio-uapi.md](vfio-uapi.md) §5.4',
    ].join('\n');
    const got = citations('src/vfio/x.ts', text).map((c) => `${c.line}:${c.docs.join('+')}:${c.section}`);
    expect(got).toEqual([
      '1:vfio-uapi:7', '1:vfio-uapi:8.5', '1:vfio-uapi:2', '1:vfio-uapi:3', '1:vfio-uapi:9.1', '1:vfio-uapi:9.2',
      '2:vidxd-device+vfio-uapi:12.1', '3:dsa-operations:11.2', '3:vfio-uapi:5.4',
    ]);
    expect(citations('src/dsa/ops/x.ts', '/** FILL (§7.5). */').map((c) => `${c.docs.join('+')}:${c.section}`)).toEqual(['dsa-operations:7.5']);
    expect(citations('docs/spec/vfio-uapi.md', 'see §5.4 and vidxd-device.md §7.3').map((c) => `${c.docs.join('+')}:${c.section}`)).toEqual([
      'vfio-uapi:5.4', 'vidxd-device:7.3',
    ]);
    expect([...sections('# T\n## 1. A\n### 1.2 B\n#### 11.12 C\n## Notes 3.4\n')]).toEqual(['1', '1.2', '11.12']);
  });
});

describe('nothing points outside the repository', () => {
  it('no path into the shared specification checkout or the build machine in src/, test/, docs/ or the README', () => {
    const outside = /(?:\.\.\/)+shared\/|\bshared\/spec\b|\/work\//;
    const bad = [...SOURCES, ...files(SPEC, /\.md$/)].flatMap((p) =>
        readFileSync(p, 'utf8')
          .split('\n')
          .flatMap((l, i) => (outside.test(l) ? [`${relative(ROOT, p)}:${i + 1}: ${l.trim()}`] : [])),
      );
    expect(bad).toEqual([]);
  });
});
