/** The vdev's PCI config space (vidxd-device.md §3, §11.1–4): reset values, masks, BAR sizing, capability chains, real lspci decode. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_LSPCI } from '../util/system-tools.js';
import { DWQ, type Guest, openGuest, parentRig, SWQ } from './fixtures.js';

const VERDICTS = ['<chain looped>', '<chain broken>', '<access denied>', 'Extended Capability ID 0x', 'Capability ID 0x'];
let dir = '';
let files = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vidxd-vdev-lspci-'));
});

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function lspci(dump: string): string {
  const file = join(dir, `vdev${files++}.txt`);
  writeFileSync(file, dump);
  return execFileSync('lspci', ['-F', file, '-vvv', '-nn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('config space of a %s vdev', (_mode, type) => {
  const guest = (): Guest => openGuest(parentRig(), type);

  it('has the header of §3.1 at reset', () => {
    const g = guest();
    expect(g.cfg(0x00)).toBe(0x0b258086);
    expect(g.cfg(0x04, 2)).toBe(0x0000);
    expect(g.cfg(0x06, 2)).toBe(0x0010);
    expect(g.cfg(0x08)).toBe(0x08800000);
    expect([g.cfg(0x0c, 1), g.cfg(0x0d, 1), g.cfg(0x0e, 1), g.cfg(0x0f, 1)]).toEqual([0, 0, 0x00, 0]);
    expect([g.cfg(0x10), g.cfg(0x14), g.cfg(0x18), g.cfg(0x1c)]).toEqual([0xc, 0, 0xc, 0]);
    expect([g.cfg(0x20), g.cfg(0x24), g.cfg(0x28), g.cfg(0x2c), g.cfg(0x30)]).toEqual([0, 0, 0, 0x00008086, 0]);
    expect([g.cfg(0x34, 1), g.cfg(0x3c, 1), g.cfg(0x3d, 1)]).toEqual([0x40, 0xff, 0]);
  });

  it('writes only MEM, BME, SERR and INTx-disable of the command register; status errors are RW1C', () => {
    const g = guest();
    g.setCfg(0x04, 0xffff, 2);
    expect(g.cfg(0x04, 2)).toBe(0x0506);
    g.setCfg(0x06, 0xffff, 2);
    expect(g.cfg(0x06, 2)).toBe(0x0010);
    g.setCfg(0x04, 0, 2);
    expect(g.cfg(0x04, 2)).toBe(0);
  });

  it('ignores writes to every read-only header field and keeps cache line and interrupt line writable', () => {
    const g = guest();
    for (const off of [0x00, 0x08, 0x2c, 0x30, 0x20, 0x24]) g.setCfg(off, 0xffffffff);
    g.setCfg(0x0c, 0xffffffff);
    g.setCfg(0x34, 0xff, 1);
    g.setCfg(0x3c, 0x1234, 2);
    expect([g.cfg(0x00), g.cfg(0x08), g.cfg(0x2c), g.cfg(0x30), g.cfg(0x20), g.cfg(0x24)]).toEqual([0x0b258086, 0x08800000, 0x8086, 0, 0, 0]);
    expect([g.cfg(0x0c, 1), g.cfg(0x0d, 1), g.cfg(0x0e, 1), g.cfg(0x34, 1), g.cfg(0x3c, 1), g.cfg(0x3d, 1)]).toEqual([0xff, 0, 0, 0x40, 0x34, 0]);
  });

  it('sizes both 64-bit BARs as real hardware does: ~(8 KiB − 1) | 0xC, high dword all ones (§11.1)', () => {
    const g = guest();
    for (const bar of [0x10, 0x18]) {
      g.setCfg(bar, 0xffffffff);
      g.setCfg(bar + 4, 0xffffffff);
      expect([g.cfg(bar), g.cfg(bar + 4)]).toEqual([0xffffe00c, 0xffffffff]);
      g.setCfg(bar, 0xfe000000);
      g.setCfg(bar + 4, 0x12);
      expect([g.cfg(bar), g.cfg(bar + 4)]).toEqual([0xfe00000c, 0x12]);
    }
  });

  it('chains MSI-X (0x40) → PCIe (0x50) and ATS (0x100) → PRI (0x110) → PASID (0x120) with the §3.2 contents', () => {
    const g = guest();
    expect(g.cfg(0x40)).toBe(0x00015011); // MSI-X, next 0x50, table size 1 (2 vectors)
    expect(g.cfg(0x44)).toBe(0x600); // table: BIR 0, offset 0x600
    expect(g.cfg(0x48)).toBe(0x700); // PBA at 0x48, not 0x4C (§11.2)
    expect(g.cfg(0x4c)).toBe(0);
    expect(g.cfg(0x50, 2)).toBe(0x0010); // PCIe, next 0
    expect((g.cfg(0x52, 2) >>> 4) & 0xf).toBe(9); // RCiEP
    expect(g.cfg(0x52, 2) & 0xf).toBe(2); // version 2
    const devcap2 = g.cfg(0x50 + 0x24);
    expect([(devcap2 >>> 21) & 1, (devcap2 >>> 22) & 3]).toEqual([1, 1]); // end-end TLP prefix, max 1
    expect(g.cfg(0x100)).toBe(0x1101000f); // ATS v1, next 0x110
    expect(g.cfg(0x104, 2)).toBe(0x21); // queue depth 1, page aligned
    expect(g.cfg(0x110)).toBe(0x12010013); // PRI v1, next 0x120
    expect(g.cfg(0x118)).toBe(1); // outstanding capacity 1
    expect(g.cfg(0x120)).toBe(0x0001001b); // PASID v1, next 0 (§11.4)
    expect(g.cfg(0x124, 2)).toBe(0x1404); // width 20, privileged, no execute
    expect(g.vdev.pci.validate()).toEqual([]);
  });

  it('keeps capability IDs, pointers, sizes and table locations read-only (§11.3)', () => {
    const g = guest();
    // [offset, size] of fields with no guest-writable bit: headers, MSI-X table/PBA locations, capability registers.
    const ro: [number, 1 | 2 | 4][] = [[0x40, 2], [0x44, 4], [0x48, 4], [0x50, 4], [0x54, 4], [0x74, 4], [0x100, 4], [0x104, 2], [0x110, 4],
      [0x118, 4], [0x120, 4], [0x124, 2]];
    const before = ro.map(([o, n]) => g.cfg(o, n));
    for (const [o] of ro) g.setCfg(o & ~3, 0xffffffff);
    expect(ro.map(([o, n]) => g.cfg(o, n))).toEqual(before);
    for (const [o] of ro) g.setCfg(o & ~3, 0);
    expect(ro.map(([o, n]) => g.cfg(o, n))).toEqual(before);
  });

  it('has the guest-writable capability controls of §3.2', () => {
    const g = guest();
    g.setCfg(0x42, 0xffff, 2);
    expect(g.cfg(0x42, 2)).toBe(0xc001); // enable, function mask; table size kept
    g.setCfg(0x106, 0xffff, 2);
    expect(g.cfg(0x106, 2)).toBe(0x801f); // ATS enable + STU
    g.setCfg(0x114, 0x3, 2);
    expect(g.cfg(0x114, 2)).toBe(0x1); // PRI enable (reset reads 0)
    g.setCfg(0x126, 0xffff, 2);
    expect(g.cfg(0x126, 2)).toBe(0x5); // PASID enable + privileged, no execute
  });

  it('serves 1-, 2- and 4-byte accesses at any offset, splitting straddling ones', () => {
    const g = guest();
    expect(g.cfg(0x01, 2)).toBe(0x2580);
    expect(g.cfg(0x03, 2)).toBe(0x000b);
    const buf = new Uint8Array(6);
    g.dev.readRegion(7, 0x2b, buf);
    expect([...buf]).toEqual([0x00, 0x86, 0x80, 0x00, 0x00, 0x00]);
    expect(g.cfg(0xffc)).toBe(0);
  });

  it.runIf(HAS_LSPCI)('prints a dump the real lspci -F decodes with MSI-X Count=2, RCiEP, ATS, PRI and PASID and no verdict string', () => {
    const g = guest();
    const out = lspci(g.vdev.pci.toLspciDump('00:02.0'));
    for (const v of VERDICTS) expect(out, `lspci printed "${v}"`).not.toContain(v);
    expect(out).toContain('[8086:0b25]');
    expect(out).toContain('Capabilities: [40] MSI-X: Enable- Count=2 Masked-');
    expect(out).toContain('Vector table: BAR=0 offset=00000600');
    expect(out).toContain('PBA: BAR=0 offset=00000700');
    expect(out).toContain('Capabilities: [50] Express (v2) Root Complex Integrated Endpoint');
    expect(out).toContain('Capabilities: [100 v1] Address Translation Service (ATS)');
    expect(out).toContain('Capabilities: [110 v1] Page Request Interface (PRI)');
    expect(out).toContain('Capabilities: [120 v1] Process Address Space ID (PASID)');
    expect(out).toContain('PASIDCap: Exec- Priv+, Max PASID Width: 14');
    expect(out).toContain('Region 0: Memory at <unassigned> (64-bit, prefetchable)');
    expect(out).toContain('Region 2: Memory at <unassigned> (64-bit, prefetchable)');
  });

  it.runIf(HAS_LSPCI)('still decodes cleanly after a guest enabled everything', () => {
    const g = guest().up();
    g.setCfg(0x10, 0xfd000000);
    const out = lspci(g.vdev.pci.toLspciDump('00:02.0'));
    for (const v of VERDICTS) expect(out).not.toContain(v);
    expect(out).toContain('Control: I/O- Mem+ BusMaster+');
    expect(out).toContain('MSI-X: Enable+ Count=2 Masked-');
    expect(out).toContain('PASIDCtl: Enable+ Exec- Priv+');
    expect(out).toContain('ATSCtl:\tEnable+');
  });
});

describe('config space vector count', () => {
  it('follows the parent\'s vector option in MSI-X and in the VFIO MSI-X index', () => {
    const g = openGuest(parentRig({ parent: { vectors: 5 } }), DWQ);
    expect(g.cfg(0x42, 2) & 0x7ff).toBe(4);
    expect(g.dev.getIrqInfo(2).count).toBe(5);
  });
});
