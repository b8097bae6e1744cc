/**
 * Flow control: never more descriptors in flight than the WQ takes (the rest wait in the driver), and
 * a shared WQ's Retry answered by retrying a bounded number of times, then EAGAIN.
 */
import { describe, expect, it } from 'vitest';
import { SubmitStatus } from '../../src/dsa/index.js';
import { IdxdGuestError } from '../../src/guest/index.js';
import { regionOffset } from '../../src/vfio/index.js';
import { memmove } from '../dsa/device-fixtures.js';
import { PARENT_CONFIG, parentRig } from '../vidxd/fixtures.js';
import { Prng } from '../util/prng.js';
import { DWQ, openVm, SWQ } from './fixtures.js';

describe('dedicated WQ flow control', () => {
  it('keeps at most the WQ size in flight, queues the rest in the driver, and never overflows the WQ', async () => {
    const rig = parentRig();
    let most = 0;
    const vm = await openVm(DWQ, {
      rig,
      poll: () => {
        most = Math.max(most, rig.dev.occupancy(vm.vdev.wq.id));
        return rig.dev.step();
      },
    });
    expect(vm.g.wq.size).toBe(16);
    const src = vm.g.heap.alloc(0x100 * 50);
    new Prng(21).fill(vm.at(src, 0x100 * 50));
    const dst = vm.g.heap.alloc(0x100 * 50);
    const all = await Promise.all(Array.from({ length: 50 }, (_, i) => vm.g.memmove(dst + 0x100 * i, src + 0x100 * i, 0x100)));
    expect(all.every((r) => r.status === 1)).toBe(true);
    expect(vm.at(dst, 0x100 * 50)).toEqual(vm.at(src, 0x100 * 50));
    const s = vm.g.stats;
    expect([s.maxInFlight, most]).toEqual([16, 16]);
    expect(s.queued).toBe(50 - 16);
    expect(vm.g.errors).toEqual([]);
  });

  it('honours a lower maxInFlight', async () => {
    const vm = await openVm(DWQ, { maxInFlight: 3 });
    const buf = vm.g.heap.alloc(0x1000);
    await Promise.all(Array.from({ length: 10 }, () => vm.g.fill(buf, 0x1000, 7n)));
    expect(vm.g.stats.maxInFlight).toBe(3);
  });
});

describe('shared WQ retry', () => {
  /**
   * The test parent with one shared mediated WQ (WQ 2: 32 entries, threshold 24), so two VMs share it —
   * without the per-vdev occupancy limit, so that one VM can fill the WQ up to its threshold (with the
   * default fair limit it would get only its half: see test/vidxd/shared-fairness.test.ts).
   */
  const oneSharedWq = (): ReturnType<typeof parentRig> =>
    parentRig({ config: { ...PARENT_CONFIG, wqs: PARENT_CONFIG.wqs.filter((w) => w.id !== 3) }, parent: { sharedLimit: 'none' } });

  /** A second VM's descriptors filling the shared WQ up to its threshold (24), nothing run. */
  function fillSharedWq(rig: ReturnType<typeof parentRig>, other: Awaited<ReturnType<typeof openVm>>): void {
    const portal = other.device.mmap(regionOffset(2) + 0x1000, 0x1000);
    for (let i = 0; i < 24; i++) expect(portal.submit(memmove(0x1000, 0x2000, 64, { pasid: other.g.pasid }), 0)).toBe(SubmitStatus.ACCEPTED);
    expect(portal.submit(memmove(0x1000, 0x2000, 64, { pasid: other.g.pasid }), 0)).toBe(SubmitStatus.RETRY);
    expect(rig.dev.occupancy(other.vdev.wq.id)).toBe(24);
  }

  it('retries a bounded number of times, then fails with EAGAIN', async () => {
    const rig = oneSharedWq();
    let stepping = false;
    const vm = await openVm(SWQ, { rig, retries: 5, poll: () => stepping && rig.dev.step() });
    const other = await openVm(SWQ, { rig });
    expect(other.vdev.wq.id).toBe(vm.vdev.wq.id);
    fillSharedWq(rig, other);
    const err = await vm.g.memmove(vm.g.heap.alloc(64), vm.g.heap.alloc(64), 64).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(IdxdGuestError);
    expect(err).toMatchObject({ reason: 'retry', code: 'EAGAIN' });
    expect(vm.g.stats.retries).toBe(6);
    stepping = true;
    const src = vm.g.heap.alloc(64);
    vm.mem.bytes.fill(9, src, src + 64);
    const dst = vm.g.heap.alloc(64);
    expect((await vm.g.memmove(dst, src, 64)).status).toBe(1);
    expect(vm.at(dst, 64)).toEqual(vm.at(src, 64));
  });

  it('gets in once the WQ drains below its threshold', async () => {
    const rig = oneSharedWq();
    const vm = await openVm(SWQ, { rig });
    const other = await openVm(SWQ, { rig });
    fillSharedWq(rig, other);
    const src = vm.g.heap.alloc(0x800);
    new Prng(22).fill(vm.at(src, 0x800));
    const dst = vm.g.heap.alloc(0x800);
    await vm.g.memmove(dst, src, 0x800);
    expect(vm.at(dst, 0x800)).toEqual(vm.at(src, 0x800));
    expect(vm.g.stats.retries).toBeGreaterThan(0);
  });

  it('through trapped writes, resubmits a descriptor the full WQ silently refused', async () => {
    const rig = oneSharedWq();
    const vm = await openVm(SWQ, { rig, portal: 'trapped' });
    const other = await openVm(SWQ, { rig });
    fillSharedWq(rig, other);
    const src = vm.g.heap.alloc(0x100);
    new Prng(23).fill(vm.at(src, 0x100));
    const dst = vm.g.heap.alloc(0x100);
    await vm.g.memmove(dst, src, 0x100);
    expect(vm.at(dst, 0x100)).toEqual(vm.at(src, 0x100));
    expect(vm.g.stats.retries).toBe(1);
    expect(vm.g.stats.ops.memmove?.submissions).toBe(2);
  });
});
