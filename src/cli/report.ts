/**
 * The demo's human-readable report: per vdev, what the driver found and a table of operations (calls,
 * descriptors, bytes, completion statuses, interrupts, resolved faults), the failed checks if any, each
 * guest's config space as an lspci dump (lspci skips the prose, so the whole report can be piped to
 * `lspci -F /dev/stdin`), and the verdict.
 */
import { DEMO_CONFIG } from './system.js';
import type { DemoReport, DemoTimings, VdevReport } from './demo.js';
import type { MigrationReport } from './demo-migration.js';

function bytes(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

function table(rows: readonly (readonly string[])[], rightFrom: number): string[] {
  const widths = (rows[0] as readonly string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => `  ${r.map((cell, c) => (c >= rightFrom && c < r.length - 1 ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number))).join('  ').trimEnd()}`);
}

function vdevSection(v: VdevReport, i: number, n: number): string[] {
  const pasid = v.pasid < 0 ? 'no PASID' : `guest PASID 0x${v.pasid.toString(16)}`;
  const handles = v.interruptHandles.length === 0 ? '' : ` (interrupt handle${v.interruptHandles.length > 1 ? 's' : ''} ${v.interruptHandles.join(', ')})`;
  const out = [
    `vdev ${i + 1}/${n}  ${v.type}  ${v.uuid}`,
    `  parent WQ ${v.backingWq}, ${v.mode}, ${v.wqSize} entries · ${pasid} · ${v.portal} portal · ${v.completion} completion${handles}`,
  ];
  const rows: string[][] = [['operation', 'calls', 'descriptors', 'bytes', 'interrupts', 'faults', 'statuses']];
  for (const [op, s] of Object.entries(v.stats.ops)) {
    const statuses = Object.entries(s.statuses).map(([k, c]) => `${k}×${c}`).join(' ');
    rows.push([op, String(s.count), String(s.submissions), op === 'batch' ? '—' : bytes(s.bytes), String(s.interrupts), String(s.faults), statuses]);
  }
  out.push(...table(rows, 1));
  for (const f of v.pageFaults) {
    out.push(`  page fault: ${f.op} ${f.write ? 'wrote' : 'read'} unmapped IOVA 0x${f.address.toString(16)} after ${f.bytesCompleted} bytes → the VMM mapped the page → resumed`);
  }
  const failed = v.checks.filter((c) => !c.ok);
  for (const c of failed) out.push(`  FAILED: ${c.name}${c.detail === '' ? '' : ` (${c.detail})`}`);
  out.push(`  checks: ${v.checks.length - failed.length}/${v.checks.length} passed`);
  return out;
}

function migrationSection(m: MigrationReport, type: string, downtimeMs: number | null): string[] {
  const end = (e: MigrationReport['from']): string => `${e.parent} parent, WQ ${e.backingWq}, host PASID ${e.hostPasid}, interrupt handle ${e.handles.join(', ')}`;
  const rows: string[][] = [['round', 'device steps', 'dirty pages copied', 'state bytes']];
  rows.push(['0 (all of memory)', '—', String(m.initialPages), '—']);
  m.rounds.forEach((r, i) => rows.push([String(i + 1), String(r.steps), String(r.dirtyPages), String(r.stateBytes)]));
  rows.push(['STOP (final report)', '—', String(m.finalPages), String(m.streamBytes)]);
  return [
    `migration: VM ${m.vm} (${type}) was live-migrated to a second parent during its "${m.during}" step`,
    `  from ${end(m.from)}`,
    `  to   ${end(m.to)}`,
    ...table(rows, 1),
    `  ${m.inFlightAtStop} descriptor(s) in its WQ at STOP, completed before the state was saved; device state ${m.streamBytes} bytes in all`,
    ...(downtimeMs === null ? [] : [`  downtime (STOP on the source → RUNNING on the destination): ${downtimeMs.toFixed(2)} ms`]),
    `  guest memory copied with the device's dirty log ${m.memoryEqual ? 'equals' : 'DIFFERS FROM'} the source's at switchover; the guest re-requested its interrupt handles`,
  ];
}

/** The report, ending with the verdict line. */
export function renderReport(r: DemoReport, elapsedMs: number, timings?: DemoTimings): string {
  const wqs = DEMO_CONFIG.wqs.map((w) => `WQ ${w.id} ${w.mode} (${w.size} entries${w.threshold === undefined ? '' : `, threshold ${w.threshold}`})`).join(', ');
  const groups = DEMO_CONFIG.groups.map((g) => `group ${g.id} = engines ${g.engines.join(', ')}`).join('; ');
  const lines = [
    `vidxd demo (seed ${r.seed})`,
    `DSA model (default profile) configured by the host driver: ${groups}; ${wqs}; both WQs mediated.`,
    `Three VMs, each with its own 1 MiB guest memory and IOAS, run the reference guest driver concurrently;`,
    `every result is checked against a plain-JS computation. VM 1 is live-migrated to a second parent on the way.`,
    '',
  ];
  r.vdevs.forEach((v, i) => lines.push(...vdevSection(v, i, r.vdevs.length), ''));
  if (r.migration !== null) lines.push(...migrationSection(r.migration, r.vdevs[r.migration.vm - 1]?.type ?? '', timings?.migrationDowntimeMs ?? null), '');
  lines.push(
    'statuses: 0x01 success · 0x03 / 0x83 page fault on a read / write (partial completion, resumed) · 0x09 DIF error (the corrupted block, expected).',
    'Batch items complete inside their batch: the batch descriptor takes the one interrupt.',
    '',
    'What each guest sees in its config space (lspci -xxxx form, up to the last non-zero line). Decode it with the',
    'real lspci: npm run demo | lspci -F /dev/stdin -vv   (the whole 4 KiB: vidxd lspci --type TYPE --enabled)',
    '',
  );
  // Each dump ends with the blank line that ends a device for lspci.
  for (const v of r.vdevs) lines.push(v.configSpace.trimEnd(), '');
  const total = r.passed + r.failed;
  lines.push(r.ok
    ? `PASS: all ${total} checks passed on ${r.vdevs.length} vdevs (${elapsedMs.toFixed(0)} ms)`
    : `FAIL: ${r.failed} of ${total} checks failed`);
  return `${lines.join('\n')}\n`;
}
