/** Lifecycle and reset of the vdev (vidxd-device.md §3.3, §9, §11.12; vfio-uapi.md §6, §10): create, open, close, remove, VFIO reset, IOAS attach, halt. */
import { describe, expect, it } from 'vitest';
import { Command, SoftwareErrorCode, Status, SubmitStatus } from '../../src/dsa/index.js';
import { HostError } from '../../src/host/index.js';
import { EventFd, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VfioError } from '../../src/vfio/index.js';
import { noop } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, openGuest, parentRig, SWQ } from './fixtures.js';

/** Every guest-visible byte: config space and BAR0 (dwords through the VFIO regions). */
function image(g: Guest): number[] {
  const out: number[] = [];
  for (let o = 0; o < 0x1000; o += 4) out.push(g.cfg(o));
  for (let o = 0; o < 0x2000; o += 4) out.push(g.r32(o));
  return out;
}

/** Puts a vdev in a busy, dirty state: enabled, handles, queued work, SWERR, INTCAUSE, MSI-X programmed, config changed. */
function dirty(g: Guest): void {
  g.up({ pasid: 3, pasidEn: true, priv: true });
  g.handle(1);
  g.w32(0x300, 0x3008);
  g.w32(0x600, 0xfee00000);
  g.submit(noop(0x3000, { pasid: 3 }));
  g.cmd(Command.DRAIN_ALL, 0, true);
  g.cmd(Command.DRAIN_ALL);
  g.setCfg(0x0c, 0x10, 1);
  g.setCfg(0x10, 0xfd000000);
}

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('lifecycle of a %s vdev', (_m, type) => {
  it('VFIO reset succeeds and leaves the vdev equal to a fresh one; triggers and the IOAS stay (§9, §11.12)', () => {
    const rig = parentRig();
    const g = openGuest(rig, type);
    const fresh = image(g);
    dirty(g);
    expect(image(g)).not.toEqual(fresh);
    expect(g.dev.reset()).toBeUndefined();
    expect(image(g)).toEqual(fresh);
    expect([g.vdev.occupancy, g.vdev.heldHandles(), g.vdev.wqEnabled, g.vdev.state]).toEqual([0, [null, null], false, 0]);
    expect(g.dev.irqStatus(2).triggers.every((t) => t !== null)).toBe(true);
    expect(g.dev.ioas).toBe(g.ioas);
    rig.dev.runUntilIdle();
    expect(g.status(0x3000)).toBe(0); // aborted: no record
    g.up({ pasid: 3, pasidEn: true });
    g.submit(noop(0x3000, { pasid: 3, handle: g.handle(1) }));
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.interrupts()[1]]).toEqual([Status.SUCCESS, 1]);
  });

  it('a function-level reset through config space (DevCtl bit 15) is exactly VFIO reset; the bit reads 0 (§3.2, §3.3)', () => {
    const rig = parentRig();
    const g = openGuest(rig, type);
    const fresh = image(g);
    expect((g.cfg(0x54) >>> 28) & 1).toBe(1); // DevCap: function-level reset capable
    dirty(g);
    g.setCfg(0x58, g.cfg(0x58, 2) | 0x8000, 2);
    expect(image(g)).toEqual(fresh);
    expect(g.cfg(0x58, 2) & 0x8000).toBe(0);
    expect([g.vdev.occupancy, g.vdev.heldHandles(), g.vdev.wqEnabled, g.vdev.state]).toEqual([0, [null, null], false, 0]);
    expect(g.dev.irqStatus(2).triggers.every((t) => t !== null)).toBe(true);
    expect(g.dev.ioas).toBe(g.ioas);
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.interrupts()]).toEqual([0, [1, 0]]); // aborted: no record, no interrupt (vector 0 once: dirty()'s SWERR 0x52)
  });

  it('Linux\'s recovery: halted by bus mastering cleared (reset type FLR), the guest\'s FLR returns it to Disabled and fully usable', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up({ pasid: 3, pasidEn: true });
    g.handle(1);
    g.setCfg(0x04, 0x0002, 2);
    expect([g.r32(0x90) & 3, (g.r32(0x90) >>> 2) & 3, g.cmd(Command.ENABLE_WQ, 0) & 0xff]).toEqual([3, 1, 0x03]);
    g.ack();
    g.interrupts();
    g.setCfg(0x58, 0x8000, 2);
    expect([g.r32(0x90), g.cfg(0x04, 2), g.vdev.heldHandles()]).toEqual([0, 0, [null, null]]);
    g.up({ pasid: 3, pasidEn: true });
    g.submit(noop(0x3000, { pasid: 3, handle: g.handle(1) }));
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.interrupts(), g.swerrCode()]).toEqual([Status.SUCCESS, [0, 1], -1]);
  });

  it('close aborts the work, removes the triggers, detaches the IOAS and returns to the post-create state; reopen works', () => {
    const rig = parentRig();
    const { uuid } = createVdev(rig, type);
    const g = new Guest(rig, uuid);
    const fresh = image(g);
    dirty(g);
    const stale = g.portal(type === DWQ ? 0 : 1);
    expect(() => rig.bus.open(uuid)).toThrow(VfioError);
    g.dev.close();
    expect(() => g.dev.readRegion(0, 0, new Uint8Array(4))).toThrow(/EBADF/);
    expect([g.vdev.occupancy, g.vdev.space, g.vdev.heldHandles()]).toEqual([0, null, [null, null]]);
    const h = new Guest(rig, uuid);
    expect(image(h)).toEqual(fresh);
    expect(h.dev.irqStatus(2).triggers.every((t) => t === null)).toBe(true);
    h.up({ pasid: 3, pasidEn: true });
    // A mapping of the closed handle reaches nothing, even with the WQ enabled again.
    expect(stale.submit(noop(0x3000, { pasid: 3 }), 0)).toBe(type === DWQ ? SubmitStatus.IGNORED : SubmitStatus.RETRY);
    expect(h.submit(noop(0x3000, { pasid: 3 }))).toBe(SubmitStatus.ACCEPTED);
  });

  it('remove is refused while open (EBUSY, request signalled), then gives the WQ, PASID and handles back', () => {
    const rig = parentRig();
    const before = rig.parent.availableInstances(type === DWQ ? 'dedicated' : 'shared');
    const { uuid, vdev } = createVdev(rig, type);
    const g = new Guest(rig, uuid);
    const req = new EventFd();
    g.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 4, start: 0, count: 1, data: [req] });
    dirty(g);
    expect(() => rig.bus.remove(uuid)).toThrow(/EBUSY/);
    expect(req.count).toBe(1);
    g.dev.close();
    rig.bus.remove(uuid);
    expect(vdev.removed).toBe(true);
    expect(rig.parent.vdev(uuid)).toBeUndefined();
    expect(rig.parent.availableInstances(type === DWQ ? 'dedicated' : 'shared')).toBe(before);
    expect(rig.dev.iommu.space(vdev.hostPasid)).toBeNull();
    expect(rig.host.allocatePasid(null)).toBe(vdev.hostPasid);
    expect(rig.host.allocInterruptHandle(() => {}, null).entry).toBe(0);
    if (type === DWQ) expect([vdev.wq.owner, vdev.wq.pasid, vdev.wq.enabled]).toEqual([null, null, true]);
    else expect(vdev.wq.attachedPasids()).toEqual([]);
  });

  it('an IOAS detached (or never attached) makes every DMA fault; attaching one makes it reach memory', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up({ pasid: 3, pasidEn: true });
    g.dev.detachIoas();
    g.submit(noop(0x3000, { pasid: 3 }));
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.swerrCode()]).toEqual([0, Status.CRA_XLAT]);
    g.ack();
    g.dev.attachIoas(g.ioas);
    g.submit(noop(0x3000, { pasid: 3 }));
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.swerrCode()]).toEqual([Status.SUCCESS, -1]);
  });

  it('clearing bus mastering while Enabled halts: SWERR 0x51, Halt with reset type 1, halt interrupt, work abandoned (§3.3)', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up({ pasid: 3, pasidEn: true });
    g.submit(noop(0x3000, { pasid: 3 }));
    g.cmd(Command.DRAIN_ALL, 0, true);
    g.setCfg(0x04, 0x0002, 2);
    expect([g.r32(0x90), g.swerrCode(), g.r32(0x98), g.r32(0xa8)]).toEqual([0x7, SoftwareErrorCode.PCI_CFG, 0x13, 0x03]);
    expect(g.interrupts()).toEqual([3, 0]); // the error, the waiting command's completion (0x03), the halt
    expect([g.vdev.occupancy, g.r32(0x518) >>> 30]).toEqual([0, 0]);
    expect(g.submit(noop(0x3020, { pasid: 3 }))).not.toBe(SubmitStatus.ACCEPTED);
    expect(g.cmd(Command.RESET_DEVICE)).toBe(0);
    expect(g.r32(0x90)).toBe(0);
    g.pciOn();
    expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0);
  });

  it('clearing bus mastering while Disabled, or other config writes, have no side effect', () => {
    const g = openGuest(parentRig(), type);
    g.pciOn();
    g.setCfg(0x04, 0, 2);
    g.svmOn();
    g.setCfg(0x126, 0, 2);
    expect([g.r32(0x90), g.swerrCode()]).toEqual([0, -1]);
    g.up();
    g.setCfg(0x126, 0, 2);
    g.setCfg(0x106, 0, 2);
    expect([g.r32(0x90), g.swerrCode()]).toEqual([1, -1]);
  });
});

describe('a dedicated WQ is locked to its vdev', () => {
  it('until the vdev is removed: the host cannot claim it, no other vdev gets it', () => {
    const rig = parentRig();
    const { uuid, vdev } = createVdev(rig, DWQ);
    expect(() => vdev.wq.claim({})).toThrow(HostError);
    createVdev(rig, DWQ);
    expect(() => createVdev(rig, DWQ)).toThrow(/ENOSPC/);
    rig.bus.remove(uuid);
    expect(() => vdev.wq.claim({})).not.toThrow();
  });
});
