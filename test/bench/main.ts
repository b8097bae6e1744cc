/**
 * `npm run bench`: runs every bench section and prints a table, or with `--json` exactly one JSON
 * object `{"rows":[{"name","value","unit","baseline","ratio"}]}` (baseline and ratio only where a
 * row has one). Sections are added here by later issues.
 */
import { engineSection } from './engine.js';
import { vidxdTrappedSection } from './vidxd-trapped.js';
import type { BenchRow, BenchSection } from './timing.js';

const SECTIONS: readonly BenchSection[] = [engineSection, vidxdTrappedSection];

function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(2)} k`;
  return v.toFixed(3);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const rows: BenchRow[] = [];
  for (const section of SECTIONS) rows.push(...(await section()));
  if (json) {
    process.stdout.write(`${JSON.stringify({ rows })}\n`);
    return;
  }
  const lines = [['name', 'value', 'baseline', 'ratio']];
  for (const r of rows) {
    lines.push([
      r.name,
      `${fmt(r.value)} ${r.unit}`,
      r.baseline === undefined ? '' : `${fmt(r.baseline)} ${r.unit}`,
      r.ratio === undefined ? '' : r.ratio.toFixed(2),
    ]);
  }
  const widths = [0, 1, 2, 3].map((c) => Math.max(...lines.map((l) => (l[c] as string).length)));
  for (const l of lines) console.log(l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  '));
}

await main();
