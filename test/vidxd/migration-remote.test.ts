/**
 * STOP over memory reached only by messages (vidxd-device.md §10.1): a descriptor waiting for its pages
 * has had no effect yet, so STOP takes it back (with those queued behind it) instead of waiting for
 * the peer — nothing waits for the device's own DMA — and it runs once, on the destination (or on the
 * source when the migration is cancelled), its handle translated. A descriptor whose write-back is in
 * flight cannot be taken back: STOP answers EAGAIN and the vdev runs on until it is acknowledged.
 */
import { describe, expect, it } from 'vitest';
import { Status } from '../../src/dsa/index.js';
import { VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP, VfioError } from '../../src/vfio/index.js';
import { memmove } from '../dsa/device-fixtures.js';
import { FakePort } from '../util/fake-port.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE } from '../../src/vfio/index.js';
import { DWQ, GUEST_MEM, type Guest, openGuest, parentRig, SWQ } from './fixtures.js';
import { migrate, secondParent } from './migration-fixtures.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;

/** Re-maps all of the guest's memory as remote behind a fake port over its own bytes. */
function remote(g: Guest, port = new FakePort(g.mem.bytes)): FakePort {
  g.ioas.unmap({ iova: 0, size: GUEST_MEM, flags: 0 });
  g.ioas.mapRemote({ iova: 0, size: GUEST_MEM, flags: RW, port });
  return port;
}

/** Answers `port` and steps `g`'s parent until nothing is left. */
function drive(g: Guest, port: FakePort, rig = g.vdev.wq): void {
  void rig;
  for (let i = 0; i < 1000; i++) {
    g.vdev.wq.quiesce(g.vdev.hostPasid);
    if (port.reads.length === 0 && port.writes.length === 0) return;
    port.answerReads();
    port.answerWrites();
  }
  throw new Error('did not settle');
}

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('STOP of a %s vdev over remote memory', (_m, type) => {
  const pasid = type === SWQ ? 7 : 0;

  it('takes back descriptors waiting for their pages; they run once on the destination, with its handle', () => {
    const rig = parentRig();
    const a = openGuest(rig, type).up();
    const h = a.handle(1);
    a.ack();
    a.interrupts();
    const port = remote(a);
    a.mem.bytes.fill(0x3c, 0x10000, 0x10800);
    for (let i = 0; i < 3; i++) a.submit(memmove(0x10000, 0x20000 + 0x1000 * i, 0x800, { cr: 0x8000 + 32 * i, pasid, handle: h }));
    rig.dev.runUntilIdle();
    expect(port.reads.length).toBeGreaterThan(0);
    expect(a.vdev.occupancy).toBe(3);
    a.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(a.vdev.occupancy).toBe(0);
    expect(a.vdev.queued).toBe(3);
    // Late answers change nothing.
    port.answerReads();
    rig.dev.runUntilIdle();
    expect(port.writes.length).toBe(0);
    const b = openGuest(secondParent(), type);
    b.interruptsOn();
    const portB = remote(b, new FakePort(a.mem.bytes));
    migrate(a.dev, b.dev);
    drive(b, portB);
    for (let i = 0; i < 3; i++) expect(a.mem.bytes[0x8000 + 32 * i]).toBe(Status.SUCCESS);
    expect(a.mem.bytes.subarray(0x22000, 0x22800).every((x) => x === 0x3c)).toBe(true);
    expect(b.interrupts()).toEqual([1, 3]);
    expect(a.interrupts()).toEqual([0, 0]);
  });

  it('a cancelled migration submits them again on the source, in order', () => {
    const rig = parentRig();
    const a = openGuest(rig, type).up();
    const port = remote(a);
    a.mem.bytes.fill(0x11, 0x10000, 0x10800);
    a.submit(memmove(0x10000, 0x20000, 0x800, { cr: 0x8000, pasid }));
    a.submit(memmove(0x20000, 0x30000, 0x800, { cr: 0x8020, pasid }));
    rig.dev.runUntilIdle();
    a.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(a.vdev.queued).toBe(2);
    a.dev.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    drive(a, port);
    expect([a.status(0x8000), a.status(0x8020)]).toEqual([Status.SUCCESS, Status.SUCCESS]);
    expect(a.mem.bytes.subarray(0x30000, 0x30800).every((x) => x === 0x11)).toBe(true);
  });

  it('answers EAGAIN while a write-back is in flight, and stops once it is acknowledged', () => {
    const rig = parentRig();
    const a = openGuest(rig, type).up();
    const port = remote(a);
    a.submit(memmove(0x10000, 0x20000, 0x800, { cr: 0x8000, pasid }));
    rig.dev.runUntilIdle();
    port.answerReads();
    rig.dev.runUntilIdle();
    expect(port.writes.length).toBeGreaterThan(0);
    let err: unknown;
    try {
      a.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    } catch (e) {
      err = e;
    }
    expect(err instanceof VfioError && err.code).toBe('EAGAIN');
    expect(a.dev.migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
    port.answerWrites();
    a.dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(a.status(0x8000)).toBe(Status.SUCCESS);
  });
});
