/**
 * Cross-thread portal semantics, in one thread (the guest side and the device side only meet in the
 * shared buffer, so a test can play both): answers identical to the in-process mapped portal, ordering,
 * credits against the full and threshold rules, SWERR, PASID binding and isolation against a guest that
 * scribbles over the buffer, and teardown with a half-written slot.
 */
import { describe, expect, it } from 'vitest';
import {
  Opcode, SharedPortal, type SharedPortalRing, SharedPortalSet, SharedPortalWord, SoftwareErrorCode, Status, SubmitStatus,
} from '../../../src/dsa/index.js';
import { regionOffset } from '../../../src/vfio/index.js';
import { VdevErrorCode } from '../../../src/vidxd/index.js';
import { boundPortalOf } from '../../../src/vidxd/portals.js';
import { memmove, noop } from '../../dsa/device-fixtures.js';
import { Prng } from '../../util/prng.js';
import { BAR2, createVdev, DWQ, Guest, openGuest, parentRig, type ParentRig, SWQ } from '../../vidxd/fixtures.js';
import { elem } from '../../util/bytes.js';

const PASID = 11;

/** A guest whose portal page `page` is mapped as a cross-thread ring of `set`. */
function xmap(g: Guest, set: SharedPortalSet, page: number): { ring: SharedPortalRing; portal: SharedPortal } {
  const ring = set.add(boundPortalOf(g.dev.mmap(regionOffset(BAR2) + page * 0x1000, 0x1000)));
  return { ring, portal: new SharedPortal(ring.buffer) };
}

const pageOf = (type: string): number => (type === SWQ ? 1 : 0);

/**
 * Two identical vdevs of `type` on two parents, one submitting through its in-process mapped portal, the
 * other through a cross-thread ring, fed the same seeded stream for 300 rounds (now and then a PASID the
 * vdev was not given: a shared WQ rejects it). `submit` hands one round's descriptors to the cross-thread
 * side, with the in-process answers, and checks its own. Each round both devices then run alike and
 * their SWERR must match; at the end, their memory (records and copies).
 */
function compareWithInProcess(
  type: string,
  seed: number,
  submit: (xp: SharedPortal, descs: Uint8Array[], want: number[], round: number) => void,
): void {
  const rnd = new Prng(seed);
  const rigA = parentRig();
  const rigB = parentRig();
  const a = openGuest(rigA, type).up({ pasid: PASID, pasidEn: true });
  const b = openGuest(rigB, type).up({ pasid: PASID, pasidEn: true });
  const inproc = a.portal(pageOf(type));
  const set = new SharedPortalSet();
  const { portal: xp } = xmap(b, set, pageOf(type));
  let cr = 0x40000;
  for (let round = 0; round < 300; round++) {
    const k = rnd.below(40);
    const descs: Uint8Array[] = [];
    const want: number[] = [];
    for (let i = 0; i < k; i++) {
      const pasid = rnd.below(20) === 0 ? PASID + 1 : PASID;
      const at = cr;
      cr = cr + 32 >= 0x80000 ? 0x40000 : cr + 32;
      const d = rnd.below(2) === 0 ? memmove(0x1000, 0x2000 + 64 * rnd.below(16), 64, { cr: at, pasid }) : noop(at, { pasid });
      descs.push(d);
      want.push(inproc.submit(d, 0));
    }
    submit(xp, descs, want, round);
    set.drain();
    const steps = rnd.below(30);
    for (let s = 0; s < steps; s++) expect(rigB.dev.step()).toBe(rigA.dev.step());
    set.publish();
    expect(b.swerr()).toEqual(a.swerr());
    if (rnd.below(4) === 0) {
      a.ack();
      b.ack();
    }
  }
  rigA.dev.runUntilIdle();
  set.drain();
  rigB.dev.runUntilIdle();
  expect(Buffer.compare(b.mem.bytes, a.mem.bytes)).toBe(0);
}

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('a cross-thread portal of a %s vdev', (_mode, type) => {
  it('answers every submission as the in-process portal does and completes the same descriptors with the same records and SWERR (seeded, 300 rounds)', () => {
    compareWithInProcess(type, 19, (xp, descs, want, round) => {
      descs.forEach((d, i) => expect(xp.submit(d, 0), `round ${round}, submission ${i}`).toBe(want[i]));
    });
  });

  it('submitMany takes exactly the descriptors single submissions would accept, and the one it stops before answers as the in-process portal does (seeded, 300 rounds)', () => {
    let batched = 0;
    compareWithInProcess(type, 20, (xp, descs, want, round) => {
      const k = descs.length;
      const batch = new Uint8Array(k * 64);
      descs.forEach((d, i) => batch.set(d, i * 64));
      for (let i = 0; i < k;) {
        const took = xp.submitMany(batch, i * 64, k - i);
        for (let j = 0; j < took; j++) expect(want[i + j], `round ${round}, submission ${i + j}`).toBe(SubmitStatus.ACCEPTED);
        batched += took;
        i += took;
        if (i < k) {
          expect(xp.submit(batch, i * 64), `round ${round}, submission ${i}`).toBe(want[i]);
          expect(want[i]).not.toBe(SubmitStatus.ACCEPTED);
          i++;
        }
      }
    });
    expect(batched).toBeGreaterThan(1000);
  });

  it('keeps submission order: records complete in the order the descriptors were submitted, and the completion counter counts them', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up({ pasid: PASID, pasidEn: true });
    const set = new SharedPortalSet();
    const { portal } = xmap(g, set, pageOf(type));
    // Each memmove writes its index at the same destination: the last one written wins.
    for (let i = 0; i < 8; i++) g.mem.bytes[0x1000 + i] = 0xa0 + i;
    for (let i = 0; i < 8; i++) expect(portal.submit(memmove(0x1000 + i, 0x3000, 1, { cr: 0x5000 + 32 * i, pasid: PASID }), 0)).toBe(SubmitStatus.ACCEPTED);
    expect(portal.lastTicket).toBe(8);
    expect(portal.completed).toBe(0);
    expect(set.poll(() => rig.dev.step())).toBe(true);
    expect(portal.completed).toBe(1);
    expect([g.status(0x5000), g.status(0x5020)]).toEqual([Status.SUCCESS, 0]);
    while (set.poll(() => rig.dev.step()));
    expect(portal.completed).toBe(8);
    expect(portal.waitCompleted(8, 0)).toBe(true);
    expect(g.mem.bytes[0x3000]).toBe(0xa7);
    for (let i = 0; i < 8; i++) expect(g.status(0x5000 + 32 * i)).toBe(Status.SUCCESS);
  });
});

describe('credits and the full and threshold rules', () => {
  it('a dedicated ring takes exactly the WQ size, then drops with SWERR 0x53 logged at the next drain; a completion gives a credit back at the next publish', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up({ pasid: 0x77, pasidEn: true });
    const set = new SharedPortalSet();
    const { portal } = xmap(g, set, 0);
    expect(portal.credits).toBe(16);
    for (let i = 0; i < 16; i++) expect(portal.submit(noop(0x3000 + 32 * i), 0)).toBe(SubmitStatus.ACCEPTED);
    expect(portal.submit(memmove(0x1000, 0x2000, 64, { cr: 0x4000 }), 0)).toBe(SubmitStatus.DROPPED);
    expect(g.swerrCode()).toBe(-1); // the device has not drained yet
    set.drain();
    const d = g.swerr();
    expect((elem(d, 0) >>> 8) & 0xff).toBe(SoftwareErrorCode.DWQ_FULL);
    expect(elem(d, 1)).toBe((0x77 << 8) | Opcode.MEMMOVE);
    expect(g.vdev.occupancy).toBe(16);
    expect(rig.dev.step()).toBe(true);
    expect(portal.submit(noop(0x4000), 0)).toBe(SubmitStatus.DROPPED); // not published yet
    set.publish();
    expect(portal.credits).toBe(1);
    expect(portal.submit(noop(0x4000), 0)).toBe(SubmitStatus.ACCEPTED);
  });

  it('a shared limited ring retries at the threshold (24 of 32), and the in-process portal of another vdev on the WQ sees the reservation', () => {
    // No per-vdev share limit here (sharedLimit 'none'): the WQ's threshold is the only bound.
    const rig = parentRig({ parent: { sharedLimit: 'none' } });
    const g = openGuest(rig, SWQ).up({ pasid: PASID });
    const other = openGuest(rig, SWQ).up({ pasid: 5 });
    expect(other.vdev.wq.id).not.toBe(g.vdev.wq.id); // least used: WQ 3; a third vdev shares WQ 2 with g
    const third = openGuest(rig, SWQ).up({ pasid: 6 });
    expect(third.vdev.wq.id).toBe(g.vdev.wq.id);
    const set = new SharedPortalSet();
    const { portal } = xmap(g, set, 1);
    expect(portal.credits).toBe(24);
    // The in-process limited portal of the third vdev: the 24 reserved entries count against its threshold.
    expect(third.submit(noop(0x6000, { pasid: 6 }))).toBe(SubmitStatus.RETRY);
    for (let i = 0; i < 24; i++) expect(portal.submit(noop(0x3000 + 32 * i, { pasid: PASID }), 0)).toBe(SubmitStatus.ACCEPTED);
    expect(portal.submit(noop(0x4000, { pasid: PASID }), 0)).toBe(SubmitStatus.RETRY);
    set.drain();
    expect(g.vdev.occupancy).toBe(24);
    expect(rig.dev.wqs[g.vdev.wq.id]?.reserved).toBe(0);
    expect(g.swerrCode()).toBe(-1); // a retry logs nothing
  });

  it("never grants a shared vdev's ring more credits than its share of the WQ (the fair limit: 12 of the 24 below the threshold with two vdevs)", () => {
    const rig = parentRig();
    const g = openGuest(rig, SWQ).up({ pasid: PASID });
    openGuest(rig, SWQ).up({ pasid: 5 });
    const third = openGuest(rig, SWQ).up({ pasid: 6 });
    expect(third.vdev.wq.id).toBe(g.vdev.wq.id);
    const set = new SharedPortalSet();
    const { portal } = xmap(g, set, 1);
    expect(portal.credits).toBe(12);
    for (let i = 0; i < 12; i++) expect(portal.submit(noop(0x3000 + 32 * i, { pasid: PASID }), 0)).toBe(SubmitStatus.ACCEPTED);
    expect(portal.submit(noop(0x4000, { pasid: PASID }), 0)).toBe(SubmitStatus.RETRY);
    set.drain();
    // Every credit was a promise the portal kept: all twelve were accepted by the WQ.
    expect(g.vdev.occupancy).toBe(12);
    expect(g.swerrCode()).toBe(-1);
  });

  it('two rings on one shared WQ split its free entries; together they never pass the threshold', () => {
    const rig = parentRig();
    const g1 = openGuest(rig, SWQ).up({ pasid: 21 });
    openGuest(rig, SWQ).up({ pasid: 22 });
    const g2 = openGuest(rig, SWQ).up({ pasid: 23 });
    expect(g2.vdev.wq.id).toBe(g1.vdev.wq.id);
    const set = new SharedPortalSet();
    const p1 = xmap(g1, set, 1).portal;
    const p2 = xmap(g2, set, 1).portal;
    expect(p1.credits + p2.credits).toBe(24);
    expect(Math.abs(p1.credits - p2.credits)).toBeLessThanOrEqual(1);
    let accepted = 0;
    for (let i = 0; i < 40; i++) {
      if (p1.submit(noop(0x3000 + 32 * i, { pasid: 21 }), 0) === SubmitStatus.ACCEPTED) accepted++;
      if (p2.submit(noop(0x3000 + 32 * i, { pasid: 23 }), 0) === SubmitStatus.ACCEPTED) accepted++;
    }
    expect(accepted).toBe(24);
    set.drain();
    expect(g1.vdev.occupancy + g2.vdev.occupancy).toBe(24);
  });
});

describe('submitting in batches', () => {
  it('submitMany with stride 0 submits one descriptor again and again, with consecutive tickets, and completes each', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up({ pasid: 0x77, pasidEn: true });
    const set = new SharedPortalSet();
    const { portal } = xmap(g, set, 0);
    g.mem.bytes.fill(0x5a, 0x1000, 0x1040);
    expect(portal.submitMany(memmove(0x1000, 0x2000, 64, { cr: 0x4000 }), 0, 10, 0)).toBe(10);
    expect([portal.lastTicket, portal.credits]).toEqual([10, 6]);
    while (set.poll(() => rig.dev.step()));
    expect([portal.completed, g.status(0x4000), g.mem.bytes[0x203f]]).toEqual([10, Status.SUCCESS, 0x5a]);
  });

  it('takes no more than the credits (the rest untouched, no SWERR), and nothing from a ring that is off or dead', () => {
    const rig = parentRig();
    const g = openGuest(rig, SWQ).up({ pasid: PASID });
    const set = new SharedPortalSet();
    const { ring, portal } = xmap(g, set, 1);
    const n = portal.credits;
    const batch = new Uint8Array((n + 5) * 64);
    for (let i = 0; i < n + 5; i++) batch.set(noop(0x3000 + 32 * i, { pasid: PASID }), i * 64);
    expect(portal.submitMany(batch, 0, n + 5)).toBe(n);
    expect(portal.credits).toBe(0);
    expect(portal.submitMany(batch, n * 64, 5)).toBe(0);
    set.drain();
    expect(g.swerrCode()).toBe(-1);
    while (set.poll(() => rig.dev.step()));
    expect(g.status(0x3000 + 32 * (n - 1))).toBe(Status.SUCCESS);
    expect(g.status(0x3000 + 32 * n)).toBe(0);
    expect(g.cmd(7, 1)).toBe(0); // DISABLE_WQ: the ring goes off
    set.publish();
    expect(portal.submitMany(batch, 0, 1)).toBe(0);
    set.removeWhere((r) => r === ring);
    expect(portal.submitMany(batch, 0, 1)).toBe(0);
  });

  it('throws RangeError for a bad count, a bad stride or a descriptor outside the buffer, and claims nothing', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up({ pasid: 0x77, pasidEn: true });
    const set = new SharedPortalSet();
    const { portal } = xmap(g, set, 0);
    const two = new Uint8Array(128);
    for (const [off, count, stride] of [[0, -1, 64], [0, 1.5, 64], [0, Number.NaN, 64], [0, 1, -64], [0, 1, 3.5], [0, 3, 64], [65, 1, 64], [-1, 1, 64], [0, 2, 65]] as const) {
      expect(() => portal.submitMany(two, off, count, stride), `${off}, ${count}, ${stride}`).toThrow(RangeError);
    }
    expect([portal.submitMany(two, 0, 0), portal.credits, portal.lastTicket]).toEqual([0, 16, 0]);
    expect(portal.submitMany(two, 0, 2)).toBe(2);
  });
});

describe('PASID binding and isolation', () => {
  function two(rig: ParentRig): [Guest, Guest] {
    const a = openGuest(rig, SWQ).up({ pasid: 31 });
    openGuest(rig, SWQ).up({ pasid: 32 });
    const b = openGuest(rig, SWQ).up({ pasid: 33 });
    expect(a.vdev.wq.id).toBe(b.vdev.wq.id);
    return [a, b];
  }

  it('a guest PASID the vdev was not given is dropped at once and reported in that vdev\'s SWERR, never run', () => {
    const rig = parentRig();
    const [a, b] = two(rig);
    const set = new SharedPortalSet();
    const { portal } = xmap(a, set, 1);
    b.mem.bytes.fill(0x33, 0x1000, 0x1040);
    expect(portal.submit(memmove(0x1000, 0x2000, 64, { cr: 0x4000, pasid: 33 }), 0)).toBe(SubmitStatus.DROPPED);
    set.poll(() => rig.dev.step());
    rig.dev.runUntilIdle();
    expect(a.swerrCode()).toBe(VdevErrorCode.PASID_REJECTED);
    expect([b.swerrCode(), b.status(0x4000), a.status(0x4000), b.mem.bytes[0x2000]]).toEqual([-1, 0, 0, 0]);
  });

  it('a guest that forges the buffer (credits, PASID list, commit words) reaches only its own PASID and never overfills the WQ', () => {
    const rig = parentRig();
    const [a, b] = two(rig);
    const set = new SharedPortalSet();
    const { ring, portal } = xmap(a, set, 1);
    const h = new Int32Array(ring.buffer, 0, 64);
    b.mem.bytes.fill(0x33, 0x1000, 0x1040);
    Atomics.store(h, SharedPortalWord.CREDITS, 1000);
    Atomics.store(h, SharedPortalWord.PASID_COUNT, 1);
    Atomics.store(h, SharedPortalWord.PASIDS, 33);
    for (let i = 0; i < 100; i++) expect(portal.submit(memmove(0x1000, 0x2000, 64, { cr: 0x4000 + 32 * i, pasid: 33 }), 0)).toBe(SubmitStatus.ACCEPTED);
    set.drain();
    rig.dev.runUntilIdle();
    expect([b.mem.bytes[0x2000], b.status(0x4000)]).toEqual([0, 0]);
    expect(a.swerrCode()).toBe(VdevErrorCode.PASID_REJECTED);
    // Forged credits for its own PASID: the WQ still holds at most its threshold.
    Atomics.store(h, SharedPortalWord.CREDITS, 1000);
    set.publish();
    for (let i = 0; i < 100; i++) portal.submit(noop(0x5000 + 32 * (i % 64), { pasid: 31 }), 0);
    set.drain();
    expect(a.vdev.occupancy).toBeLessThanOrEqual(24);
    expect(rig.dev.wqs[a.vdev.wq.id]?.reserved).toBeGreaterThanOrEqual(0);
  });
});

describe('teardown', () => {
  it('a slot half written by a thread that died is never executed; closing the vdev kills the ring, returns its reservation, and a new mapping works', () => {
    const rig = parentRig();
    const { uuid } = createVdev(rig, DWQ);
    const g = new Guest(rig, uuid).up({ pasid: 0x77, pasidEn: true });
    const set = new SharedPortalSet();
    const { ring, portal } = xmap(g, set, 0);
    const wq = rig.dev.wqs[g.vdev.wq.id];
    expect(portal.submit(noop(0x3000), 0)).toBe(SubmitStatus.ACCEPTED);
    // The dying thread: a credit claimed, a ticket taken, half of a memmove written, never committed.
    const h = new Int32Array(ring.buffer, 0, 64);
    Atomics.sub(h, SharedPortalWord.CREDITS, 1);
    const t = Atomics.add(h, SharedPortalWord.TAIL, 1);
    const torn = memmove(0x1000, 0x2000, 64, { cr: 0x3020 });
    new Uint8Array(ring.buffer).set(torn.subarray(0, 32), ring.slotOffset(t));
    // Another thread of the guest keeps submitting through the same page.
    const other = new SharedPortal(ring.buffer);
    expect(other.submit(noop(0x3040), 0)).toBe(SubmitStatus.ACCEPTED);
    while (set.poll(() => rig.dev.step()));
    expect([g.status(0x3000), g.status(0x3020), g.status(0x3040)]).toEqual([Status.SUCCESS, 0, 0]);
    expect(portal.completed).toBe(1);
    expect(g.vdev.occupancy).toBe(0);
    // The ring keeps the WQ's 16 entries reserved (two of them behind the torn slot) until it is torn down.
    expect(wq?.reserved).toBe(16);
    g.dev.close();
    set.removeWhere((r) => r === ring);
    expect([portal.dead, wq?.reserved]).toEqual([true, 0]);
    expect(portal.submit(noop(0x3060), 0)).toBe(SubmitStatus.IGNORED);
    expect(portal.waitCompleted(5, 1000)).toBe(false);
    set.drain();
    expect(g.status(0x3060)).toBe(0);
    // Reopened: a fresh mapping runs.
    const g2 = new Guest(rig, uuid).up({ pasid: 0x77, pasidEn: true });
    const x2 = xmap(g2, set, 0);
    expect(x2.portal.submit(noop(0x3080), 0)).toBe(SubmitStatus.ACCEPTED);
    while (set.poll(() => rig.dev.step()));
    expect(g2.status(0x3080)).toBe(Status.SUCCESS);
    g2.dev.close();
    rig.bus.remove(uuid);
  });

  it('a disabled virtual WQ turns the ring off (posted writes ignored, enqueues retried) and takes its credits back', () => {
    const rig = parentRig();
    const g = openGuest(rig, SWQ).up({ pasid: PASID });
    const set = new SharedPortalSet();
    const { portal } = xmap(g, set, 1);
    expect(portal.live).toBe(true);
    expect(g.cmd(7, 1)).toBe(0); // DISABLE_WQ
    set.publish();
    expect([portal.live, portal.credits, rig.dev.wqs[g.vdev.wq.id]?.reserved]).toEqual([false, 0, 0]);
    expect(portal.submit(noop(0x3000, { pasid: PASID }), 0)).toBe(SubmitStatus.RETRY);
    expect(g.cmd(6, 0)).toBe(0); // ENABLE_WQ
    set.publish();
    expect(portal.submit(noop(0x3000, { pasid: PASID }), 0)).toBe(SubmitStatus.ACCEPTED);
  });
});
