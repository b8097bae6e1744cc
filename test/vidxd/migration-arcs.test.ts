/**
 * The vdev's migration arcs (vidxd-device.md §10.1, §10.4; vfio-uapi.md §8): the flags it offers, STOP
 * completing what the WQ accepted and stopping new work (mapped portals answer as a disabled WQ,
 * trapped submissions queue, up to the WQ size, then SWERR 0x53), a cancelled migration losing
 * nothing, the state a destination of a second parent presents, handles revoked and re-requested,
 * MIG_DATA_SIZE, and what a stopped vdev does with BAR0 and config writes.
 */
import { describe, expect, it } from 'vitest';
import { Command, Opcode, SoftwareErrorCode, Status, SubmitStatus } from '../../src/dsa/index.js';
import {
  VFIO_DEVICE_STATE_ERROR, VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY,
} from '../../src/vfio/index.js';
import { memmove, noop } from '../dsa/device-fixtures.js';
import { BAR2, createVdev, DWQ, Guest, parentRig, SWQ } from './fixtures.js';
import { load, migrate, saveFinal, secondParent } from './migration-fixtures.js';

const INTCAUSE = 0x98;
const REVOKED = 0x80000000;

/** A guest on a fresh vdev of `type` on `rig`. */
function guestOn(rig: ReturnType<typeof parentRig>, type: string): Guest {
  return new Guest(rig, createVdev(rig, type).uuid);
}

/** Config space and BAR0 as the guest reads them (every dword). */
function guestView(g: Guest): number[] {
  const out: number[] = [];
  for (let off = 0; off < 0x1000; off += 4) out.push(g.cfg(off));
  for (let off = 0; off < 0x800; off += 4) if (off !== 0x508 + 0x10) out.push(g.r32(off));
  return out;
}

describe('migration: what the vdev offers', () => {
  it('offers STOP_COPY | PRE_COPY and DMA logging, and MIG_DATA_SIZE is the length of the stream STOP_COPY gives', () => {
    const rig = parentRig();
    const g = guestOn(rig, DWQ).up();
    expect(g.dev.migrationFlags()).toBe(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY);
    g.dev.dmaLoggingStart({ pageSize: 4096, ranges: [{ iova: 0, length: 1 << 20 }] });
    const size = g.dev.migrationDataSize();
    g.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(saveFinal(g.dev).length).toBe(size);
    expect(size).toBeLessThan(4096);
  });
});

describe('migration: a never-enabled and an idle vdev', () => {
  for (const type of [DWQ, SWQ]) {
    it(`${type}: a never-enabled vdev arrives as it left, on a second parent`, () => {
      const a = guestOn(parentRig(), type);
      const b = guestOn(secondParent(), type);
      const before = guestView(a);
      migrate(a.dev, b.dev);
      expect(guestView(b)).toEqual(before);
      expect(b.vdev.wq.id).not.toBe(a.vdev.wq.id);
      expect(b.dev.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
    });

    it(`${type}: an enabled, idle vdev keeps its registers and runs on the destination; its handle is revoked and re-requested`, () => {
      const a = guestOn(parentRig(), type).up();
      const h = a.handle(1);
      a.w32(0x300 + 8, 0);
      const before = guestView(a);
      const b = guestOn(secondParent(), type);
      b.interruptsOn();
      migrate(a.dev, b.dev);
      const after = guestView(b);
      // Everything equal but INTCAUSE, where "handles revoked" is now set.
      const i = 0x1000 / 4 + INTCAUSE / 4;
      expect(after[i]).toBe(((before[i] as number) | REVOKED) >>> 0);
      after[i] = before[i] as number;
      expect(after).toEqual(before);
      expect(b.interrupts()).toEqual([1, 0]);
      b.w32(INTCAUSE, REVOKED);
      const h2 = b.handle(1);
      expect(h2).not.toBe(h);
      expect(b.vdev.heldHandles()).toEqual([null, h2]);
      const pasid = type === SWQ ? 7 : 0;
      expect(b.submit(memmove(0x1000, 0x2000, 64, { cr: 0x4000, handle: h2, pasid }))).toBe(SubmitStatus.ACCEPTED);
      b.vdev.wq.quiesce(b.vdev.hostPasid);
      expect(b.status(0x4000)).toBe(Status.SUCCESS);
      expect(b.interrupts()).toEqual([0, 1]);
      // The old number completes with 0x19 (it is not this vdev's any more).
      expect(b.submit(memmove(0x1000, 0x2000, 64, { cr: 0x4020, handle: h, pasid }))).toBe(SubmitStatus.ACCEPTED);
      b.vdev.wq.quiesce(b.vdev.hostPasid);
      expect(b.status(0x4020) & 0x3f).toBe(Status.INT_HANDLE_INVAL);
    });
  }
});

describe('migration: RUNNING → STOP', () => {
  it('completes every descriptor the WQ accepted (records and interrupts) before STOP, and stops new work', () => {
    const rig = parentRig();
    const g = guestOn(rig, DWQ).up();
    const h = g.handle(1);
    g.ack();
    g.interrupts();
    for (let i = 0; i < 4; i++) expect(g.submit(noop(0x3000 + 32 * i, { handle: h }))).toBe(SubmitStatus.ACCEPTED);
    expect(g.vdev.occupancy).toBe(4);
    g.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(g.vdev.occupancy).toBe(0);
    for (let i = 0; i < 4; i++) expect(g.status(0x3000 + 32 * i)).toBe(Status.SUCCESS);
    expect(g.interrupts()).toEqual([0, 4]);
    // The mapped portal answers as a disabled dedicated WQ: ignored.
    expect(g.submit(noop(0x3100))).toBe(SubmitStatus.IGNORED);
    rig.dev.runUntilIdle();
    expect(g.status(0x3100)).toBe(0);
    // BAR0 writes are ignored while stopped, reads answer.
    g.w32(0x88, 0);
    expect(g.r32(0x88)).toBe(3);
    g.dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    expect(g.submit(noop(0x3100))).toBe(SubmitStatus.ACCEPTED);
    rig.dev.runUntilIdle();
    expect(g.status(0x3100)).toBe(Status.SUCCESS);
  });

  it('a shared vdev\'s mapped portal answers Retry while stopped', () => {
    const rig = parentRig();
    const g = guestOn(rig, SWQ).up();
    g.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(g.submit(noop(0x3000, { pasid: 7 }))).toBe(SubmitStatus.RETRY);
    g.dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    expect(g.submit(noop(0x3000, { pasid: 7 }))).toBe(SubmitStatus.ACCEPTED);
  });

  it('queues trapped submissions up to the WQ size and drops more with SWERR 0x53; a cancelled migration replays them, none lost', () => {
    const rig = parentRig();
    const g = guestOn(rig, DWQ).up();
    g.ack();
    g.interrupts();
    g.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    const size = g.vdev.facts.wqSize;
    for (let i = 0; i <= size; i++) g.dev.writeRegion(BAR2, 0, noop(0x3000 + 32 * i));
    expect(g.vdev.queued).toBe(size);
    expect(g.swerrCode()).toBe(SoftwareErrorCode.DWQ_FULL);
    expect(g.interrupts()).toEqual([0, 0]);
    rig.dev.runUntilIdle();
    expect(g.status(0x3000)).toBe(0);
    g.dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    expect(g.interrupts()).toEqual([1, 0]);
    rig.dev.runUntilIdle();
    for (let i = 0; i < size; i++) expect(g.status(0x3000 + 32 * i)).toBe(Status.SUCCESS);
    expect(g.status(0x3000 + 32 * size)).toBe(0);
  });

  it('a trapped queue travels to the destination and runs there once, its handles translated', () => {
    const a = guestOn(parentRig(), DWQ).up();
    const h = a.handle(1);
    a.ack();
    a.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    for (let i = 0; i < 3; i++) a.dev.writeRegion(BAR2, 0, memmove(0x1000, 0x8000 + 0x100 * i, 0x100, { cr: 0x3000 + 32 * i, handle: h }));
    a.mem.bytes.fill(0x5a, 0x1000, 0x1100);
    const b = guestOn(secondParent(), DWQ);
    b.interruptsOn();
    b.mem.bytes.set(a.mem.bytes);
    migrate(a.dev, b.dev);
    expect(b.vdev.heldHandles()[1]).not.toBe(h);
    expect(b.vdev.queued).toBe(0);
    b.vdev.wq.quiesce(b.vdev.hostPasid);
    for (let i = 0; i < 3; i++) expect(b.status(0x3000 + 32 * i)).toBe(Status.SUCCESS);
    expect(b.mem.bytes.subarray(0x8200, 0x8300).every((x) => x === 0x5a)).toBe(true);
    expect(b.interrupts()).toEqual([1, 3]);
    // Nothing ran on the source.
    expect(a.status(0x3000)).toBe(0);
  });

  it('a config write clearing bus mastering while stopped halts the vdev only when it runs again', () => {
    const rig = parentRig();
    const g = guestOn(rig, DWQ).up();
    g.ack();
    g.interrupts();
    g.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    g.setCfg(0x04, 0x0002, 2);
    expect(g.r32(0x90) & 3).toBe(1);
    expect(g.interrupts()).toEqual([0, 0]);
    g.dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    expect(g.r32(0x90) & 3).toBe(3);
    expect(g.swerrCode()).toBe(SoftwareErrorCode.PCI_CFG);
    expect(g.interrupts()).toEqual([1, 0]);
  });
});

describe('migration: a refused stream', () => {
  it('leaves the destination in ERROR at reset state; a VFIO reset returns it to RUNNING, usable', () => {
    const a = guestOn(parentRig(), DWQ).up();
    const bytes = saveFinal(a.dev);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    const b = guestOn(secondParent(), DWQ);
    expect(() => load(b.dev, bytes)).toThrowError(/CRC/);
    expect(b.dev.migrationState()).toBe(VFIO_DEVICE_STATE_ERROR);
    b.dev.reset();
    expect(b.dev.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
    b.up();
    expect(b.cmd(Command.REQUEST_INT_HANDLE, 1) & 0xff).toBe(0);
    expect(b.submit(noop(0x3000))).toBe(SubmitStatus.ACCEPTED);
    void Opcode;
  });
});
