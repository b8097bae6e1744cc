/**
 * Completion interrupts of user-mode (Priv 0) PASID descriptors (dsa-operations.md §2.1, the RCI rule):
 * a host configuration that says nothing about GENCFG.user_int_en gives mediated WQs what their vdevs
 * need, so the reference driver's interrupt workload runs on a shared vdev and on a dedicated vdev with
 * a PASID; a parent configured without user interrupts shows it in the vdev's GENCFG, and the driver
 * says so at open instead of failing every operation with status 0x11.
 */
import { describe, expect, it } from 'vitest';
import { refCrc32c } from '../../src/cli/reference.js';
import { Cr, Flag, Status } from '../../src/dsa/index.js';
import type { DeviceConfig } from '../../src/host/index.js';
import { IdxdGuestError } from '../../src/guest/index.js';
import { Prng } from '../util/prng.js';
import { noop } from '../dsa/device-fixtures.js';
import { openGuest, parentRig } from '../vidxd/fixtures.js';
import { DWQ, type GuestVm, openVm, SWQ } from './fixtures.js';

/** A host configuration with one dedicated and one shared mediated WQ and no word about user interrupts. */
const DEFAULT_CONFIG: DeviceConfig = {
  groups: [{ id: 0, engines: [0, 1] }],
  wqs: [
    { id: 0, group: 0, mode: 'dedicated', size: 16, mediated: true },
    { id: 1, group: 0, mode: 'shared', size: 32, mediated: true },
  ],
};

/** Copies, fills, CRCs and a batch, concurrently, each completing by interrupt; returns nothing, asserts everything. */
async function interruptWorkload(vm: GuestVm): Promise<void> {
  const rnd = new Prng(41);
  const src = vm.g.heap.alloc(0x4000);
  const dst = vm.g.heap.alloc(0x4000);
  const cast = vm.g.heap.alloc(0x2000, 0x1000);
  rnd.fill(vm.at(src, 0x4000));
  const [copy, fill, crc, batch] = await Promise.all([
    vm.g.memmove(dst, src, 0x2000),
    vm.g.fill(dst + 0x2000, 0x1000, 0x0102030405060708n),
    vm.g.crc32c(src, 0x4000),
    vm.g.batch([
      { op: 'dualcast', dst1: cast, dst2: cast + 0x1000, src, size: 0x400 },
      { op: 'copyCrc', dst: dst + 0x3400, src: src + 0x400, size: 0x400 },
    ]),
  ]);
  expect([copy.status, fill.status, crc.status, batch.status, batch.succeeded]).toEqual([1, 1, 1, 1, 2]);
  expect(crc.crc).toBe(refCrc32c(vm.at(src, 0x4000)));
  expect(vm.at(dst, 0x2000)).toEqual(vm.at(src, 0x2000));
  const stats = vm.g.stats;
  expect(Object.values(stats.ops).some((o) => o.statuses[`0x${Status.INVALID_FLAGS.toString(16)}`] !== undefined)).toBe(false);
  expect(stats.interrupts[1]).toBe(4);
  expect(stats.missedInterrupts).toBe(0);
}

describe('user interrupts on a host configuration that does not mention them', () => {
  it('a shared vdev runs the interrupt workload (its descriptors are Priv 0 with a PASID)', async () => {
    const vm = await openVm(SWQ, { rig: parentRig({ config: DEFAULT_CONFIG }) });
    expect([vm.g.completion, vm.g.pasid]).toEqual(['interrupt', 1]);
    expect(vm.rig.host.userInterrupts).toBe(true);
    const gencfg = new Uint8Array(4);
    vm.device.readRegion(0, 0x80, gencfg);
    expect((gencfg[1] as number) & 0x10).toBe(0x10);
    await interruptWorkload(vm);
  });

  it('a dedicated vdev whose guest enabled PASIDs (priv 0) runs the interrupt workload', async () => {
    const vm = await openVm(DWQ, { rig: parentRig({ config: DEFAULT_CONFIG }), pasidEnabled: true, pasid: 5 });
    expect(vm.g.pasid).toBe(5);
    await interruptWorkload(vm);
  });
});

describe('a parent configured without user interrupts', () => {
  const rig = () => parentRig({ config: { ...DEFAULT_CONFIG, userInterrupts: false } });

  it('the driver refuses interrupt completion on a shared vdev at open, naming user_int_en', async () => {
    const e = await openVm(SWQ, { rig: rig() }).then(() => expect.fail('opened'), (err: unknown) => err);
    expect(e).toBeInstanceOf(IdxdGuestError);
    expect(e).toMatchObject({ reason: 'probe', code: 'ENODEV' });
    expect((e as Error).message).toMatch(/GENCFG\.user_int_en does not stick/);
  });

  it('polling still works', async () => {
    const vm = await openVm(SWQ, { rig: rig(), completion: 'poll' });
    const buf = vm.g.heap.alloc(0x1000);
    expect((await vm.g.fill(buf, 0x1000, 7n)).status).toBe(1);
  });

  it('a descriptor that requests an interrupt anyway gets 0x11 (invalid flag RCI): the rule the vdev\'s GENCFG announced', () => {
    const r = rig();
    const g = openGuest(r, SWQ).up();
    g.w32(0x80, 0x1000);
    expect(g.r32(0x80) & 0x1000).toBe(0);
    g.submit(noop(0x100, { pasid: 7, handle: g.handle(1) }));
    r.dev.runUntilIdle();
    expect(g.status(0x100)).toBe(Status.INVALID_FLAGS);
    expect(g.mem.bytes[0x100 + Cr.INVALID_FLAGS]).toBe(Flag.RCI);
    expect(g.interrupts()[1]).toBe(0);
  });

  it('a dedicated vdev without PASIDs is unaffected: its descriptors are not user-mode PASID descriptors', async () => {
    const vm = await openVm(DWQ, { rig: rig() });
    expect([vm.g.completion, vm.g.pasid]).toEqual(['interrupt', -1]);
    const buf = vm.g.heap.alloc(0x1000);
    expect((await vm.g.fill(buf, 0x1000, 7n)).status).toBe(1);
    expect(vm.g.stats.interrupts[1]).toBe(1);
  });
});
