/**
 * A vdev whose guest memory is reached only by messages (an IOAS with remote mappings, as a vfio-user
 * client without fd passing gives it): rule (a) — region accesses are answered while a descriptor
 * waits for its pages, nothing blocks on the DMA; a VFIO reset or close leaves nothing that writes
 * later; the vdev's drain waits for the descriptor; an unmap resolves after its write-back; ordinary and
 * remote mappings mix in one IOAS; and another vdev is never delayed by this one's waiting descriptor.
 */
import { describe, expect, it } from 'vitest';
import { Command, Cr, Status } from '../../src/dsa/index.js';
import { VFIO_DMA_MAP_FLAG_READ, VFIO_DMA_MAP_FLAG_WRITE } from '../../src/vfio/index.js';
import { memmove, noop } from '../dsa/device-fixtures.js';
import { FakePort } from '../util/fake-port.js';
import { DWQ, GUEST_MEM, type Guest, openGuest, parentRig, type ParentRig, SWQ } from './fixtures.js';

const RW = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
const ACTIVE = 0x80000000;

/** Re-maps the guest's memory in its IOAS as remote (except `[localFrom, localTo)`, kept ordinary). */
function remote(g: Guest, local?: { from: number; to: number }): FakePort {
  const port = new FakePort(g.mem.bytes);
  g.ioas.unmap({ iova: 0, size: GUEST_MEM, flags: 0 });
  if (local === undefined) {
    g.ioas.mapRemote({ iova: 0, size: GUEST_MEM, flags: RW, port });
  } else {
    g.ioas.mapRemote({ iova: 0, size: local.from, flags: RW, port });
    g.ioas.map({ iova: local.from, size: local.to - local.from, memory: g.mem, offset: local.from, flags: RW });
    g.ioas.mapRemote({ iova: local.to, size: GUEST_MEM - local.to, flags: RW, port });
  }
  return port;
}

/** Steps the parent and answers `port` until nothing is left. */
function drive(rig: ParentRig, port: FakePort): void {
  for (let i = 0; i < 1000; i++) {
    rig.dev.runUntilIdle();
    if (port.reads.length === 0 && port.writes.length === 0) return;
    port.answerReads();
    port.answerWrites();
  }
  throw new Error('did not settle');
}

/** Submits a MEMMOVE and steps until it waits for its pages (record, source, destination: asked for at once). */
function waiting(rig: ParentRig, g: Guest, port: FakePort, handle?: number): void {
  g.mem.bytes.fill(0x5c, 0x10000, 0x10800);
  g.submit(memmove(0x10000, 0x20000, 0x800, { cr: 0x8000, pasid: 7, handle }));
  rig.dev.runUntilIdle();
  expect(port.reads.map((r) => r.iova)).toEqual([0x8000, 0x10000, 0x20000]);
}

describe('a vdev over remote memory', () => {
  it('answers BAR0 and config-space reads while a descriptor waits for its pages (nothing blocks on the DMA)', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up();
    const port = remote(g);
    waiting(rig, g, port);
    expect(g.r32(0x90) & 3).toBe(1);
    expect(g.r32(0x518) & 0xffff).toBe(1);
    expect(g.cfg(0, 2)).toBe(0x8086);
    expect(g.cmd(Command.REQUEST_INT_HANDLE, 1) & 0xff).toBe(0);
    drive(rig, port);
    expect([g.status(0x8000), g.mem.bytes[0x207ff], g.r32(0x518) & 0xffff]).toEqual([Status.SUCCESS, 0x5c, 0]);
  });

  it('completes the descriptor by itself when the parent runs automatically: the port\'s answers are all it takes', () => {
    const rig = parentRig();
    rig.dev.mode = 'automatic';
    const g = openGuest(rig, DWQ).up();
    const port = remote(g);
    const h = g.handle(1);
    g.mem.bytes.fill(0x21, 0x10000, 0x10100);
    g.submit(memmove(0x10000, 0x20000, 0x100, { cr: 0x8000, pasid: 7, handle: h }));
    while (port.reads.length > 0 || port.writes.length > 0) {
      port.answerReads();
      port.answerWrites();
    }
    expect([g.status(0x8000), g.mem.bytes[0x200ff], g.interrupts()]).toEqual([Status.SUCCESS, 0x21, [0, 1]]);
  });

  for (const teardown of ['reset', 'close'] as const) {
    it(`a VFIO ${teardown} while a descriptor waits leaves nothing that writes or interrupts later`, () => {
      const rig = parentRig();
      const g = openGuest(rig, DWQ).up();
      const port = remote(g);
      const h = g.handle(1);
      waiting(rig, g, port, h);
      g.interrupts();
      if (teardown === 'reset') g.dev.reset();
      else g.dev.close();
      expect(g.vdev.occupancy).toBe(0);
      port.answerReads();
      rig.dev.runUntilIdle();
      expect([port.reads.length, port.writes.length, g.status(0x8000), g.mem.bytes[0x20000]]).toEqual([0, 0, 0, 0]);
      expect(g.fds.map((f) => f.read())).toEqual([0, 0]);
    });
  }

  it('the vdev\'s Drain WQ keeps CMDSTS active until the waiting descriptor is written back', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up();
    const port = remote(g);
    waiting(rig, g, port);
    expect(g.cmd(Command.DRAIN_WQ, 1)).toBe(ACTIVE);
    port.answerReads();
    rig.dev.runUntilIdle();
    expect(g.r32(0xa8)).toBe(ACTIVE);
    drive(rig, port);
    expect([g.r32(0xa8), g.status(0x8000)]).toEqual([0, Status.SUCCESS]);
  });

  it('unmapAsync of the guest memory resolves only after the descriptor\'s write-back is acknowledged', async () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up();
    const port = remote(g);
    waiting(rig, g, port);
    port.answerReads();
    rig.dev.runUntilIdle();
    port.answerReads();
    rig.dev.runUntilIdle();
    expect(port.writes.length).toBe(3);
    let resolved = false;
    const p = g.ioas.unmapAsync({ iova: 0, size: GUEST_MEM, flags: 0 }).then((n) => (resolved = n === GUEST_MEM));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(resolved).toBe(false);
    port.answerWrites();
    await p;
    expect([resolved, g.status(0x8000)]).toEqual([true, Status.SUCCESS]);
  });

  it('mixes ordinary and remote mappings in one IOAS: records ordinary, data remote', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up();
    const port = remote(g, { from: 0x8000, to: 0x9000 });
    g.mem.bytes.fill(0x66, 0x10000, 0x10400);
    g.submit(memmove(0x10000, 0x20000, 0x400, { cr: 0x8000, pasid: 7 }));
    drive(rig, port);
    expect([g.status(0x8000), g.mem.view.getUint32(0x8000 + Cr.BYTES_COMPLETED, true), g.mem.bytes[0x203ff]]).toEqual([Status.SUCCESS, 0, 0x66]);
    expect(port.calls.filter((c) => c.iova >= 0x8000 && c.iova < 0x9000)).toEqual([]);
  });

  it('another vdev on the same shared WQ is not delayed by this one\'s waiting descriptor, nor touched by it', () => {
    const rig = parentRig();
    const a = openGuest(rig, SWQ).up({ pasid: 7 });
    const b = openGuest(rig, SWQ).up({ pasid: 7 });
    const port = remote(a);
    a.submit(noop(0x8000, { pasid: 7 }));
    for (let i = 0; i < 4; i++) b.submit(noop(0x8000 + 32 * i, { pasid: 7 }));
    rig.dev.runUntilIdle();
    expect([a.status(0x8000), [0, 1, 2, 3].map((i) => b.status(0x8000 + 32 * i))]).toEqual([0, [1, 1, 1, 1]]);
    expect([a.vdev.occupancy, b.vdev.occupancy]).toEqual([1, 0]);
    expect(b.cmd(Command.DRAIN_WQ, 1)).toBe(0);
    drive(rig, port);
    expect(a.status(0x8000)).toBe(Status.SUCCESS);
  });
});
