/**
 * `npm run bench`: runs every bench section and prints a table — name, value and unit, the baseline
 * measured in the same process, their ratio, and the row's goal with whether it is met — or, with
 * `--json`, exactly one JSON object `{"rows":[{"name","value","unit","baseline","ratio"}]}` (baseline
 * and ratio only where a row has one). Run with `--expose-gc` (the npm script does) so the memory row
 * and the timing loops start from a collected heap.
 */
import { engineSection } from './engine.js';
import { migrationSection } from './migration.js';
import { portalSection } from './portal.js';
import { remoteSection } from './remote.js';
import { scaleSection } from './scale.js';
import { targetCell } from './targets.js';
import { trapSection } from './trap.js';
import { vfioUserSection } from './vfio-user.js';
import { xthreadSection } from './xthread.js';
import type { BenchRow, BenchSection } from './timing.js';

const SECTIONS: readonly (readonly [string, BenchSection])[] = [
  ['engine', engineSection],
  ['portal', portalSection],
  ['remote', remoteSection],
  ['trap', trapSection],
  ['scale', scaleSection],
  ['vfio-user', vfioUserSection],
  ['xthread', xthreadSection],
  ['migration', migrationSection],
];

function fmt(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  if (v >= 100) return v.toFixed(0);
  return v.toFixed(2);
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  // Progress goes to a terminal's stderr only: stdout carries just the table or the JSON object.
  const progress = process.stderr.isTTY === true;
  const rows: BenchRow[] = [];
  const t0 = performance.now();
  for (const [name, section] of SECTIONS) {
    if (progress) process.stderr.write(`bench: ${name}...\n`);
    rows.push(...(await section()));
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({ rows })}\n`);
    return;
  }
  const lines = [['name', 'value', 'baseline', 'ratio', 'target']];
  for (const r of rows) {
    lines.push([
      r.name,
      `${fmt(r.value)} ${r.unit}`,
      r.baseline === undefined ? '' : `${fmt(r.baseline)} ${r.unit}`,
      r.ratio === undefined ? '' : r.ratio.toFixed(2),
      targetCell(r),
    ]);
  }
  const widths = [0, 1, 2, 3, 4].map((c) => Math.max(...lines.map((l) => (l[c] as string).length)));
  for (const l of lines) {
    console.log(l.map((cell, c) => (c === 0 || c === 4 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  ').trimEnd());
  }
  console.log(`(${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

await main();
