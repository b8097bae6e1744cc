/**
 * The whole DSA PF model as a pass-through VFIO device, as vfio-pci presents it: a guest driver finds,
 * configures and uses it through the VFIO device API only (config region, BAR0 region or mapping, a
 * mapping of BAR2, SET_IRQS).
 */
import { describe, expect, it } from 'vitest';
import { Command, DsaDevice, PortalWindow, Status } from '../../src/dsa/index.js';
import { GuestMemory } from '../../src/memory/index.js';
import { EventFd, regionOffset, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VfioDevice, VfioIoas } from '../../src/vfio/index.js';
import { type PfMapping, pfVfioOps } from '../../src/vidxd/index.js';
import { memmove } from '../dsa/device-fixtures.js';

class PfGuest {
  readonly model = new DsaDevice();
  readonly dev = new VfioDevice<PfMapping>(pfVfioOps(this.model));
  readonly mem = new GuestMemory(1 << 20);
  readonly ioas = new VfioIoas();
  readonly fds = Array.from({ length: 9 }, () => new EventFd());

  rd(index: number, offset: number): number {
    const b = new Uint8Array(4);
    this.dev.readRegion(index, offset, b);
    return new DataView(b.buffer).getUint32(0, true);
  }

  wr(index: number, offset: number, value: number, size: 2 | 4 = 4): void {
    const b = new Uint8Array(size);
    for (let i = 0; i < size; i++) b[i] = (value >>> (8 * i)) & 0xff;
    this.dev.writeRegion(index, offset, b);
  }

  cmd(code: number, operand = 0): number {
    this.wr(0, 0xa0, ((code << 20) | operand) >>> 0);
    return this.rd(0, 0xa8);
  }

  /** A driver's bring-up of WQ 0 (dedicated, 16 entries) with engine 0, MSI-X on, memory mapped. */
  up(): this {
    this.wr(7, 0x04, 0x0006, 2);
    const offsets = this.rd(0, 0x60);
    const grpcfg = (offsets & 0xffff) * 0x100;
    const wqcfg = (offsets >>> 16) * 0x100;
    this.wr(0, grpcfg, 1);
    this.wr(0, grpcfg + 0x20, 1);
    this.wr(0, wqcfg, 16);
    this.wr(0, wqcfg + 8, 0x11);
    this.wr(0, wqcfg + 12, 31 | (10 << 5));
    expect(this.cmd(Command.ENABLE_DEVICE)).toBe(0);
    expect(this.cmd(Command.ENABLE_WQ, 0)).toBe(0);
    let cap = this.rd(7, 0x34) & 0xff;
    while ((this.rd(7, cap) & 0xff) !== 0x11) cap = (this.rd(7, cap) >>> 8) & 0xff;
    const table = this.rd(7, cap + 4) & ~7;
    this.wr(7, cap + 2, 0x8000, 2);
    for (let v = 0; v < 9; v++) this.wr(0, table + 16 * v + 12, 0);
    this.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 9, data: this.fds });
    if (this.dev.ioas === null) {
      this.ioas.map({ iova: 0, size: 1 << 20, memory: this.mem, offset: 0, flags: 3 });
      this.dev.attachIoas(this.ioas);
    }
    return this;
  }
}

describe('the DSA PF as a pass-through VFIO device', () => {
  it('exposes the model\'s config space, 64 KiB BAR0 mappable around the MSI-X table and PBA, 128 KiB BAR2 mappable whole, and its MSI-X vectors', () => {
    const g = new PfGuest();
    expect(g.rd(7, 0)).toBe(0x0b258086);
    const bar0 = g.dev.getRegionInfo(0);
    expect([bar0.size, bar0.flags]).toEqual([0x10000, 0xf]);
    expect(bar0.caps[0]?.id === 1 ? bar0.caps[0].areas : []).toEqual([{ offset: 0, size: 0x9000 }, { offset: 0xb000, size: 0x5000 }]);
    const bar2 = g.dev.getRegionInfo(2);
    expect([bar2.size, bar2.flags, bar2.caps]).toEqual([0x20000, 0x7, []]);
    expect(g.dev.getIrqInfo(2).count).toBe(9);
    // vfio-pci opens a device with memory decode on and bus mastering off: BAR0 answers at once.
    expect(g.rd(7, 0x04) & 0xffff).toBe(0x0002);
    expect(g.rd(0, 0)).toBe(0x100);
    g.wr(7, 0x04, 0x0000, 2);
    expect(g.rd(0, 0)).toBe(0xffffffff); // memory decode off: the model's BAR0 answers all ones
  });

  it('a guest driver configures a WQ through BAR0, submits through the mapped portal and gets its record and interrupt', () => {
    const g = new PfGuest().up();
    const portal = g.dev.mmap(regionOffset(2), 0x1000);
    expect(portal).toBeInstanceOf(PortalWindow);
    const page = (portal as PortalWindow).portalAt(0);
    expect([page?.wq, page?.limited, page?.ims]).toEqual([0, false, false]);
    g.mem.bytes.fill(0x3c, 0x1000, 0x1200);
    (portal as PortalWindow).submit(memmove(0x1000, 0x8000, 0x200, { cr: 0x9000, handle: 1 }), 0);
    expect(g.model.runUntilIdle()).toBe(1);
    expect([g.mem.bytes[0x9000], g.mem.bytes[0x81ff], g.fds[1]?.count]).toEqual([Status.SUCCESS, 0x3c, 1]);
    // The trapped path: a 64-byte write to the portal page is a MOVDIR64B.
    g.dev.writeRegion(2, 0x40, memmove(0x1000, 0xa000, 0x10, { cr: 0x9020, handle: 1 }));
    g.model.runUntilIdle();
    expect([g.mem.bytes[0x9020], g.fds[1]?.count]).toEqual([Status.SUCCESS, 2]);
    const ff = new Uint8Array(8);
    g.dev.readRegion(2, 0x1000, ff);
    expect(ff.every((b) => b === 0xff)).toBe(true);
  });

  it('takes a trapped slot as eight aligned 8-byte writes, as QEMU\'s vfio-user-pci forwards a guest\'s portal stores; a reset or FLR forgets a half-written slot', () => {
    const g = new PfGuest().up();
    const pieces = (desc: Uint8Array, slot: number, order: readonly number[]): void => {
      for (const q of order) g.dev.writeRegion(2, slot + 8 * q, desc.subarray(8 * q, 8 * q + 8));
    };
    g.mem.bytes.fill(0x5e, 0x1000, 0x1100);
    // Slot 1 of WQ 0's portal page, the qwords out of order: nothing is submitted before the eighth.
    const a = memmove(0x1000, 0x8000, 0x100, { cr: 0x9000, handle: 1 });
    pieces(a, 0x40, [7, 0, 1, 2, 3, 4, 5]);
    expect(g.model.runUntilIdle()).toBe(0);
    pieces(a, 0x40, [6]);
    expect(g.model.runUntilIdle()).toBe(1);
    expect([g.mem.bytes[0x9000], g.mem.bytes[0x80ff], g.fds[1]?.count]).toEqual([Status.SUCCESS, 0x5e, 1]);
    // A misaligned or odd-sized piece is refused by the region, not half-taken.
    expect(() => g.dev.writeRegion(2, 0x44, new Uint8Array(8))).toThrow(/EINVAL/);
    expect(() => g.dev.writeRegion(2, 0x40, new Uint8Array(4))).toThrow(/EINVAL/);
    // Seven pieces, then a VFIO reset: the eighth after the reset completes nothing.
    const b = memmove(0x1000, 0xa000, 0x10, { cr: 0x9020, handle: 1 });
    pieces(b, 0x80, [0, 1, 2, 3, 4, 5, 6]);
    g.dev.reset();
    g.up();
    pieces(b, 0x80, [7]);
    expect(g.model.runUntilIdle()).toBe(0);
    // The same across the guest's FLR through PCIe DevCtl.
    pieces(b, 0xc0, [0, 1, 2, 3, 4, 5, 6]);
    g.wr(7, 0x48, 0x8000, 2);
    g.up();
    pieces(b, 0xc0, [7]);
    expect([g.model.runUntilIdle(), g.mem.bytes[0x9020]]).toEqual([0, 0]);
    // A whole 64-byte write still goes at once, and replaces the half-written slot under it.
    pieces(b, 0x100, [0, 1, 2]);
    g.dev.writeRegion(2, 0x100, b);
    pieces(b, 0x100, [3, 4, 5, 6, 7]);
    expect([g.model.runUntilIdle(), g.mem.bytes[0x9020]]).toEqual([1, Status.SUCCESS]);
  });

  it('gates MSI-X on bus mastering as the model does, and resets the whole function on VFIO reset', () => {
    const g = new PfGuest().up();
    expect(g.cmd(Command.DISABLE_DEVICE)).toBe(0);
    g.wr(7, 0x04, 0x0002, 2); // bus mastering off (the device is Disabled: no halt)
    g.wr(0, 0xa0, 0x81f00000); // an invalid command that asks for its completion interrupt
    expect([g.fds[0]?.count, g.rd(0, 0xa000) & 1]).toEqual([0, 1]);
    g.wr(7, 0x04, 0x0006, 2);
    expect([g.fds[0]?.count, g.rd(0, 0xa000) & 1]).toEqual([1, 0]);
    g.dev.reset();
    expect([g.rd(7, 0x04) & 0xffff, g.model.state, g.dev.ioas]).toEqual([0, 0, g.ioas]);
  });

  it('Linux\'s recovery: halted by bus mastering cleared (reset type FLR), the guest\'s FLR through config space returns it to Disabled and fully usable', () => {
    const g = new PfGuest().up();
    expect((g.rd(7, 0x44) >>> 28) & 1).toBe(1); // DevCap (PCIe capability at 0x40): function-level reset capable
    const portal = g.dev.mmap(regionOffset(2), 0x1000) as PortalWindow;
    portal.submit(memmove(0x1000, 0x8000, 0x200, { cr: 0x9000, handle: 1 }), 0); // queued, not run yet
    g.wr(7, 0x04, 0x0002, 2);
    expect([g.rd(0, 0x90) & 3, (g.rd(0, 0x90) >>> 2) & 3]).toEqual([3, 1]);
    g.wr(7, 0x48, 0x8000, 2); // DevCtl: initiate FLR
    expect([g.rd(7, 0x48) & 0x8000, g.rd(7, 0x04) & 0xffff, g.model.state, g.model.wqs[0]?.enabled]).toEqual([0, 0, 0, false]);
    g.model.runUntilIdle();
    expect([g.mem.bytes[0x9000], g.fds[1]?.count]).toEqual([0, 0]); // the queued descriptor was dropped: no record, no interrupt
    expect(g.dev.irqStatus(2).triggers.every((t) => t !== null)).toBe(true); // triggers survive, as VFIO reset keeps them
    g.up();
    portal.submit(memmove(0x1000, 0x8000, 0x200, { cr: 0x9000, handle: 1 }), 0);
    g.model.runUntilIdle();
    expect([g.mem.bytes[0x9000], g.fds[1]?.count]).toEqual([Status.SUCCESS, 1]);
  });
});
