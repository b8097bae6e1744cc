/**
 * Resetting or reconfiguring the parent under open vdevs (vidxd-device.md §7.4, §9; issue 16 item 3):
 * `IdxdHost.resetDevice()` and `load()` refuse with EBUSY naming what the vdevs hold — or, with
 * `{ force: true }`, the vdevs give everything back first and halt, so that no WQ, PASID or interrupt
 * entry ever serves two vdevs and a stale release frees nothing of the next user.
 */
import { describe, expect, it } from 'vitest';
import { Command, Desc, Opcode, Status, SubmitStatus } from '../../src/dsa/index.js';
import { HostBusyError } from '../../src/host/index.js';
import { desc, noop } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, openGuest, PARENT_CONFIG, parentRig, SWQ } from './fixtures.js';

function thrown(body: () => void): unknown {
  try {
    body();
  } catch (e) {
    return e;
  }
  return null;
}

describe('the parent reset or reconfigured under open vdevs', () => {
  it('resetDevice and load refuse with EBUSY (HostBusyError) naming the WQs claimed, the PASIDs and the interrupt handles held, and change nothing', () => {
    const rig = parentRig();
    const a = openGuest(rig, DWQ).up({ pasid: 3, pasidEn: true });
    const b = openGuest(rig, SWQ).up({ pasid: 5 });
    const ha = a.handle(1);
    b.handle(1);
    for (const call of [() => rig.host.resetDevice(), () => rig.host.load(PARENT_CONFIG)]) {
      const e = thrown(call);
      expect(e).toBeInstanceOf(HostBusyError);
      const busy = e as HostBusyError;
      expect([busy.code, busy.errno]).toEqual(['EBUSY', 16]);
      expect(busy.held.claimedWqs).toEqual([a.vdev.wq.id]);
      expect(busy.held.pasids).toEqual([{ wq: a.vdev.wq.id, pasid: a.vdev.hostPasid }, { wq: b.vdev.wq.id, pasid: b.vdev.hostPasid }]);
      expect(busy.held.interruptHandles).toHaveLength(2);
      expect(busy.message).toMatch(/WQs claimed: 0; PASIDs in use: .*interrupt-handle entries allocated/);
    }
    // Nothing changed: A's WQ, PASID binding and handle still work.
    expect([a.vdev.wq.owner !== null, a.vdev.wq.pasid, rig.host.wq(0).configured]).toEqual([true, a.vdev.hostPasid, true]);
    expect(a.submit(noop(0x3000, { pasid: 3, handle: ha }))).toBe(SubmitStatus.ACCEPTED);
    rig.dev.runUntilIdle();
    expect([a.status(0x3000), a.interrupts()[1]]).toEqual([Status.SUCCESS, 1]);
  });

  it('once the vdevs are removed, resetDevice and load go through', () => {
    const rig = parentRig();
    const { uuid } = createVdev(rig, DWQ);
    expect(thrown(() => rig.host.resetDevice())).toBeInstanceOf(HostBusyError);
    rig.bus.remove(uuid);
    expect(rig.host.held()).toEqual({ claimedWqs: [], pasids: [], interruptHandles: [] });
    rig.host.resetDevice();
    rig.host.load(PARENT_CONFIG);
    expect(openGuest(rig, DWQ).up().vdev.wq.id).toBe(0);
  });

  it('resetDevice({ force: true }) tears the vdevs down first: work abandoned, everything given back, the vdevs halted; the reloaded parent serves new vdevs only', () => {
    const rig = parentRig();
    const { uuid } = createVdev(rig, DWQ);
    const a = new Guest(rig, uuid).up({ pasid: 3, pasidEn: true });
    const b = openGuest(rig, SWQ).up({ pasid: 5 });
    const ha = a.handle(1);
    a.submit(desc(Opcode.FILL, { [Desc.SRC]: 0x5a5a5a5a, [Desc.DST]: 0x8000, [Desc.XFER_SIZE]: 0x100 }, { cr: 0x9000, pasid: 3 }));
    rig.host.resetDevice({ force: true });
    rig.host.load(PARENT_CONFIG);
    rig.dev.runUntilIdle();
    // A's queued work never ran; A and B are halted, hold nothing and answer 0x03.
    expect([a.mem.bytes[0x8000], a.status(0x9000)]).toEqual([0, 0]);
    for (const g of [a, b]) {
      expect([g.vdev.revoked, g.r32(0x90) & 3, g.vdev.heldHandles().every((h) => h === null)]).toEqual([true, 3, true]);
      expect(g.cmd(Command.ENABLE_WQ, 0) & 0xff).toBe(0x03);
      // Neither a reset nor the guest's RESET_DEVICE brings a revoked vdev back.
      g.dev.reset();
      expect([g.cmd(Command.RESET_DEVICE) & 0xff, g.r32(0x90) & 3, g.cmd(Command.ENABLE_DEVICE) & 0xff]).toEqual([0, 3, 0x03]);
    }
    expect(a.interrupts()[0]).toBeGreaterThan(0); // the halt interrupt (GENCTRL enables it)
    // A new vdev takes A's dedicated WQ, A's host PASID and A's handle number; removing A frees none of them.
    const c = openGuest(rig, DWQ).up({ pasid: 3, pasidEn: true });
    const hc = c.handle(1);
    expect([c.vdev.wq.id, c.vdev.hostPasid, hc]).toEqual([a.vdev.wq.id, a.vdev.hostPasid, ha]);
    a.dev.close();
    rig.bus.remove(uuid);
    expect([c.vdev.wq.owner !== null, c.vdev.wq.pasid, rig.host.held().interruptHandles.length]).toEqual([true, c.vdev.hostPasid, 1]);
    expect(c.submit(noop(0x3000, { pasid: 3, handle: hc }))).toBe(SubmitStatus.ACCEPTED);
    rig.dev.runUntilIdle();
    expect([c.status(0x3000), c.interrupts()[1], a.interrupts()[1]]).toEqual([Status.SUCCESS, 1, 0]);
    // B's shared slot is free again for a new vdev.
    expect(rig.parent.availableInstances('shared')).toBe(16);
  });

  it('load({ force: true }) of a disabled parent tears down what is held first (an enabled one is refused before anything is touched)', () => {
    const rig = parentRig();
    const a = openGuest(rig, SWQ).up({ pasid: 5 });
    expect(thrown(() => rig.host.configure(PARENT_CONFIG))).toBeInstanceOf(HostBusyError);
    expect((thrown(() => rig.host.load(PARENT_CONFIG, { force: true })) as { code?: string }).code).toBe('EBUSY');
    expect(a.vdev.revoked).toBe(false);
    rig.host.disable();
    expect(thrown(() => rig.host.load(PARENT_CONFIG))).toBeInstanceOf(HostBusyError);
    rig.host.load(PARENT_CONFIG, { force: true });
    expect([a.vdev.revoked, rig.host.wq(2).attachedPasids(), openGuest(rig, SWQ).up({ pasid: 5 }).vdev.wq.id]).toEqual([true, [], 2]);
  });
});
