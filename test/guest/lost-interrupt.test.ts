/**
 * A completion interrupt that never comes: the device wrote the record, the VMM lost the interrupt.
 * Every wait of the driver is bounded — with the VMM's poll hook, without it, with callback triggers
 * and with EventFds — and ends in an `IdxdLostInterruptError` that says what was lost (op, vector,
 * handle) and how the work ended (the record's status). A record with status 0x19, which comes
 * without an interrupt by design, completes from the record; an interrupt that is late but within the
 * bound is taken; a device that never completes ends in ETIMEDOUT.
 */
import { describe, expect, it } from 'vitest';
import { DsaDevice, dsaProfile, Status } from '../../src/dsa/index.js';
import { IdxdHost } from '../../src/host/index.js';
import { IdxdGuestError, IdxdLostInterruptError, IdxdStatusError } from '../../src/guest/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import {
  EventFd, type IrqTrigger, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_MSIX_IRQ_INDEX, type VfioDevice,
} from '../../src/vfio/index.js';
import { type VdevHandles, VidxdParent, type VdevPortalMapping } from '../../src/vidxd/index.js';
import { PARENT_CONFIG, type ParentRig } from '../vidxd/fixtures.js';
import { DWQ, type GuestVm, openVm, SWQ } from './fixtures.js';

/** The test parent on a model that runs each submission at once (no poll hook needed). */
function automaticRig(): ParentRig {
  const dev = new DsaDevice({ profile: dsaProfile(), mode: 'automatic' });
  const host = new IdxdHost(dev, { wait: () => dev.runUntilIdle() });
  host.probe();
  host.load(PARENT_CONFIG);
  const parent = new VidxdParent(host);
  const bus = new MdevBus<VdevPortalMapping>();
  parent.register(bus);
  return { dev, host, parent, bus };
}

/** What a VMM that loses vector `v` does: it replaces the driver's trigger with `trigger` (default: one that drops the interrupt). */
function replaceTrigger(device: VfioDevice<VdevPortalMapping>, v: number, trigger: IrqTrigger = () => {}): void {
  device.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: v, count: 1, data: [trigger] });
}

/** The rejection of `p` (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => expect.fail('resolved'), (e: unknown) => e);
}

/** A fill whose completion interrupt the VMM loses: it rejects as a lost interrupt, and the fill itself was done. */
async function lostFill(vm: GuestVm): Promise<void> {
  const buf = vm.g.heap.alloc(0x1000);
  replaceTrigger(vm.device, 1);
  const e = await rejection(vm.g.fill(buf, 0x1000, 0x5a5a5a5a5a5a5a5an));
  expect(e).toBeInstanceOf(IdxdLostInterruptError);
  expect(e).toMatchObject({
    reason: 'interrupt-lost', code: 'ETIMEDOUT', errno: 110, op: 'fill', vector: 1, handle: vm.g.interruptHandles[1], status: Status.SUCCESS,
    statusName: 'SUCCESS',
  });
  expect((e as Error).message).toMatch(/^fill: the completion record was written \(status 0x01 SUCCESS\) but its completion interrupt \(vector 1, handle \d+\) did not come/);
  expect(vm.at(buf, 0x1000).every((b) => b === 0x5a)).toBe(true);
  expect(vm.g.stats.missedInterrupts).toBe(1);
  expect(vm.g.pending).toBe(0);
}

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('a lost completion interrupt on a %s vdev', (_m, type) => {
  it('with the poll hook and callback triggers: rejected once the device is idle and the bound has passed', async () => {
    await lostFill(await openVm(type, { lostInterruptAfter: 3 }));
  });

  it('with the poll hook and EventFd triggers', async () => {
    await lostFill(await openVm(type, { triggers: 'eventfd', lostInterruptAfter: 3 }));
  });

  it.each(['callback', 'eventfd'] as const)('without a poll hook (%s triggers): rejected, where the driver used to wait forever', async (triggers) => {
    await lostFill(await openVm(type, { rig: automaticRig(), poll: undefined, triggers, lostInterruptAfter: 3 }));
  });

  it('an interrupt that is late but within the bound is taken', async () => {
    const vm = await openVm(type, { rig: automaticRig(), poll: undefined, triggers: 'eventfd', lostInterruptAfter: 50 });
    const fd = vm.g.eventfds[1] as EventFd;
    // The VMM delivers vector 1 from the event loop, a few turns late.
    replaceTrigger(vm.device, 1, () => setTimeout(() => setTimeout(() => fd.signal(), 0), 0));
    const buf = vm.g.heap.alloc(0x100);
    expect((await vm.g.fill(buf, 0x100, 1n)).status).toBe(1);
    expect([vm.g.stats.interrupts[1], vm.g.stats.missedInterrupts]).toEqual([1, 0]);
  });
});

describe('records that come without an interrupt, and waits that find nothing', () => {
  it('a 0x19 record (handle revoked behind the driver) completes from the record without a poll hook, and is no lost interrupt', async () => {
    const vm = await openVm(DWQ, { rig: automaticRig(), poll: undefined });
    (Reflect.get(vm.vdev, 'handles') as VdevHandles).releaseAll();
    const buf = vm.g.heap.alloc(0x100);
    const e = await rejection(vm.g.fill(buf, 0x100, 1n));
    expect(e).toBeInstanceOf(IdxdStatusError);
    expect(e).toMatchObject({ reason: 'status', status: Status.INT_HANDLE_INVAL, statusName: 'INT_HANDLE_INVAL' });
    expect(vm.g.stats.missedInterrupts).toBe(0);
  });

  it.each(['interrupt', 'poll'] as const)('a device that never runs the descriptor (no poll hook, %s completion): ETIMEDOUT after the poll limit', async (completion) => {
    // A deterministic model nobody steps: the descriptor is accepted and stays queued.
    const vm = await openVm(SWQ, { poll: undefined, completion, pollLimit: 5 });
    const buf = vm.g.heap.alloc(0x100);
    const e = await rejection(vm.g.fill(buf, 0x100, 1n));
    expect(e).toBeInstanceOf(IdxdGuestError);
    expect(e).toMatchObject({ reason: 'timeout', code: 'ETIMEDOUT' });
    expect((e as Error).message).toMatch(/^fill: no completion after 6 waits without a poll hook/);
    expect(vm.vdev.occupancy).toBe(1);
  });

  it('a deterministic model nobody steps fails fast by default, with a message that says to pass a poll hook', async () => {
    const vm = await openVm(DWQ, { poll: undefined, completion: 'poll' });
    const buf = vm.g.heap.alloc(0x100);
    const e = await rejection(vm.g.fill(buf, 0x100, 1n));
    expect(e).toMatchObject({ reason: 'timeout', code: 'ETIMEDOUT' });
    // The default bound is 2000 waits (about two seconds of timer ticks), not the minutes it used to be.
    expect((e as Error).message).toMatch(/^fill: no completion after 2001 waits without a poll hook: .*deterministic mode runs only when stepped: pass the `poll` option/);
  });
});
