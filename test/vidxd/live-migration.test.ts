/**
 * Live migration of a running vdev (vidxd-device.md §10): a VM runs the reference guest driver with a
 * mix of operations in flight — memmove, fill, CRC-32C, a batch (dualcast, copy with CRC, delta create
 * and a fenced delta apply), and an operation that meets an unmapped page and is resumed after the
 * migration — while its VMM pre-copies guest memory with the device's dirty log, stops the vdev,
 * moves its state to a vdev of a second parent (other WQ index, other host PASID, other interrupt
 * handles) and resumes it there. Every result is correct, no descriptor is lost or run twice, the
 * guest re-requested its handles, and the memory copied by the dirty log equals the source's. Also:
 * trapped submissions queued while stopped, a cancelled migration, an idle vdev, and A → B → A.
 */
import { describe, expect, it } from 'vitest';
import { refCrc32c, refDelta, refFill } from '../../src/cli/reference.js';
import type { PageFault } from '../../src/guest/index.js';
import { VFIO_DEVICE_STATE_RUNNING, VFIO_DEVICE_STATE_STOP } from '../../src/vfio/index.js';
import { Prng } from '../util/prng.js';
import { DWQ, parentRig, SWQ } from './fixtures.js';
import { LiveVm } from './live-vm.js';
import { secondParent } from './migration-fixtures.js';
import { flip } from '../util/bytes.js';

const K4 = 0x1000;
const K16 = 0x4000;
const K64 = 0x10000;
/** The page the VMM leaves unmapped until the guest faults on it. */
const HOLE = 0xc2000;
const HEAP = { iova: 0, size: 0xb0000 };
const PATTERN = 0x0123456789abcdefn;

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** A deferred answer to the fault hook: the VMM maps the page when the test says so. */
function deferredFaults(): { resolve: (fault: PageFault, map: () => void) => Promise<boolean>; release: () => void; pending: () => number } {
  const waiting: (() => void)[] = [];
  return {
    resolve: (_f, map) => new Promise<boolean>((done) => waiting.push(() => {
      map();
      done(true);
    })),
    release: () => {
      for (const w of waiting.splice(0)) w();
    },
    pending: () => waiting.length,
  };
}

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('live migration of a %s vdev to a second parent', (_m, type) => {
  it('carries a mixed workload across: every result correct, none lost or run twice, handles re-requested, memory copied by the dirty log equal', async () => {
    const faults = deferredFaults();
    const source = parentRig();
    const vm = await LiveVm.open(source, type, { holes: [HOLE], heap: HEAP, pasid: 0x51, resolveFault: faults.resolve });
    const g = vm.guest;
    const rnd = new Prng(17);
    const a = g.heap.alloc(K64);
    const b = g.heap.alloc(K64);
    const f = g.heap.alloc(K16);
    const c = g.heap.alloc(K16 + K4);
    rnd.fill(vm.at(a, K64));
    // The batch's buffers.
    const d1 = g.heap.alloc(K4, K4);
    const d2 = g.heap.alloc(K4, K4);
    const e = g.heap.alloc(K4);
    const m = g.heap.alloc(K4);
    const fb = g.heap.alloc(K4);
    const rec = g.heap.alloc(800);
    vm.at(m, K4).set(vm.at(a, K4));
    for (let w = 0; w < 6; w++) flip(vm.memory.bytes, m + 8 * rnd.range(0, K4 / 8 - 1) + rnd.range(0, 7), 0xff);
    vm.at(fb, K4).set(vm.at(a, K4));
    const record = refDelta(vm.at(a, K4), vm.at(m, K4));
    // The operation that meets the unmapped page (its source is mapped, above the heap).
    const fsrc = 0xb0000;
    const fdst = HOLE - 0x1f00;
    rnd.fill(vm.at(fsrc, K16));
    const handlesBefore = g.interruptHandles.slice();

    // Everything is issued at once; the device runs only in the VMM's device phases.
    const ops = Promise.all([
      g.memmove(b, a, K64),
      g.fill(f, K16, PATTERN),
      g.crc32c(a, K64),
      g.batch([
        { op: 'dualcast', dst1: d1, dst2: d2, src: a, size: K4 },
        { op: 'copyCrc', dst: e, src: a, size: K4 },
        { op: 'createDelta', original: a, modified: m, size: K4, record: rec, maxRecordSize: 800 },
        { op: 'applyDelta', dst: fb, record: rec, recordSize: record.length, size: K4, fence: true },
        { op: 'crc32c', src: fb, size: K4, fence: true },
      ]),
      g.memmove(fdst, fsrc, K16),
      // A chain: the guest writes memory and issues more work while the VMM pre-copies.
      (async () => {
        await g.memmove(c, a, K16);
        vm.at(c + K16, K4).fill(0x77);
        return g.crc32c(c, K16 + K4);
      })(),
    ]);
    await vm.cpu(3);
    vm.step(2);
    const dest = secondParent();
    const srcWq = vm.vdev.wq.id;
    const srcPasid = vm.vdev.hostPasid;
    // Pre-copy runs while descriptors complete and the guest issues more; the fault waits for the VMM.
    // The guest issues one more operation just before the VMM stops the vdev: it is in the parent's WQ at STOP.
    const late = g.heap.alloc(K16);
    let lateOp: Promise<{ status: number }> = Promise.resolve({ status: 0 });
    const r = await vm.migrate(dest, { rounds: 4, steps: 3, precopy: true, finalCpu: 2, onFinalCpu: () => {
      lateOp = g.memmove(late, a, K16);
    } });
    expect(r.memoryEqual).toBe(true);
    expect(r.rounds.some((x) => x.devicePages > 0)).toBe(true);
    expect(r.rounds.some((x) => x.cpuPages > 0)).toBe(true);
    // STOP found descriptors in flight and completed them; their writes were in the final report.
    expect(r.inFlightAtStop).toBeGreaterThan(0);
    expect(r.finalPages).toBeGreaterThan(0);
    // The destination is another WQ, host PASID and handle space.
    expect(vm.rig).toBe(dest);
    expect(vm.vdev.wq.id).not.toBe(srcWq);
    expect(vm.vdev.hostPasid).not.toBe(srcPasid);
    // The fault is resolved on the destination, then everything completes there.
    expect(faults.pending()).toBe(1);
    faults.release();
    const [mv, fl, crc, batch, fmv, chain] = await vm.until(ops);
    expect((await vm.until(lateOp)).status).toBe(1);
    expect(equal(vm.at(late, K16), vm.at(a, K16))).toBe(true);
    // Results.
    expect(mv.status).toBe(1);
    expect(equal(vm.at(b, K64), vm.at(a, K64))).toBe(true);
    expect(fl.status).toBe(1);
    expect(equal(vm.at(f, K16), refFill(K16, PATTERN))).toBe(true);
    expect(crc.crc).toBe(refCrc32c(vm.at(a, K64)));
    expect([batch.status, batch.succeeded]).toEqual([1, 5]);
    expect(equal(vm.at(d1, K4), vm.at(a, K4)) && equal(vm.at(d2, K4), vm.at(a, K4))).toBe(true);
    expect(equal(vm.at(e, K4), vm.at(a, K4))).toBe(true);
    expect(equal(vm.at(rec, record.length), record)).toBe(true);
    expect(equal(vm.at(fb, K4), vm.at(m, K4))).toBe(true);
    expect(chain.crc).toBe(refCrc32c(vm.at(c, K16 + K4)));
    expect(vm.at(c + K16, K4).every((x) => x === 0x77)).toBe(true);
    expect(fmv.faults).toBe(1);
    expect(equal(vm.at(fdst, K16), vm.at(fsrc, K16))).toBe(true);
    // The guest re-requested its handles: it holds the destination's numbers now.
    expect(g.interruptHandles).not.toEqual(handlesBefore);
    expect(g.interruptHandles.slice(1)).toEqual(vm.vdev.heldHandles().slice(1));
    // And carries on.
    const after = await vm.until(g.memmove(b, f, K16));
    expect(after.status).toBe(1);
    expect(equal(vm.at(b, K16), vm.at(f, K16))).toBe(true);
    // Nothing lost, nothing run twice: every descriptor the guest submitted ran exactly once, on one parent or the other.
    const ran = (vm.executed.get(source) ?? 0) + (vm.executed.get(dest) ?? 0);
    expect(ran).toBe(g.stats.descriptors);
    expect(vm.executed.get(dest)).toBeGreaterThan(0);
    expect(g.stats.missedInterrupts).toBe(0);
  });

  it('migrates with trapped submissions queued in the stopped vdev: they run once on the destination', async () => {
    const source = parentRig();
    const vm = await LiveVm.open(source, type, { heap: HEAP, pasid: 0x52, portal: 'trapped', postedBar2: true });
    const g = vm.guest;
    const rnd = new Prng(23);
    const n = 4;
    const src = g.heap.alloc(K4 * n);
    rnd.fill(vm.at(src, K4 * n));
    const dst = g.heap.alloc(K4 * n);
    // The guest posts its portal writes in the last CPU phase; the VMM delivers them after STOP.
    let ops: Promise<{ status: number }[]> = Promise.resolve([]);
    const start = (): void => {
      ops = Promise.all(Array.from({ length: n }, (_, i) => g.memmove(dst + K4 * i, src + K4 * i, K4)));
    };
    const r = await vm.migrate(secondParent(), { rounds: 1, steps: 1, finalCpu: 3, onFinalCpu: start });
    expect(r.memoryEqual).toBe(true);
    expect(r.queuedAtSave).toBe(n);
    const res = await vm.until(ops);
    expect(res.every((x) => x.status === 1)).toBe(true);
    expect(equal(vm.at(dst, K4 * n), vm.at(src, K4 * n))).toBe(true);
    const ran = [...vm.executed.values()].reduce((s, x) => s + x, 0);
    expect(ran).toBe(g.stats.descriptors);
  });

  it('migrates an idle VM, and back: A → B → A, the guest working after each', async () => {
    const a = parentRig();
    const vm = await LiveVm.open(a, type, { heap: HEAP, pasid: 0x53 });
    const g = vm.guest;
    const src = g.heap.alloc(K4);
    const dst = g.heap.alloc(K4);
    for (const [i, to] of [secondParent(), a].entries()) {
      vm.memory.bytes.fill(0x10 + i, src, src + K4);
      const r = await vm.migrate(to, { rounds: 1 });
      expect(r.memoryEqual).toBe(true);
      expect(vm.rig).toBe(to);
      const mv = await vm.until(g.memmove(dst, src, K4));
      expect(mv.status).toBe(1);
      expect(vm.at(dst, K4).every((x) => x === 0x10 + i)).toBe(true);
    }
  });

  it('a cancelled migration loses nothing: STOP with descriptors queued, then RUNNING on the source', async () => {
    const source = parentRig();
    const vm = await LiveVm.open(source, type, { heap: HEAP, pasid: 0x54, portal: 'trapped', postedBar2: true });
    const g = vm.guest;
    const src = g.heap.alloc(K16);
    new Prng(5).fill(vm.at(src, K16));
    const dst = g.heap.alloc(K16);
    const ops = Promise.all([g.memmove(dst, src, K4), g.fill(dst + K4, K4, PATTERN), g.crc32c(src, K16)]);
    await vm.cpu(3);
    vm.device.setMigrationState(VFIO_DEVICE_STATE_STOP);
    expect(vm.flushPosted()).toBeGreaterThan(0);
    expect(vm.vdev.queued).toBeGreaterThan(0);
    vm.device.setMigrationState(VFIO_DEVICE_STATE_RUNNING);
    const [mv, fl, crc] = await vm.until(ops);
    expect([mv.status, fl.status]).toEqual([1, 1]);
    expect(equal(vm.at(dst, K4), vm.at(src, K4))).toBe(true);
    expect(crc.crc).toBe(refCrc32c(vm.at(src, K16)));
    expect(vm.executed.get(source)).toBe(g.stats.descriptors);
  });
});
