/**
 * Dirty logging in the address space (`DirtyLog`, `IoAddressSpace.addDirtyLog`, vfio-uapi.md §9.3):
 * every write path marks the pages it wrote inside the logged ranges — direct translations (also after
 * the last-hit cache held the extent), writes without a session in a space with remote memory, the
 * transaction's write-back of ordinary pages and of remote pages (when sent and again when
 * acknowledged) — reads never do, a report clears what it returns, and nothing is marked once the log
 * is removed.
 */
import { describe, expect, it } from 'vitest';
import {
  Dma, DirtyLog, DmaRun, DmaSession, DmaTransaction, GuestMemory, IoAddressSpace, Perm, RemoteRegion,
} from '../../src/memory/index.js';
import { FakePort } from '../util/fake-port.js';

const PAGE = 4096;

/** The dirty 4 KiB pages of `[iova, iova + length)` (reported and cleared). */
function dirty(log: DirtyLog, iova: number, length: number, pageSize = PAGE): number[] {
  const bitmap = new Uint8Array(Math.ceil(Math.ceil(length / pageSize) / 64) * 8);
  log.report(iova, length, pageSize, bitmap);
  const out: number[] = [];
  for (let u = 0; u < Math.ceil(length / pageSize); u++) if ((bitmap[u >>> 3]! >>> (u & 7)) & 1) out.push(iova + u * pageSize);
  return out;
}

function localSpace(size = 1 << 20): { space: IoAddressSpace; mem: GuestMemory; dma: Dma } {
  const mem = new GuestMemory(size);
  const space = new IoAddressSpace();
  space.map(0, size, mem, 0, Perm.RW);
  return { space, mem, dma: new Dma() };
}

describe('dirty log: marking', () => {
  it('marks every page a direct write touched, inside the logged ranges only, and never a read', () => {
    const { space, dma } = localSpace();
    const log = new DirtyLog([{ iova: 0, length: 0x10000 }, { iova: 0x20000, length: 0x10000 }]);
    space.addDirtyLog(log);
    const src = new Uint8Array(0x3000).fill(7);
    dma.write(space, 0x1800, src, 0, 0x2000); // pages 1, 2, 3
    dma.read(space, 0x5000, new Uint8Array(0x1000), 0, 0x1000);
    dma.fill(space, 0x1f000, 1, 0x2000); // page 0x1f000 outside, 0x20000 inside
    expect(dirty(log, 0, 0x30000)).toEqual([0x1000, 0x2000, 0x3000, 0x20000]);
    expect(dirty(log, 0, 0x30000)).toEqual([]);
  });

  it('marks writes that hit the last-hit cache (a repeated write to the same extent)', () => {
    const { space, dma } = localSpace();
    const b = new Uint8Array(16);
    dma.read(space, 0x100, b, 0, 16); // the cache now holds the extent
    const log = new DirtyLog([{ iova: 0, length: 1 << 20 }]);
    space.addDirtyLog(log);
    for (let i = 0; i < 4; i++) dma.write(space, 0x4000 * i + 8, b, 0, 16);
    expect(dirty(log, 0, 1 << 20)).toEqual([0, 0x4000, 0x8000, 0xc000]);
  });

  it('stops marking when the log is removed, and a write still succeeds either way', () => {
    const { space, mem, dma } = localSpace();
    const log = new DirtyLog([{ iova: 0, length: 1 << 20 }]);
    space.addDirtyLog(log);
    space.removeDirtyLog(log);
    expect(space.logging).toBe(false);
    expect(dma.fill(space, 0x3000, 9, 100)).toBe(100);
    expect(mem.bytes[0x3000]).toBe(9);
    expect(log.dirtyPages).toBe(0);
  });

  it('a write without permission still faults while logging, and marks nothing', () => {
    const mem = new GuestMemory(0x10000);
    const space = new IoAddressSpace();
    space.map(0, 0x10000, mem, 0, Perm.READ);
    const log = new DirtyLog([{ iova: 0, length: 0x10000 }]);
    space.addDirtyLog(log);
    expect(new Dma().fill(space, 0x1000, 1, 10)).toBe(0);
    expect(log.dirtyPages).toBe(0);
  });

  it('reports at a coarser granularity, and keeps pages only partly inside the report range', () => {
    const { space, dma } = localSpace(4 << 20);
    const log = new DirtyLog([{ iova: 0, length: 4 << 20 }]);
    space.addDirtyLog(log);
    dma.fill(space, 0x201000, 1, 1);
    dma.fill(space, 0x3ff000, 1, 1);
    expect(dirty(log, 0, 4 << 20, 2 << 20)).toEqual([0x200000]);
    // A report starting in the middle of a page shows it but does not clear it.
    dma.fill(space, 0x5000, 1, 1);
    expect(dirty(log, 0x5800, 0x1000)).toEqual([0x5800]);
    expect(dirty(log, 0x5000, 0x1000)).toEqual([0x5000]);
    expect(dirty(log, 0, 4 << 20)).toEqual([]);
  });
});

describe('dirty log: transactions over remote memory', () => {
  function mixed() {
    const peer = new Uint8Array(0x10000);
    const port = new FakePort(peer, 0x100000);
    const mem = new GuestMemory(0x10000);
    const space = new IoAddressSpace();
    space.map(0, 0x10000, mem, 0, Perm.RW);
    space.mapRemote(new RemoteRegion(port, 0x100000, 0x10000, Perm.RW));
    const session = new DmaSession(() => new DmaTransaction());
    const run = new DmaRun();
    run.session = session;
    const log = new DirtyLog([{ iova: 0, length: 0x200000 }]);
    space.addDirtyLog(log);
    return { peer, port, mem, space, session, run, log };
  }

  it('marks ordinary pages when the commit writes them back, not when the attempt writes its copy', () => {
    const t = mixed();
    const n = t.space.translate(0x3000, 0x100, true, t.run);
    expect(n).toBe(0x100);
    t.run.bytes.fill(5, t.run.offset, t.run.offset + n);
    expect(t.log.dirtyPages).toBe(0);
    expect(t.mem.bytes[0x3000]).toBe(0);
    expect((t.session.tx as DmaTransaction).commit()).toBe(true);
    expect(t.mem.bytes[0x3000]).toBe(5);
    expect(dirty(t.log, 0, 0x200000)).toEqual([0x3000]);
  });

  it('marks remote pages when the write-back is sent and again when it is acknowledged', () => {
    const t = mixed();
    expect(t.space.translate(0x102000, 0x10, true, t.run)).toBe(0);
    t.session.pending = false;
    t.port.answerReads();
    const n = t.space.translate(0x102000, 0x10, true, t.run);
    t.run.bytes.fill(9, t.run.offset, t.run.offset + n);
    expect(t.log.dirtyPages).toBe(0);
    expect((t.session.tx as DmaTransaction).commit()).toBe(false);
    expect(dirty(t.log, 0, 0x200000)).toEqual([0x102000]);
    t.port.answerWrites();
    expect(t.peer[0x2000]).toBe(9);
    expect(dirty(t.log, 0, 0x200000)).toEqual([0x102000]);
  });

  it('an unwound attempt marks nothing', () => {
    const t = mixed();
    const n = t.space.translate(0x4000, 8, true, t.run);
    t.run.bytes.fill(1, t.run.offset, t.run.offset + n);
    (t.session.tx as DmaTransaction).abortAttempt();
    expect(t.log.dirtyPages).toBe(0);
  });

  it('a write to ordinary memory without a session (no transaction) is marked when translated', () => {
    const t = mixed();
    const run = new DmaRun();
    expect(t.space.translate(0x6000, 4, true, run)).toBe(4);
    expect(dirty(t.log, 0, 0x200000)).toEqual([0x6000]);
  });
});
