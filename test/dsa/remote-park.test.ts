/**
 * A descriptor over memory reached only by messages waits for its pages without blocking: the engine
 * parks it (as a DSA waits for a page request under block-on-fault) and the device keeps it on its WQ
 * (occupancy, drain) until it has run again and its write-back is acknowledged; in automatic mode it
 * resumes by itself when its data arrives, in deterministic mode at the next step.
 */
import { describe, expect, it } from 'vitest';
import { Command, Cr, Desc, Opcode, PARKED, Status, WQCFG, wqMaskOperand } from '../../src/dsa/index.js';
import { memmove, noop, rig } from './device-fixtures.js';
import { Harness } from './harness.js';
import { drive, remotePasid } from './remote-fixtures.js';
import { FakePort } from '../util/fake-port.js';
import { GuestMemory, Perm, RemoteRegion } from '../../src/memory/index.js';

const up = (mode: 'deterministic' | 'automatic' = 'deterministic') =>
  rig({}, { mode }).pciUp().errorsOn().group(0, [0, 1], [0, 1]).dwq(0, 8).swq(1, 8).up([0, 1]);

const fillPeer = (m: Uint8Array, at: number, n: number, seed: number): void => {
  for (let i = 0; i < n; i++) m[at + i] = (i * 13 + seed) & 0xff;
};

describe('engine over remote memory', () => {
  it('parks a MEMMOVE until its pages arrive, then completes it with the right data and record after the write-back', () => {
    const h = new Harness({ map: false });
    const peer = new GuestMemory(4 << 20);
    const port = new FakePort(peer.bytes);
    h.space.mapRemote(new RemoteRegion(port, 0, 4 << 20, Perm.RW));
    fillPeer(peer.bytes, 0x10000, 0x3000, 5);
    h.start(Opcode.MEMMOVE).addr(Desc.SRC, 0x10000).addr(Desc.DST, 0x40000).size(0x3000);
    let st = h.exec();
    let parks = 0;
    while (st === PARKED) {
      parks++;
      const d = h.engine.takeHeld();
      // The record page, the source and the destination: all asked for at the first wait.
      expect(d?.outstanding).toBe(3);
      port.answerReads();
      st = h.engine.resume(d!, h.ctx);
    }
    expect(parks).toBe(1);
    expect(st).toBe(Status.SUCCESS);
    expect(peer.bytes[0x1000 + Cr.STATUS]).toBe(0);
    const committing = h.engine.takeHeld();
    expect(committing).not.toBeNull();
    port.answerWrites();
    expect(peer.bytes[0x1000 + Cr.STATUS]).toBe(Status.SUCCESS);
    expect(Buffer.compare(peer.bytes.subarray(0x40000, 0x43000), peer.bytes.subarray(0x10000, 0x13000))).toBe(0);
  });
});

describe('device over remote memory', () => {
  it('deterministic: the descriptor keeps its WQ entry while parked and runs again at the next step after its data arrived', () => {
    const r = up();
    const { port } = remotePasid(r, 0);
    fillPeer(r.mem.bytes, 0x10000, 0x1000, 1);
    r.dev.portal(0).movdir64b(memmove(0x10000, 0x20000, 0x1000, { cr: 0x8000 }));
    expect(r.dev.step()).toBe(true);
    expect([r.dev.occupancy(0), r.field(WQCFG, 'occupancy', 0), r.dev.waiting, r.dev.idle]).toEqual([1, 1, 1, true]);
    expect(port.reads.length).toBe(3);
    port.answerReads(2);
    expect([r.dev.idle, r.dev.waiting]).toEqual([true, 1]);
    port.answerReads();
    expect(r.dev.idle).toBe(false);
    expect(r.dev.waiting).toBe(0);
    expect(r.dev.step()).toBe(true);
    expect(r.dev.occupancy(0)).toBe(1);
    drive(r.dev, port);
    expect([r.status(0x8000), r.dev.occupancy(0)]).toEqual([Status.SUCCESS, 0]);
    expect(Buffer.compare(r.bytes(0x20000, 0x1000), r.bytes(0x10000, 0x1000))).toBe(0);
  });

  it('automatic: the parked descriptor resumes by itself when the port answers, with no step', () => {
    const r = up('automatic');
    const { port } = remotePasid(r, 0);
    fillPeer(r.mem.bytes, 0x10000, 0x800, 2);
    r.dev.portal(0).movdir64b(memmove(0x10000, 0x20000, 0x800, { cr: 0x8000 }));
    while (port.reads.length > 0 || port.writes.length > 0) {
      port.answerReads();
      port.answerWrites();
    }
    // The record page, the source, the destination; then the data, the record's bytes 1–31, its status.
    expect(port.calls.map((c) => `${c.kind} ${c.iova.toString(16)}+${c.length.toString(16)}`)).toEqual([
      'read 8000+1000', 'read 10000+1000', 'read 20000+1000', 'write 20000+800', 'write 8001+1f', 'write 8000+1',
    ]);
    expect([r.status(0x8000), r.dev.occupancy(0)]).toEqual([Status.SUCCESS, 0]);
    expect(Buffer.compare(r.bytes(0x20000, 0x800), r.bytes(0x10000, 0x800))).toBe(0);
  });

  it('a later descriptor of the same stream waits behind the parked one; another PASID on the shared WQ does not', () => {
    const r = up();
    const a = remotePasid(r, 1);
    const p = r.dev.portal(1);
    expect(p.enqcmd(noop(0x8000), 0, 1)).toBe(0);
    expect(p.enqcmd(noop(0x8040), 0, 1)).toBe(0);
    expect(p.enqcmd(noop(0x8080), 0, 2)).toBe(0);
    r.dev.runUntilIdle();
    // PASID 1: the first waits for its record page, the second behind it; PASID 2 (local) completed.
    expect([r.status(0x8000), r.status(0x8040), r.status(0x8080)]).toEqual([0, 0, Status.SUCCESS]);
    expect([r.dev.occupancy(1, 1), r.dev.occupancy(1, 2)]).toEqual([2, 0]);
    expect(a.port.reads.length).toBe(1);
    drive(r.dev, a.port);
    expect([r.status(0x8000), r.status(0x8040)]).toEqual([Status.SUCCESS, Status.SUCCESS]);
    // The second ran only after the first was written back: its record page was fetched afterwards.
    const kinds = a.port.calls.map((c) => `${c.kind}:${c.iova.toString(16)}`);
    expect(kinds.indexOf('write:8000')).toBeLessThan(kinds.lastIndexOf('read:8000'));
  });

  it('Drain WQ waits for a parked descriptor and completes when it has been written back', () => {
    const r = up();
    const { port } = remotePasid(r, 0);
    r.dev.portal(0).movdir64b(noop(0x8000));
    r.dev.runUntilIdle();
    expect(r.cmd(Command.DRAIN_WQ, wqMaskOperand(0)) & 0x80000000).not.toBe(0);
    r.dev.runUntilIdle();
    expect(r.dev.commandActive).toBe(true);
    port.answerReads();
    r.dev.runUntilIdle();
    expect(r.dev.commandActive).toBe(true);
    port.answerWrites();
    expect([r.dev.commandActive, r.status(0x8000)]).toEqual([false, Status.SUCCESS]);
  });

  for (const mode of ['deterministic', 'automatic'] as const) {
    it(`${mode}: a port that answers from inside the call (against its contract) still gets the descriptor done`, () => {
      const r = up(mode);
      const peer = r.mem.bytes;
      const eager = {
        read: (iova: number, length: number, done: (b: Uint8Array | null) => void) => done(peer.slice(iova, iova + length)),
        write: (iova: number, bytes: Uint8Array, done: (ok: boolean) => void) => {
          peer.set(bytes, iova);
          done(true);
        },
      };
      const { space } = remotePasid(r, 0);
      space.unmap(0, 1 << 20);
      space.mapRemote(new RemoteRegion(eager, 0, 1 << 20, Perm.RW));
      fillPeer(peer, 0x10000, 0x1000, 3);
      r.dev.portal(0).movdir64b(memmove(0x10000, 0x20000, 0x1000, { cr: 0x8000, handle: 1 }));
      if (mode === 'deterministic') r.dev.runUntilIdle();
      expect([r.status(0x8000), r.dev.occupancy(0), r.vectors]).toEqual([Status.SUCCESS, 0, [1]]);
      expect(Buffer.compare(r.bytes(0x20000, 0x1000), r.bytes(0x10000, 0x1000))).toBe(0);
    });
  }

  it('automatic with a scheduler: the resumed work runs in the scheduled call', async () => {
    const r = rig({}, { mode: 'automatic', schedule: queueMicrotask }).pciUp().errorsOn().group(0, [0], [0]).dwq(0, 8).up([0]);
    const { port } = remotePasid(r, 0);
    r.dev.portal(0).movdir64b(noop(0x8000));
    await Promise.resolve();
    expect(port.reads.length).toBe(1);
    port.answerReads();
    expect(port.writes.length).toBe(0);
    await Promise.resolve();
    expect(port.writes.length).toBe(2);
    port.answerWrites();
    expect(r.status(0x8000)).toBe(Status.SUCCESS);
  });

  it('a dedicated WQ counts parked descriptors against its size (a MOVDIR64B beyond it is dropped)', () => {
    const r = rig().pciUp().errorsOn().group(0, [0], [0]).dwq(0, 2).up([0]);
    remotePasid(r, 0);
    const p = r.dev.portal(0);
    expect(p.movdir64b(noop(0x8000))).toBe(0);
    r.dev.runUntilIdle();
    expect(p.movdir64b(noop(0x8040))).toBe(0);
    expect(p.movdir64b(noop(0x8080))).toBe(2);
    expect(r.dev.occupancy(0)).toBe(2);
  });

  it('a descriptor whose write-back is sent no longer takes room: the driver that reuses its slot on seeing the record is not refused', () => {
    const r = rig().pciUp().errorsOn().group(0, [0], [0]).dwq(0, 1).up([0]);
    const { port } = remotePasid(r, 0);
    const p = r.dev.portal(0);
    expect(p.movdir64b(noop(0x8000))).toBe(0);
    r.dev.runUntilIdle();
    expect(p.movdir64b(noop(0x8040))).toBe(2);
    port.answerReads();
    r.dev.runUntilIdle();
    // The record is on its way (sent, not acknowledged): the WQ takes the next descriptor.
    expect(port.writes.length).toBe(2);
    expect(p.movdir64b(noop(0x8040))).toBe(0);
    expect(r.dev.occupancy(0)).toBe(2);
    drive(r.dev, port);
    expect([r.status(0x8000), r.status(0x8040), r.dev.occupancy(0)]).toEqual([Status.SUCCESS, Status.SUCCESS, 0]);
  });
});
