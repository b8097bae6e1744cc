/**
 * `vidxd demo`: three VMs on one DSA model, every check passing, in JSON and as a report; the same
 * seed gives the same results.
 */
import { describe, expect, it } from 'vitest';
import type { DemoReport } from '../../src/cli/demo.js';
import { decode, VERDICTS } from './lspci-decode.js';
import { run } from './run.js';
import { HAS_LSPCI } from '../util/system-tools.js';

describe('vidxd demo', () => {
  it('--json exits 0 with every check passed on one dedicated and two shared vdevs', async () => {
    const r = await run('demo', '--json');
    expect(r.status).toBe(0);
    const rep = JSON.parse(r.out) as DemoReport;
    expect(rep.ok).toBe(true);
    expect(rep.failed).toBe(0);
    expect(rep.vdevs.map((v) => [v.type, v.mode])).toEqual([['dsa-1dwq-v1', 'dedicated'], ['dsa-1swq-v1', 'shared'], ['dsa-1swq-v1', 'shared']]);
    expect(rep.vdevs[1]?.backingWq).toBe(rep.vdevs[2]?.backingWq);
    for (const v of rep.vdevs) {
      expect(v.checks.length).toBeGreaterThanOrEqual(15);
      expect(v.checks.filter((c) => !c.ok)).toEqual([]);
      expect(v.pageFaults).toHaveLength(1);
      for (const op of ['memmove', 'fill', 'crc32c', 'compare', 'batch', 'difInsert', 'difCheck']) expect(v.stats.ops[op]?.count).toBeGreaterThan(0);
      expect(v.stats.interrupts[1]).toBeGreaterThan(0);
    }
    expect(rep.passed).toBe(rep.vdevs.reduce((n, v) => n + v.checks.length, 0));
  });

  it('migrates VM 1 to a second parent in the middle of its workload: pre-copy rounds with dirty pages, the state stream, memory equal, every check passed', async () => {
    const r = await run('demo', '--json');
    const rep = JSON.parse(r.out) as DemoReport;
    const m = rep.migration;
    expect(m).not.toBeNull();
    if (m === null) return;
    expect([m.vm, m.during, m.from.parent, m.to.parent]).toEqual([1, 'batch', 'first', 'second']);
    expect(m.to.backingWq).not.toBe(m.from.backingWq);
    expect(m.to.hostPasid).not.toBe(m.from.hostPasid);
    expect(m.to.handles).not.toEqual(m.from.handles);
    expect(m.rounds.length).toBeGreaterThan(0);
    expect(m.rounds.reduce((n, x) => n + x.dirtyPages, 0)).toBeGreaterThan(0);
    expect(m.streamBytes).toBeGreaterThan(0);
    expect(m.memoryEqual).toBe(true);
    const names = rep.vdevs[0]?.checks.map((c) => c.name) ?? [];
    expect(names.filter((n) => n.startsWith('migration: '))).toHaveLength(4);
    expect(rep.vdevs[0]?.checks.every((c) => c.ok)).toBe(true);
    const text = await run('demo');
    expect(text.out).toMatch(/^migration: VM 1 \(dsa-1dwq-v1\) was live-migrated to a second parent during its "batch" step$/m);
    expect(text.out).toMatch(/^ {2}downtime \(STOP on the source → RUNNING on the destination\): \d+\.\d\d ms$/m);
  });

  it('is deterministic for a seed, and other seeds pass too', async () => {
    const a = await run('demo', '--json', '--seed', '7');
    const b = await run('demo', '--json', '--seed=7');
    expect(a.out).toBe(b.out);
    expect((JSON.parse(a.out) as DemoReport).seed).toBe(7);
    expect(a.status).toBe(0);
  });

  it('prints a table per vdev and the verdict; progress goes to stderr', async () => {
    const r = await run('demo');
    expect(r.status).toBe(0);
    expect(r.out.match(/^vdev \d\/3 {2}dsa-1[ds]wq-v1 /gm)).toHaveLength(3);
    expect(r.out.match(/^ {2}operation +calls +descriptors +bytes +interrupts +faults +statuses$/gm)).toHaveLength(3);
    expect(r.out).toMatch(/^ {2}page fault: memmove wrote unmapped IOVA 0xc2000 /m);
    expect(r.out).toMatch(/\nPASS: all \d+ checks passed on 3 vdevs \(\d+ ms\)\n$/);
    expect(r.err).toMatch(/vidxd demo: vdev 3 done/);
  });

  it.runIf(HAS_LSPCI)('shows each guest\'s config space as a dump that the real lspci decodes: three vdevs, PASID enabled on the shared ones only', async () => {
    const r = await run('demo');
    // The whole report goes to lspci, as `npm run demo | lspci -F /dev/stdin` does: the prose is skipped.
    const decoded = decode(r.out);
    const devices = decoded.split(/\n(?=\S)/).filter((d) => d.trim() !== '');
    expect(devices.map((d) => d.split('\n')[0])).toEqual(['01', '02', '03'].map((n) => `00:${n}.0 System peripheral [0880]: Intel Corporation Device [8086:0b25]`));
    for (const d of devices) {
      for (const s of ['Mem+ BusMaster+', 'MSI-X: Enable+ Count=2', 'Root Complex Integrated Endpoint', '(ATS)', '(PRI)', 'Max PASID Width: 14']) expect(d).toContain(s);
    }
    expect(devices.map((d) => d.includes('PASIDCtl: Enable+'))).toEqual([false, true, true]);
    for (const v of VERDICTS) expect(decoded).not.toContain(v);
    // The verdict stays the last line.
    expect(r.out).toMatch(/\nPASS: [^\n]*\n$/);
  });
});
