/** Interrupts of the vdev (vidxd-device.md §8; vfio-uapi.md §5): vector 0 causes, delivery through SET_IRQS triggers alone, forwarded errors. */
import { describe, expect, it } from 'vitest';
import { Command, Desc, Flag, Opcode, Status, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import {
  EventFd, VFIO_IRQ_SET_ACTION_MASK, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_MSIX_IRQ_INDEX as MSIX, VfioError,
} from '../../src/vfio/index.js';
import { memmove, noop } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, openGuest, parentRig, SWQ } from './fixtures.js';

/** A descriptor with an unsupported opcode and no completion record: its error goes to SWERR. */
function badOpcode(pasid: number): Uint8Array {
  const b = new Uint8Array(64);
  writeDescHeader(new DataView(b.buffer), 0, 0x7f, 0, pasid, false);
  return b;
}

describe('IRQ indices', () => {
  it('INTx 0, MSI 0, MSI-X = vectors, ERR 1, REQ 1 (vfio-uapi.md §5.1)', () => {
    const g = openGuest(parentRig(), DWQ);
    expect([0, 1, 2, 3, 4].map((i) => [g.dev.getIrqInfo(i).count, g.dev.getIrqInfo(i).flags])).toEqual([[0, 0x7], [0, 0x9], [2, 0x9], [1, 0x9], [1, 0x9]]);
    expect(() => g.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, index: MSIX, start: 0, count: 1 })).toThrow(VfioError);
  });
});

describe('vector 0', () => {
  it('records command completion, software error and halt in INTCAUSE before signalling; error and halt only when GENCTRL enables them', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up({ errorInts: false });
    g.submit(noop(0x3000));
    g.cmd(Command.DRAIN_ALL);
    g.cmd(Command.DRAIN_ALL); // SWERR 0x52, no interrupt: GENCTRL.softerr_int_en = 0
    expect([g.swerrCode(), g.r32(0x98), g.interrupts()]).toEqual([0x52, 0, [0, 0]]);
    rig.dev.runUntilIdle();
    g.ack();
    g.w32(0x88, 1);
    g.submit(noop(0x3020));
    g.cmd(Command.DRAIN_ALL, 0, true);
    g.cmd(Command.DRAIN_ALL);
    expect([g.r32(0x98), g.interrupts()]).toEqual([1, [1, 0]]);
    rig.dev.runUntilIdle();
    expect([g.r32(0x98), g.interrupts()]).toEqual([3, [1, 0]]);
    g.setCfg(0x04, 0x0002, 2); // halt, interrupt disabled
    expect([g.r32(0x98) & 0x10, g.interrupts()]).toEqual([0, [1, 0]]); // no halt cause; the 0x51 error (an overflow) interrupts
    g.cmd(Command.RESET_DEVICE);
    g.pciOn();
    g.w32(0x88, 2);
    g.ack();
    g.cmd(Command.ENABLE_DEVICE);
    g.setCfg(0x04, 0x0002, 2);
    expect([g.r32(0x98), g.interrupts()]).toEqual([0x10, [1, 0]]);
  });
});

describe('MSI-X delivery (§8.1: through the SET_IRQS trigger alone)', () => {
  it('a raised vector reaches its trigger whatever the vdev\'s table says: entry masked, function masked, MSI-X disabled', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up();
    const h = g.handle(1);
    g.w32(0x61c, 1);
    g.setCfg(0x42, 0x4000, 2); // function mask on, MSI-X enable off
    g.submit(noop(0x3000, { handle: h }));
    g.cmd(Command.DRAIN_ALL, 0, true);
    rig.dev.runUntilIdle();
    expect([g.interrupts(), g.r32(0x700)]).toEqual([[1, 1], 0]);
    // Unmasking and enabling deliver nothing more: nothing was held.
    g.w32(0x61c, 0);
    g.setCfg(0x42, 0x8000, 2);
    expect([g.interrupts(), g.r32(0x700)]).toEqual([[0, 0], 0]);
  });

  it('a raised vector without a trigger is dropped: nothing pends, and a trigger installed later receives nothing', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ);
    g.pciOn();
    g.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: MSIX, start: 1, count: 1, data: [new EventFd()] });
    g.cmd(Command.DRAIN_ALL, 0, true);
    expect([g.r32(0x98), g.r32(0x700)]).toEqual([2, 0]); // INTCAUSE records the completion; vector 0 had no trigger
    const fd = new EventFd();
    g.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: MSIX, start: 0, count: 1, data: [fd] });
    expect(fd.count).toBe(0);
    g.cmd(Command.DRAIN_ALL, 0, true);
    expect(fd.count).toBe(1);
  });

  it('nothing else gates it either: with bus mastering off (the vdev Disabled) a command\'s completion interrupt still arrives', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ);
    g.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: MSIX, start: 0, count: 2, data: g.fds });
    expect(g.cfg(0x04, 2)).toBe(0);
    g.cmd(Command.DRAIN_ALL, 0, true);
    expect(g.interrupts()).toEqual([1, 0]);
  });

  it('the MSI-X table at 0x600 is guest-visible storage: what the guest writes reads back and gates nothing', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up();
    g.w32(0x600, 0xfee00000);
    g.w32(0x608, 0x4041);
    g.w32(0x60c, 1);
    expect([g.r32(0x600), g.r32(0x608), g.r32(0x60c)]).toEqual([0xfee00000, 0x4041, 1]);
    g.cmd(Command.DRAIN_ALL, 0, true);
    expect(g.interrupts()).toEqual([1, 0]);
  });
});

describe('errors the parent reports for the vdev (§8.2)', () => {
  it('land in the vdev\'s SWERR with the guest\'s PASID and WQ index 0, then interrupt', () => {
    const rig = parentRig();
    createVdev(rig, DWQ);
    const g = new Guest(rig, createVdev(rig, DWQ).uuid).up({ pasid: 0x321, pasidEn: true }); // backed by host WQ 1
    expect(g.vdev.wq.id).toBe(1);
    g.submit(badOpcode(0));
    rig.dev.runUntilIdle();
    const d = g.swerr();
    expect(d[0]).toBe(0x100d); // valid, descriptor valid, WQ index valid; code 0x10; WQ index 0
    expect(d[1]).toBe((0x321 << 8) | 0x7f);
    expect(g.interrupts()).toEqual([1, 0]);
    expect(rig.dev.bar0.read32(0xc0) & 1).toBe(0); // the parent's SWERR was taken and acknowledged
  });

  it('a misaligned record address (0x1B), then overflow with another interrupt; a record-address fault (0x1A) carries the address', () => {
    const rig = parentRig();
    const g = openGuest(rig, SWQ).up({ pasid: 5 });
    g.submit(noop(0x3008, { pasid: 5 }));
    rig.dev.runUntilIdle();
    expect([g.swerrCode(), g.r32(0xc4) >>> 8, g.interrupts()]).toEqual([Status.CRA_ALIGN, 5, [1, 0]]);
    g.submit(noop(0x3008, { pasid: 5 }));
    rig.dev.runUntilIdle();
    expect([g.r32(0xc0) & 3, g.interrupts()]).toEqual([3, [1, 0]]); // overflow, and the interrupt again (§8.2)
    g.ack();
    g.submit(noop(0x200000, { pasid: 5 })); // beyond the guest's 1 MiB of mappings
    rig.dev.runUntilIdle();
    expect([g.swerrCode(), g.r32(0xd0), (g.r32(0xc0) >>> 5) & 1]).toEqual([Status.CRA_XLAT, 0x200000, 1]);
  });

  it('a page fault of a descriptor without a record reports the faulting address and direction', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up();
    const d = memmove(0x1000, 0x180000, 0x100);
    const v = new DataView(d.buffer);
    writeDescHeader(v, 0, Opcode.MEMMOVE, Flag.CRAV & 0, 0, false);
    writeDescAddr(v, 0, Desc.DST, 0x180000);
    g.submit(d);
    rig.dev.runUntilIdle();
    expect([g.swerrCode(), g.r32(0xd0), (g.r32(0xc0) >>> 5) & 1]).toEqual([Status.PAGE_FAULT_NOBOF, 0x180000, 1]);
  });
});
