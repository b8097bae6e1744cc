/**
 * A DMA transaction over memory reached only by messages (`DmaTransaction`, `RemoteRegion`,
 * `IoAddressSpace.mapRemote`): coalesced fetches, pending instead of blocking, writes kept until the
 * commit and written back in device order, attempts that leave nothing behind, unmap and refusals.
 */
import { describe, expect, it } from 'vitest';
import {
  DmaRun, DmaSession, DmaTransaction, FETCH_SPAN, GuestMemory, IoAddressSpace, Perm, REMOTE_TRANSFER_LIMIT, RemoteRegion,
  TRANSACTION_BUDGET,
} from '../../src/memory/index.js';
import { FakePort } from '../util/fake-port.js';

const MiB = 1 << 20;

/** A space with `[0, size)` remote behind a fake port over `peer`, a session and a run of it. */
function remoteSpace(size = 4 * MiB, perm: number = Perm.RW) {
  const peer = new Uint8Array(size);
  for (let i = 0; i < size; i++) peer[i] = (i * 7 + (i >>> 12)) & 0xff;
  const port = new FakePort(peer);
  const space = new IoAddressSpace();
  const region = new RemoteRegion(port, 0, size, perm);
  space.mapRemote(region);
  const session = new DmaSession(() => new DmaTransaction());
  const run = new DmaRun();
  run.session = session;
  return { peer, port, space, region, session, run };
}

/** Translates and, when pending, answers every fetch and translates again (as an attempt would after a resume). */
function settle(t: ReturnType<typeof remoteSpace>, iova: number, len: number, write: boolean): number {
  const n = t.space.translate(iova, len, write, t.run);
  if (n > 0 || !t.session.pending) return n;
  t.session.pending = false;
  t.port.answerReads();
  return t.space.translate(iova, len, write, t.run);
}

describe('remote memory: fetching', () => {
  it('a miss asks for the whole run in one read and reports pending; the answer makes it one run', () => {
    const t = remoteSpace();
    expect(t.space.translate(0x3010, 0x5000, false, t.run)).toBe(0);
    expect(t.session.pending).toBe(true);
    expect(t.port.calls).toEqual([{ kind: 'read', iova: 0x3000, length: 0x6000 }]);
    t.session.pending = false;
    t.port.answerReads();
    expect(t.session.tx?.outstanding).toBe(0);
    const n = t.space.translate(0x3010, 0x5000, false, t.run);
    expect(n).toBe(0x5000);
    expect(t.run.bytes.subarray(t.run.offset, t.run.offset + n)).toEqual(t.peer.subarray(0x3010, 0x8010));
    expect(t.port.calls.length).toBe(1);
  });

  it('a long run is fetched in transfer-limit pieces up to the fetch span, and held pages are not fetched again', () => {
    const t = remoteSpace(16 * MiB);
    expect(settle(t, 0x1000, 0x1000, false)).toBe(0x1000);
    t.session.pending = false;
    expect(t.space.translate(0, 12 * MiB, false, t.run)).toBe(0);
    const reads = t.port.calls.slice(1);
    // Page 0 first (it stops at the held page 1), then from page 2 on in 1 MiB pieces up to the span.
    expect(reads[0]).toEqual({ kind: 'read', iova: 0, length: 0x1000 });
    t.port.answerReads();
    t.session.pending = false;
    expect(t.space.translate(0x2000, 12 * MiB, false, t.run)).toBe(0);
    const more = t.port.calls.slice(2);
    expect(more.every((c) => c.length <= REMOTE_TRANSFER_LIMIT)).toBe(true);
    expect(more.reduce((s, c) => s + c.length, 0)).toBe(FETCH_SPAN);
    expect(more[0]?.iova).toBe(0x2000);
  });

  it('a prefetch hint fetches what the transaction lacks of a range — remote pages only, across mappings — without pending', () => {
    const t = remoteSpace(MiB);
    const mem = new GuestMemory(MiB);
    t.space.map(MiB, 0x4000, mem, 0, Perm.RW);
    const second = new FakePort(new Uint8Array(2 * MiB), MiB + 0x4000);
    t.space.mapRemote(new RemoteRegion(second, MiB + 0x4000, 0x4000, Perm.RW));
    expect(settle(t, MiB - 0x2000, 16, false)).toBe(16);
    t.session.pending = false;
    t.space.prefetch(MiB - 0x3000, 0x9000, t.run);
    expect(t.session.pending).toBe(false);
    // The first mapping's page before the held one, nothing of ordinary memory, the second mapping's pages.
    expect(t.port.calls.slice(1)).toEqual([
      { kind: 'read', iova: MiB - 0x3000, length: 0x1000 },
      { kind: 'read', iova: MiB - 0x1000, length: 0x1000 },
    ]);
    expect(second.calls).toEqual([{ kind: 'read', iova: MiB + 0x4000, length: 0x2000 }]);
    t.port.answerReads();
    second.answerReads();
    expect(t.space.translate(MiB + 0x4000, 0x2000, false, t.run)).toBe(0x2000);
    expect(second.calls.length).toBe(1);
  });

  it('without a session remote memory faults and ordinary memory in the same space translates directly', () => {
    const t = remoteSpace(MiB);
    const mem = new GuestMemory(MiB);
    t.space.map(2 * MiB, MiB, mem, 0, Perm.RW);
    const plain = new DmaRun();
    expect(t.space.translate(0x1000, 8, false, plain)).toBe(0);
    expect(t.port.calls).toEqual([]);
    expect(t.space.translate(2 * MiB + 0x10, 8, true, plain)).toBe(8);
    expect([plain.bytes === mem.bytes, plain.offset]).toEqual([true, 0x10]);
  });

  it('a refused fetch, a short answer and a port that throws make the page fault instead of pend', async () => {
    const t = remoteSpace(MiB);
    t.space.translate(0x1000, 16, false, t.run);
    t.session.pending = false;
    t.port.refuseReads();
    expect(t.space.translate(0x1000, 16, false, t.run)).toBe(0);
    expect(t.session.pending).toBe(false);

    t.space.translate(0x5000, 16, false, t.run);
    t.session.pending = false;
    t.port.reads.shift()?.done(new Uint8Array(100));
    expect(t.space.translate(0x5000, 16, false, t.run)).toBe(0);
    expect(t.session.pending).toBe(false);

    const space = new IoAddressSpace();
    space.mapRemote(new RemoteRegion({ read: () => { throw new Error('gone'); }, write: () => {} }, 0, MiB, Perm.RW));
    const s = new DmaSession(() => new DmaTransaction());
    const run = new DmaRun();
    run.session = s;
    expect(space.translate(0x2000, 8, false, run)).toBe(0);
    expect(s.pending).toBe(true);
    s.pending = false;
    await Promise.resolve();
    expect(s.tx?.outstanding).toBe(0);
    expect(space.translate(0x2000, 8, false, run)).toBe(0);
    expect(s.pending).toBe(false);
  });

  it('a second answer to one fetch is ignored', () => {
    const t = remoteSpace(MiB);
    t.space.translate(0x1000, 16, false, t.run);
    const r = t.port.reads[0];
    t.port.answerReads();
    r?.done(null);
    t.session.pending = false;
    expect(t.space.translate(0x1000, 16, false, t.run)).toBe(16);
    expect(t.region.inflight).toBe(0);
  });

  it('pages beyond the transaction budget fault', () => {
    const size = TRANSACTION_BUDGET + 2 * MiB;
    const t = remoteSpace(size);
    let a = 0;
    while (a < TRANSACTION_BUDGET) {
      const n = settle(t, a, size - a, false);
      expect(n).toBeGreaterThan(0);
      a += n;
    }
    expect(t.space.translate(a, 16, false, t.run)).toBe(0);
    expect(t.session.pending).toBe(false);
    expect(t.session.tx?.keptBytes).toBeLessThanOrEqual(TRANSACTION_BUDGET + 4096);
  });
});

describe('remote memory: writes and commit', () => {
  it('writes stay in the transaction until the commit, which sends them in the order written, the published record last', () => {
    const t = remoteSpace(MiB);
    const before = t.peer.slice();
    // "Completion record" translated first (explicit run), data written after it.
    const cr = new DmaRun();
    cr.session = t.session;
    cr.explicit = true;
    t.space.translate(0x8000, 32, true, cr);
    t.session.pending = false;
    t.port.answerReads();
    expect(t.space.translate(0x8000, 32, true, cr)).toBe(32);
    expect(settle(t, 0x2000, 0x100, true)).toBe(0x100);
    t.run.bytes.fill(0xaa, t.run.offset, t.run.offset + 0x100);
    expect(settle(t, 0x2100, 0x80, true)).toBe(0x80);
    t.run.bytes.fill(0xbb, t.run.offset, t.run.offset + 0x80);
    expect(settle(t, 0x6000, 4, true)).toBe(4);
    t.run.bytes.fill(0xcc, t.run.offset, t.run.offset + 4);
    cr.bytes.fill(0x11, cr.offset, cr.offset + 32);
    const tx = t.session.tx as DmaTransaction;
    tx.published(0x8000, 32);
    expect(Buffer.compare(t.peer, before)).toBe(0);
    const calls = t.port.calls.length;
    expect(tx.commit()).toBe(false);
    expect(t.port.calls.slice(calls)).toEqual([
      { kind: 'write', iova: 0x2000, length: 0x180 },
      { kind: 'write', iova: 0x6000, length: 4 },
      { kind: 'write', iova: 0x8001, length: 31 },
      { kind: 'write', iova: 0x8000, length: 1 },
    ]);
    t.port.answerWrites();
    expect(t.peer.subarray(0x2000, 0x2180)).toEqual(new Uint8Array(0x180).fill(0xaa, 0, 0x100).fill(0xbb, 0x100));
    expect(t.peer[0x8000]).toBe(0x11);
  });

  it('an unwound attempt leaves nothing: written pages get their fetched bytes back and are not fetched again', () => {
    const t = remoteSpace(MiB);
    expect(settle(t, 0x3000, 0x2000, true)).toBe(0x2000);
    t.run.bytes.fill(0x55, t.run.offset, t.run.offset + 0x2000);
    const tx = t.session.tx as DmaTransaction;
    tx.abortAttempt();
    tx.beginAttempt();
    const reads = t.port.calls.length;
    expect(t.space.translate(0x3000, 0x2000, false, t.run)).toBe(0x2000);
    expect(t.run.bytes.subarray(t.run.offset, t.run.offset + 0x2000)).toEqual(t.peer.subarray(0x3000, 0x5000));
    expect(t.port.calls.length).toBe(reads);
    expect(tx.commit()).toBe(true);
    expect(t.port.calls.length).toBe(reads);
  });

  it('ordinary memory of a space with remote memory is written through a private copy that reaches memory at commit', () => {
    const t = remoteSpace(MiB);
    const mem = new GuestMemory(MiB);
    mem.bytes.fill(3);
    t.space.map(2 * MiB, MiB, mem, 0, Perm.RW);
    expect(t.space.translate(2 * MiB + 0x2100, 0x10, true, t.run)).toBe(0x10);
    expect(t.run.bytes).not.toBe(mem.bytes);
    t.run.bytes.fill(9, t.run.offset, t.run.offset + 0x10);
    expect(mem.bytes[0x2100]).toBe(3);
    // A read of the written page sees the copy; a read of another page reads memory directly, and
    // stops before the page the transaction holds.
    expect(t.space.translate(2 * MiB + 0x2100, 4, false, t.run)).toBe(4);
    expect(t.run.bytes[t.run.offset]).toBe(9);
    expect(t.space.translate(2 * MiB, 0x3000, false, t.run)).toBe(0x2000);
    expect(t.run.bytes).toBe(mem.bytes);
    expect((t.session.tx as DmaTransaction).commit()).toBe(true);
    expect([mem.bytes[0x20ff], mem.bytes[0x2100], mem.bytes[0x210f], mem.bytes[0x2110]]).toEqual([3, 9, 9, 3]);
  });

  it('the commit waits for the acknowledgements before it writes ordinary memory after a remote write', () => {
    let committed = 0;
    class Counting extends DmaTransaction {
      protected override committed(): void {
        committed++;
      }
    }
    const t = remoteSpace(MiB);
    const session = new DmaSession(() => new Counting());
    t.run.session = session;
    const mem = new GuestMemory(MiB);
    t.space.map(2 * MiB, MiB, mem, 0, Perm.RW);
    expect(t.space.translate(0x1000, 8, true, t.run)).toBe(0);
    session.pending = false;
    t.port.answerReads();
    expect(t.space.translate(0x1000, 8, true, t.run)).toBe(8);
    t.run.bytes.fill(7, t.run.offset, t.run.offset + 8);
    expect(t.space.translate(2 * MiB, 8, true, t.run)).toBe(8);
    t.run.bytes.fill(8, t.run.offset, t.run.offset + 8);
    const tx = session.tx as DmaTransaction;
    expect(tx.commit()).toBe(false);
    expect([t.port.writes.length, mem.bytes[0], committed]).toEqual([1, 0, 0]);
    t.port.answerWrites();
    expect([t.peer[0x1000], mem.bytes[0], committed]).toEqual([7, 8, 1]);
  });

  it('a write-back the port refuses is counted and the commit still finishes', () => {
    const t = remoteSpace(MiB);
    expect(settle(t, 0x1000, 8, true)).toBe(8);
    const tx = t.session.tx as DmaTransaction;
    expect(tx.commit()).toBe(false);
    t.port.answerWrites(1, false);
    expect(tx.failedWrites).toBe(1);
    expect(t.region.inflight).toBe(0);
  });
});

describe('remote memory: unmap and reuse', () => {
  it('an unmap makes holders forget the range and cancels its fetches; the late answer is ignored and whenIdle waits for it', async () => {
    let ready = 0;
    class Waiting extends DmaTransaction {
      protected override ready(): void {
        ready++;
      }
    }
    const t = remoteSpace(MiB);
    const session = new DmaSession(() => new Waiting());
    t.run.session = session;
    expect(t.space.translate(0x1000, 8, false, t.run)).toBe(0);
    const tx = session.tx as DmaTransaction;
    expect(tx.outstanding).toBe(1);
    let idle = false;
    t.space.unmap(0, MiB);
    void t.region.whenIdle().then(() => (idle = true));
    expect([tx.outstanding, ready]).toEqual([0, 1]);
    await Promise.resolve();
    expect(idle).toBe(false);
    t.port.answerReads();
    await Promise.resolve();
    expect(idle).toBe(true);
    session.pending = false;
    expect(t.space.translate(0x1000, 8, false, t.run)).toBe(0);
    expect(session.pending).toBe(false);
  });

  it('a range unmapped before its write-back would be sent is skipped', () => {
    const t = remoteSpace(MiB);
    const mem = new GuestMemory(MiB);
    t.space.map(2 * MiB, MiB, mem, 0, Perm.RW);
    const second = new FakePort(new Uint8Array(MiB), 3 * MiB);
    t.space.mapRemote(new RemoteRegion(second, 3 * MiB, MiB, Perm.RW));
    expect(settle(t, 0x1000, 8, true)).toBe(8);
    expect(t.space.translate(3 * MiB, 8, true, t.run)).toBe(0);
    t.session.pending = false;
    second.answerReads();
    expect(t.space.translate(3 * MiB, 8, true, t.run)).toBe(8);
    const tx = t.session.tx as DmaTransaction;
    expect(tx.commit()).toBe(false);
    // The write to the second port waits for the first port's acknowledgement; meanwhile it is unmapped.
    expect(second.calls.filter((c) => c.kind === 'write')).toEqual([]);
    t.space.unmap(3 * MiB, MiB);
    t.port.answerWrites();
    expect(second.calls.filter((c) => c.kind === 'write')).toEqual([]);
  });

  it('a reset transaction ignores answers to its earlier fetches and write-backs', () => {
    const t = remoteSpace(MiB);
    t.space.translate(0x1000, 8, false, t.run);
    const tx = t.session.tx as DmaTransaction;
    t.session.recycle(tx);
    t.session.tx = null;
    t.session.pending = false;
    t.port.answerReads();
    expect(tx.outstanding).toBe(0);
    expect(tx.keptBytes).toBe(0);
    expect(t.region.inflight).toBe(0);
  });
});
