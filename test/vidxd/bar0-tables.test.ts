/** BAR0 tables of the vdev (vidxd-device.md §4, §6, §11.10): MSIX_PERM, GRPCFG, WQCFG, MSI-X table and PBA. */
import { describe, expect, it } from 'vitest';
import { Command } from '../../src/dsa/index.js';
import { noop } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, openGuest, parentRig, SWQ } from './fixtures.js';

const wqcfg = (g: Guest): number[] => Array.from({ length: 8 }, (_, k) => g.r32(0x500 + 4 * k));

describe('MSIX_PERM (0x300)', () => {
  it('has one entry per vector whose pasid_en (bit 3) and pasid (31:12) are the only writable bits', () => {
    const g = openGuest(parentRig(), DWQ);
    g.w32(0x300, 0xffffffff);
    g.w32(0x304, 0xffffffff);
    g.w32(0x308, 0x12345008);
    expect([g.r32(0x300), g.r32(0x304), g.r32(0x308), g.r32(0x310)]).toEqual([0xfffff008, 0, 0x12345008, 0]);
  });
});

describe('GRPCFG (0x400)', () => {
  it('shows WQ 0 and the backing group\'s engines and flags, read-only', () => {
    const rig = parentRig();
    const d = new Guest(rig, createVdev(rig, DWQ).uuid);
    const s = new Guest(rig, createVdev(rig, SWQ).uuid);
    for (const [g, group] of [[d, 0], [s, 1]] as const) {
      const flags = rig.host.groupFlags(group);
      const image = () => Array.from({ length: 12 }, (_, k) => g.r32(0x400 + 4 * k));
      expect(image()).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0x3, 0, flags[0], flags[1]]);
      for (let k = 0; k < 16; k++) g.w32(0x400 + 4 * k, 0xffffffff);
      expect(image()).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0x3, 0, flags[0], flags[1]]);
    }
    expect(s.r32(0x428) & 0x3f).toBe(2 | (3 << 3)); // traffic classes 2 and 3 of group 1
    expect(d.r32(0x428) & 0x3f).toBe(1 | (1 << 3));
  });
});

describe('WQCFG (0x500)', () => {
  it('dedicated: the backing WQ\'s size, mode, priority, shifts; pasid 0, pasid_en 0, priv 0; mode_support 1', () => {
    const rig = parentRig();
    const a = new Guest(rig, createVdev(rig, DWQ).uuid);
    const b = new Guest(rig, createVdev(rig, DWQ).uuid);
    expect(wqcfg(a)).toEqual([16, 0, 0xa1, 0x15f, 0, 0, 1 << 29, 0]);
    expect(wqcfg(b)).toEqual([8, 0, 0x53, 0x154, 0, 0, 1 << 29, 0]); // WQ 1: priority 5, block on fault, 2^20 transfers
  });

  it('shared: the WQ\'s size and threshold, mode 0, pasid_en 1', () => {
    const g = openGuest(parentRig(), SWQ);
    expect(wqcfg(g)).toEqual([32, 24, 0x100000a0, 0x15f, 0, 0, 1 << 29, 0]);
  });

  it('dedicated: only pasid, pasid_en and priv are writable, and only while the WQ is disabled (§11.10)', () => {
    const g = openGuest(parentRig(), DWQ);
    for (let k = 0; k < 8; k++) g.w32(0x500 + 4 * k, 0xffffffff);
    expect(wqcfg(g)).toEqual([16, 0, 0x3fffffa1, 0x15f, 0, 0, 1 << 29, 0]);
    g.write(0, 0x508, 0xfe, 1); // mode and priority stay
    g.write(0, 0x50b, 0x00, 1);
    expect(g.r32(0x508)).toBe(0x00ffffa1);
    g.wqcfgPasid(5, true, false);
    g.up({ pasid: 5, pasidEn: true });
    const enabled = wqcfg(g);
    expect(enabled[2]).toBe(0x100005a1);
    expect(enabled[6]).toBe((1 << 29) | (1 << 30));
    g.w32(0x508, 0);
    g.write(0, 0x50b, 0, 1);
    expect(g.r32(0x508)).toBe(0x100005a1);
  });

  it('shared: pasid_en reads 1 whatever is written; pasid and priv writable while disabled', () => {
    const g = openGuest(parentRig(), SWQ);
    g.w32(0x508, 0);
    expect(g.r32(0x508)).toBe(0x100000a0);
    g.w32(0x508, 0xffffffff);
    expect(g.r32(0x508)).toBe(0x3fffffa0);
  });

  it('reports this vdev\'s descriptors in the backing WQ as occupancy, live, and the WQ state', () => {
    const rig = parentRig();
    const a = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 3 });
    const b = new Guest(rig, createVdev(rig, SWQ).uuid); // WQ 3: the least used
    expect(b.vdev.wq.id).toBe(3);
    const c = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 3 }); // WQ 2 again, with a
    expect(c.vdev.wq.id).toBe(2);
    for (let i = 0; i < 3; i++) a.submit(noop(0x3000 + 32 * i, { pasid: 3 }));
    c.submit(noop(0x3000, { pasid: 3 }));
    expect([a.r32(0x518) & 0xffff, c.r32(0x518) & 0xffff, b.r32(0x518)]).toEqual([3, 1, 1 << 29]);
    expect(a.r32(0x518) >>> 30).toBe(1);
    rig.dev.runUntilIdle();
    expect([a.r32(0x518) & 0xffff, c.r32(0x518) & 0xffff]).toEqual([0, 0]);
    expect(a.cmd(Command.DISABLE_WQ, 1)).toBe(0);
    expect(a.r32(0x518)).toBe(1 << 29);
  });
});

describe('MSI-X table (0x600) and PBA (0x700)', () => {
  it('masks every vector at reset, keeps address, data and mask writable, reserved bits not', () => {
    const g = openGuest(parentRig(), SWQ);
    expect(Array.from({ length: 8 }, (_, k) => g.r32(0x600 + 4 * k))).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
    g.w32(0x610, 0xffffffff);
    g.w32(0x614, 0xffffffff);
    g.w32(0x618, 0xffffffff);
    g.w32(0x61c, 0xffffffff);
    expect([g.r32(0x610), g.r32(0x614), g.r32(0x618), g.r32(0x61c)]).toEqual([0xfffffffc, 0xffffffff, 0xffffffff, 1]);
  });

  it('keeps the PBA as read-only storage: a raised vector never sets it (§8.1); a restored bit reads back', () => {
    const g = openGuest(parentRig(), DWQ);
    g.vdev.msix.notify(1);
    expect(g.r32(0x700)).toBe(0);
    const image = new Uint8Array(g.vdev.msix.stateSize);
    g.vdev.msix.saveState(image);
    image[g.vdev.msix.tableSize] = 2; // migration state: the PBA bytes follow the table
    g.vdev.msix.loadState(image);
    expect(g.r32(0x700)).toBe(2);
    g.w32(0x700, 0);
    expect(g.r64(0x700)).toEqual([2, 0]);
  });
});
