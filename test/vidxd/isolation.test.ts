/**
 * Isolation of two vdevs on one shared WQ (vidxd-device.md §7.4, §5.2 last paragraph, §8.3): each
 * submits hostile descriptors — another PASID, batch lists and record addresses where the other keeps
 * its own, the other's interrupt handle, drain/abort of the other's PASID — and never reads or writes
 * the other's memory, completes or aborts its work, or receives its interrupts or errors.
 */
import { describe, expect, it } from 'vitest';
import { Command, Desc, Opcode, Status, SubmitStatus } from '../../src/dsa/index.js';
import { VdevErrorCode } from '../../src/vidxd/index.js';
import { desc, memmove, noop } from '../dsa/device-fixtures.js';
import { createVdev, Guest, parentRig, SWQ } from './fixtures.js';

/** A parent whose only mediated WQ is one shared WQ, and two guests on it, both using guest PASID 5. */
function twoOnOneWq(): { rig: ReturnType<typeof parentRig>; a: Guest; b: Guest } {
  const rig = parentRig({ config: { groups: [{ id: 0, engines: [0, 1] }], wqs: [{ id: 0, group: 0, mode: 'shared', size: 64, mediated: true }], userInterrupts: true } });
  const a = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 5 });
  const b = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 5 });
  expect([a.vdev.wq, a.vdev.hostPasid === b.vdev.hostPasid]).toEqual([b.vdev.wq, false]);
  return { rig, a, b };
}

/** B's own work: a descriptor list at 0x40000 copying 0x10000 → 0x11000, run by a batch with its record at 0x50000. */
function bWork(b: Guest, handle: number): Uint8Array {
  b.mem.bytes.fill(0xbb, 0x10000, 0x10100);
  b.mem.bytes.set(memmove(0x10000, 0x11000, 0x100, { pasid: 5 }), 0x40000);
  b.mem.bytes.set(noop(0x50020, { pasid: 5 }), 0x40040);
  return desc(Opcode.BATCH, { [Desc.SRC]: 0x40000, [Desc.XFER_SIZE]: 2 }, { cr: 0x50000, handle, pasid: 5 });
}

describe('two vdevs on one shared WQ', () => {
  it('hostile descriptors of one never touch the other\'s memory, records, interrupts or work', () => {
    const { rig, a, b } = twoOnOneWq();
    const ha = a.handle(1);
    const hb = b.handle(1);
    a.mem.bytes.fill(0xaa);
    const bBatch = bWork(b, hb);
    expect(b.submit(bBatch)).toBe(SubmitStatus.ACCEPTED);
    const bImage = b.mem.bytes.slice();

    // 1. Another guest PASID, and B's host PASID as a guest PASID: rejected at the portal, never run.
    expect(a.submit(noop(0x50000, { pasid: 6 }))).toBe(SubmitStatus.DROPPED);
    expect(a.submit(noop(0x50000, { pasid: b.vdev.hostPasid }))).toBe(SubmitStatus.DROPPED);
    expect(a.swerrCode()).toBe(VdevErrorCode.PASID_REJECTED);
    a.ack();
    // 2. A batch whose list and record sit at B's addresses: A's own memory at those IOVAs is read and written.
    a.submit(desc(Opcode.BATCH, { [Desc.SRC]: 0x40000, [Desc.XFER_SIZE]: 2 }, { cr: 0x50000, pasid: 5 }));
    // 3. A copy from B's source to B's destination, and records at B's record addresses.
    a.submit(memmove(0x10000, 0x11000, 0x100, { cr: 0x50020, pasid: 5 }));
    // 4. B's interrupt handle.
    a.submit(noop(0x50040, { pasid: 5, handle: hb }));
    // 5. Addresses beyond A's mappings (B could map them; A does not): fault in A only.
    a.ioas.unmap({ iova: 0, size: 0x100000, flags: 0 });
    a.ioas.map({ iova: 0, size: 0x80000, memory: a.mem, offset: 0, flags: 3 });
    a.submit(memmove(0x10000, 0x90000, 0x100, { cr: 0x50060, pasid: 5 }));
    a.submit(noop(0x90000, { pasid: 5, handle: ha }));
    // 6. Drain and abort of B's PASID (the same guest PASID number, and B's host PASID): only A's work is concerned.
    expect(a.cmd(Command.ABORT_PASID, b.vdev.hostPasid)).toBe(0);
    expect(a.cmd(Command.DRAIN_PASID, b.vdev.hostPasid)).toBe(0);
    expect(b.vdev.occupancy).toBe(1);
    expect(a.cmd(Command.ABORT_ALL)).toBe(0);
    expect([a.vdev.occupancy, b.vdev.occupancy]).toEqual([0, 1]);
    // A's hostile work again, now left to run.
    a.submit(desc(Opcode.BATCH, { [Desc.SRC]: 0x40000, [Desc.XFER_SIZE]: 2 }, { cr: 0x50000, pasid: 5 }));
    a.submit(memmove(0x10000, 0x11000, 0x100, { cr: 0x50020, pasid: 5 }));
    a.submit(noop(0x50040, { pasid: 5, handle: hb }));
    a.submit(memmove(0x10000, 0x90000, 0x100, { cr: 0x50060, pasid: 5 }));
    expect(a.cmd(Command.DRAIN_PASID, 5)).toBe(0x80000000);
    expect(b.r32(0xa8) >>> 31).toBe(0); // B has no command waiting
    rig.dev.runUntilIdle();
    expect(a.r32(0xa8)).toBe(0);

    // B: its batch ran in its own memory, its record and interrupt are its own, nothing else changed.
    expect(b.status(0x50000)).toBe(Status.SUCCESS);
    expect(b.mem.bytes.subarray(0x11000, 0x11100).every((x) => x === 0xbb)).toBe(true);
    const changed: number[] = [];
    for (let i = 0; i < bImage.length; i++) if (b.mem.bytes[i] !== bImage[i] && !(i >= 0x11000 && i < 0x11100) && !(i >= 0x50000 && i < 0x50040)) changed.push(i);
    expect(changed).toEqual([]);
    expect([b.interrupts(), b.swerrCode()]).toEqual([[0, 1], -1]);

    // A: everything happened in A's memory (all 0xAA there: the batch list decodes as garbage), or faulted.
    expect(a.status(0x50000)).not.toBe(0);
    expect(a.status(0x50020)).toBe(Status.SUCCESS);
    expect(a.mem.bytes.subarray(0x11000, 0x11100).every((x) => x === 0xaa)).toBe(true);
    expect(a.status(0x50040)).toBe(Status.INT_HANDLE_INVAL);
    expect(a.status(0x50060) & 0x3f).toBe(Status.PAGE_FAULT_NOBOF);
    expect(a.fds[1]?.count).toBe(0);
  });

  it('VFIO reset, close and remove of one vdev leave the other\'s queued work and translation alone', () => {
    const { rig, a, b } = twoOnOneWq();
    const hb = b.handle(1);
    b.submit(noop(0x50000, { pasid: 5, handle: hb }));
    a.submit(noop(0x50000, { pasid: 5 }));
    a.dev.reset();
    expect([a.vdev.occupancy, b.vdev.occupancy]).toEqual([0, 1]);
    a.up({ pasid: 5 });
    a.submit(noop(0x50000, { pasid: 5 }));
    a.dev.close();
    rig.bus.remove(uuidOf(rig, a));
    expect(b.vdev.occupancy).toBe(1);
    expect(b.submit(noop(0x50020, { pasid: 5 }))).toBe(SubmitStatus.ACCEPTED);
    rig.dev.runUntilIdle();
    expect([b.status(0x50000), b.status(0x50020), b.interrupts()]).toEqual([Status.SUCCESS, Status.SUCCESS, [0, 1]]);
    expect(a.mem.bytes[0x50000]).toBe(0);
  });
});

function uuidOf(rig: ReturnType<typeof parentRig>, g: Guest): string {
  for (const d of rig.bus.devices()) if (rig.parent.vdev(d.uuid) === g.vdev) return d.uuid;
  throw new Error('no such vdev');
}
