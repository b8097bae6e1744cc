/** Interrupt-handle commands of the vdev (vidxd-device.md §5.2 rows 13–14, §8.3, §11.9). */
import { describe, expect, it } from 'vitest';
import { Command, Status } from '../../src/dsa/index.js';
import { noop } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, openGuest, parentRig, SWQ } from './fixtures.js';

const IMS = 0x10000;

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('interrupt handles of a %s vdev', (_m, type) => {
  it('REQUEST_INT_HANDLE: 0x41 for vector 0 or beyond the vectors (§11.9), 0x42 with the IMS bit', () => {
    const g = openGuest(parentRig({ parent: { vectors: 3 } }), type);
    expect(g.cmd(Command.REQUEST_INT_HANDLE, 0)).toBe(0x41);
    expect(g.cmd(Command.REQUEST_INT_HANDLE, 3)).toBe(0x41);
    expect(g.cmd(Command.REQUEST_INT_HANDLE, 0xffff)).toBe(0x41);
    expect(g.cmd(Command.REQUEST_INT_HANDLE, 0 | IMS)).toBe(0x41);
    expect(g.cmd(Command.REQUEST_INT_HANDLE, 1 | IMS)).toBe(0x42);
    expect(g.vdev.heldHandles()).toEqual([null, null, null]);
  });

  it('returns the parent\'s handle: an interrupt-handle entry bound to the vdev\'s host PASID, routed to that vector', () => {
    const rig = parentRig({ parent: { vectors: 3 } });
    const g = openGuest(rig, type).up();
    const h1 = g.handle(1);
    const h2 = g.handle(2);
    expect(h1).not.toBe(h2);
    expect(g.handle(1)).toBe(h1); // one handle per vector
    const ims = rig.host.info.offsets.ims;
    const ctl = rig.dev.bar0.read32(ims + 16 * h1 + 12);
    expect([(ctl >>> 3) & 1, ctl >>> 12]).toEqual([1, g.vdev.hostPasid]);
    g.submit(noop(0x3000, { pasid: 7, handle: h2 }));
    g.submit(noop(0x3020, { pasid: 7, handle: h1 }));
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.status(0x3020)]).toEqual([Status.SUCCESS, Status.SUCCESS]);
    expect(g.interrupts()).toEqual([0, 1, 1]);
  });

  it('RELEASE_INT_HANDLE: frees an owned handle once; 0x43 for the IMS bit, an unknown handle, a released one', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up();
    const h = g.handle(1);
    expect(g.cmd(Command.RELEASE_INT_HANDLE, h | IMS)).toBe(0x43);
    expect(g.cmd(Command.RELEASE_INT_HANDLE, h + 100)).toBe(0x43);
    expect(g.cmd(Command.RELEASE_INT_HANDLE, h, true)).toBe(0);
    expect(g.interrupts()).toEqual([1, 0]); // one completion interrupt: the command completed once
    expect(g.cmd(Command.RELEASE_INT_HANDLE, h)).toBe(0x43);
    g.submit(noop(0x3000, { pasid: 7, handle: h }));
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.interrupts()]).toEqual([Status.INT_HANDLE_INVAL, [1, 0]]); // 0x19 also in SWERR
    expect(g.swerrCode()).toBe(Status.INT_HANDLE_INVAL);
  });
});

describe('a parent whose handles come from its own REQUEST_INT_HANDLE (GENCAP.cmd_cap = 1)', () => {
  it.each([
    ['dedicated', DWQ],
    ['shared', SWQ],
  ] as const)('%s: the vdev hands out the parent\'s handle, completions reach the vector, release frees it', (_m, type) => {
    const rig = parentRig({ profile: { commandCapabilities: true } });
    const g = openGuest(rig, type).up();
    const h = g.handle(1);
    g.submit(noop(0x3000, { pasid: 7, handle: h }));
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.interrupts()]).toEqual([Status.SUCCESS, [0, 1]]);
    expect(g.cmd(Command.RELEASE_INT_HANDLE, h)).toBe(0);
    g.submit(noop(0x3020, { pasid: 7, handle: h }));
    rig.dev.runUntilIdle();
    expect(g.status(0x3020)).toBe(Status.INT_HANDLE_INVAL);
  });
});

describe('handles across vdevs', () => {
  it('a vdev cannot release, or complete through, another vdev\'s handle', () => {
    const rig = parentRig();
    const a = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 4 });
    const b = new Guest(rig, createVdev(rig, DWQ).uuid).up();
    const hb = b.handle(1);
    expect(a.cmd(Command.RELEASE_INT_HANDLE, hb)).toBe(0x43);
    a.submit(noop(0x3000, { pasid: 4, handle: hb }));
    rig.dev.runUntilIdle();
    expect([a.status(0x3000), a.swerrCode(), b.swerrCode()]).toEqual([Status.INT_HANDLE_INVAL, Status.INT_HANDLE_INVAL, -1]);
    expect([a.interrupts(), b.interrupts()]).toEqual([[1, 0], [0, 0]]); // a: its software-error interrupt only
    b.submit(noop(0x3000, { handle: hb }));
    rig.dev.runUntilIdle();
    expect([b.status(0x3000), b.interrupts()]).toEqual([Status.SUCCESS, [0, 1]]);
  });

  it('a guest repeating REQUEST_INT_HANDLE cannot drain the parent\'s handle table', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up();
    for (let i = 0; i < 5000; i++) g.cmd(Command.REQUEST_INT_HANDLE, 1);
    expect(rig.host.allocInterruptHandle(() => {}, null).entry).toBe(1);
  });

  it('RESET_DEVICE, VFIO reset and close give every handle back to the parent', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up();
    g.handle(1);
    expect(g.cmd(Command.RESET_DEVICE)).toBe(0);
    expect(g.vdev.heldHandles()).toEqual([null, null]);
    g.up();
    g.handle(1);
    g.dev.reset();
    expect(g.vdev.heldHandles()).toEqual([null, null]);
    g.up();
    g.handle(1);
    g.dev.close();
    expect(g.vdev.heldHandles()).toEqual([null, null]);
    expect(rig.host.allocInterruptHandle(() => {}, null).entry).toBe(0);
  });
});
