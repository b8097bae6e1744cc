/** `vidxd lspci`: the dump of each device type decodes with the real lspci, without a verdict string. */
import { describe, expect, it } from 'vitest';
import { decode, VERDICTS } from './lspci-decode.js';
import { run } from './run.js';
import { HAS_LSPCI } from '../util/system-tools.js';

describe.each([
  ['dsa-1dwq-v1', ['MSI-X: Enable- Count=2', 'Express (v2) Root Complex Integrated Endpoint', '(ATS)', '(PRI)', 'Max PASID Width: 14']],
  ['dsa-1swq-v1', ['MSI-X: Enable- Count=2', 'Express (v2) Root Complex Integrated Endpoint', '(ATS)', '(PRI)', 'Max PASID Width: 14']],
  ['pf', ['MSI-X: Enable- Count=9', 'Express (v2)', '(ATS)', '(PRI)', 'Max PASID Width: 14']],
] as const)('vidxd lspci --type %s', (type, expected) => {
  it.runIf(HAS_LSPCI)('prints 4 KiB in lspci\'s format that lspci decodes cleanly', async () => {
    const r = await run('lspci', '--type', type);
    expect(r.status).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^00:01\.0 System peripheral: vidxd /);
    expect(lines.filter((l) => /^[0-9a-f]{2,3}: /.test(l))).toHaveLength(256);
    const decoded = decode(r.out);
    expect(decoded).toContain('[8086:0b25]');
    for (const s of expected) expect(decoded).toContain(s);
    for (const v of VERDICTS) expect(decoded).not.toContain(v);
  });
});

describe('vidxd lspci --enabled', () => {
  it.runIf(HAS_LSPCI)('shows what the reference driver enabled: memory, bus master, MSI-X, and PASID/ATS/PRI for a shared vdev; on the PF too (it configures its WQ)', async () => {
    const decoded = decode((await run('lspci', '--type', 'dsa-1swq-v1', '--enabled')).out);
    for (const s of ['Mem+ BusMaster+', 'MSI-X: Enable+', 'ATSCtl:\tEnable+', 'PRICtl: Enable+', 'PASIDCtl: Enable+']) expect(decoded).toContain(s);
    for (const v of VERDICTS) expect(decoded).not.toContain(v);
    const pf = await run('lspci', '--type', 'pf', '--enabled');
    expect([pf.status, pf.err]).toEqual([0, '']);
    for (const s of ['Mem+ BusMaster+', 'MSI-X: Enable+', 'FLReset+']) expect(decode(pf.out)).toContain(s);
  });
});
