/**
 * Teardown that holds whatever the VMM and the host are doing (vidxd-device.md §7.4, §9; issue 16
 * items 1 and 4): close, VFIO reset, detach, the guest's RESET_DEVICE and remove leave nothing of the
 * vdev that can still run — not with a host command in flight (the parent's CMD active), and not when
 * called from a callback of the vdev's own batch in the middle of it. No DMA, record or interrupt of
 * the vdev happens after the call returns, and a host PASID or interrupt-handle entry given to the next
 * user never carries the old work.
 */
import { describe, expect, it } from 'vitest';
import { Command, Desc, DsaDevice, dsaProfile, Flag, Opcode, type Portal, Status, SubmitStatus } from '../../src/dsa/index.js';
import { IdxdHost } from '../../src/host/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import { VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_MSIX_IRQ_INDEX } from '../../src/vfio/index.js';
import { VidxdParent } from '../../src/vidxd/index.js';
import { desc, noop } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, openGuest, PARENT_CONFIG, parentRig, type ParentRig, SWQ } from './fixtures.js';

/** FILL of `size` bytes of 0x5A at `dst`. */
function fill(dst: number, size: number, o: { cr?: number; handle?: number; pasid?: number; flags?: number } = {}): Uint8Array {
  return desc(Opcode.FILL, { [Desc.SRC]: 0x5a5a5a5a, [Desc.DST]: dst, [Desc.XFER_SIZE]: size }, o);
}

/** True when none of `mem[at, at + n)` holds the FILL pattern byte. */
function untouched(g: Guest, at: number, n: number): boolean {
  return g.mem.bytes.subarray(at, at + n).every((b) => b !== 0x5a);
}

/** A parent whose host driver runs `during` (once) at the first poll of its next waiting command, before the device runs. */
function hookedRig(): { rig: ParentRig; during: (body: () => void) => void } {
  let hook: (() => void) | null = null;
  const dev = new DsaDevice({ profile: dsaProfile() });
  const host = new IdxdHost(dev, {
    wait: () => {
      const h = hook;
      hook = null;
      h?.();
      dev.runUntilIdle();
    },
  });
  host.probe();
  host.load(PARENT_CONFIG);
  const parent = new VidxdParent(host);
  const bus = new MdevBus<Portal>();
  parent.register(bus);
  return { rig: { dev, host, parent, bus }, during: (body) => (hook = body) };
}

describe('teardown with a host command in flight (the parent\'s CMD active)', () => {
  it.each(['close', 'VFIO reset', 'remove'] as const)('%s during a host drain leaves none of the vdev\'s work to run in the next opener\'s memory', (how) => {
    const { rig, during } = hookedRig();
    const { uuid } = createVdev(rig, SWQ);
    const a = new Guest(rig, uuid).up({ pasid: 5 });
    const pasid = a.vdev.hostPasid;
    expect(a.submit(fill(0x8000, 0x100, { cr: 0x9000, pasid: 5 }))).toBe(SubmitStatus.ACCEPTED);
    let next: Guest | null = null;
    let leftAfterCall = -1;
    during(() => {
      expect(rig.dev.commandActive).toBe(true);
      if (how === 'VFIO reset') {
        a.dev.reset();
        leftAfterCall = a.vdev.occupancy;
        next = a.up({ pasid: 5 });
        return;
      }
      a.dev.close();
      leftAfterCall = a.vdev.occupancy;
      if (how === 'remove') {
        rig.bus.remove(uuid);
        next = openGuest(rig, SWQ).up({ pasid: 5 });
      } else {
        next = new Guest(rig, uuid).up({ pasid: 5 });
      }
    });
    rig.host.wq(a.vdev.wq.id).drain();
    rig.dev.runUntilIdle();
    const n = next as Guest | null;
    if (n === null) throw new Error('the hook did not run');
    // The next user runs with the same host PASID: the old work must be gone, not re-pointed at its memory.
    expect([leftAfterCall, n.vdev.hostPasid]).toEqual([0, pasid]);
    expect([untouched(n, 0x8000, 0x100), n.status(0x9000), n.swerrCode(), rig.dev.commandActive]).toEqual([true, 0, -1, false]);
    if (how === 'VFIO reset') expect(untouched(a, 0x8000, 0x100)).toBe(true);
  });

  it('the guest\'s ABORT_ALL during a host drain is not swallowed: its work is abandoned at once', () => {
    const { rig, during } = hookedRig();
    const a = openGuest(rig, SWQ).up({ pasid: 5 });
    a.submit(fill(0x8000, 0x100, { cr: 0x9000, pasid: 5 }));
    let left = -1;
    during(() => {
      a.cmd(Command.ABORT_ALL);
      left = a.vdev.occupancy;
    });
    rig.host.wq(a.vdev.wq.id).drain();
    expect([left, untouched(a, 0x8000, 0x100), a.status(0x9000), a.r32(0xa8)]).toEqual([0, true, 0, 0]);
  });
});

/** Installs `body` as the trigger of MSI-X vector `v` of `g`. */
function onVector(g: Guest, v: number, body: () => void): void {
  g.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: v, count: 1, data: [body] });
}

const TEARDOWNS = ['close', 'detachIoas', 'VFIO reset', 'guest RESET_DEVICE', 'remove, then a new vdev on the same PASID and handle'] as const;
type Teardown = (typeof TEARDOWNS)[number];

/** Runs teardown `how` of `g` (created as `uuid` on `rig`); returns the new guest when one is created. */
function tearDown(rig: ParentRig, g: Guest, uuid: string, how: Teardown, type: string): Guest | null {
  switch (how) {
    case 'close':
      g.dev.close();
      return null;
    case 'detachIoas':
      g.dev.detachIoas();
      return null;
    case 'VFIO reset':
      g.dev.reset();
      return null;
    case 'guest RESET_DEVICE':
      g.cmd(Command.RESET_DEVICE);
      return null;
    default: {
      g.dev.close();
      rig.bus.remove(uuid);
      const b = openGuest(rig, type).up({ pasid: 5, pasidEn: true });
      b.handle(1);
      return b;
    }
  }
}

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('teardown of a %s vdev from a callback of its own batch', (_m, type) => {
  it.each(TEARDOWNS)('%s from a completion interrupt: the rest of the batch does not run, nothing more is written or raised', (how) => {
    const rig = parentRig();
    const { uuid } = createVdev(rig, type);
    const a = new Guest(rig, uuid).up({ pasid: 5, pasidEn: true });
    const h = a.handle(1);
    const pasid = a.vdev.hostPasid;
    // Element 0 interrupts (its callback tears the vdev down); elements 1 and 2 fill A's memory, 2 interrupts too.
    a.mem.bytes.set(noop(0x50000, { pasid: 5, handle: h }), 0x40000);
    a.mem.bytes.set(fill(0x10000, 0x100, { cr: 0x50020, pasid: 5 }), 0x40040);
    a.mem.bytes.set(fill(0x11000, 0x100, { cr: 0x50040, pasid: 5, handle: h }), 0x40080);
    let calls = 0;
    let next: Guest | null = null;
    let leftAfterCall = -1;
    onVector(a, 1, () => {
      calls++;
      if (calls !== 1) return;
      next = tearDown(rig, a, uuid, how, type);
      leftAfterCall = a.vdev.occupancy;
    });
    expect(a.submit(desc(Opcode.BATCH, { [Desc.SRC]: 0x40000, [Desc.XFER_SIZE]: 3 }, { cr: 0x50060, handle: h, pasid: 5 }))).toBe(SubmitStatus.ACCEPTED);
    rig.dev.runUntilIdle();
    expect([calls, leftAfterCall, a.status(0x50000)]).toEqual([1, 0, Status.SUCCESS]);
    expect([untouched(a, 0x10000, 0x100), untouched(a, 0x11000, 0x100), a.status(0x50020), a.status(0x50040), a.status(0x50060)]).toEqual([true, true, 0, 0, 0]);
    const b = next as Guest | null;
    if (b !== null) {
      // The new vdev got the old one's host PASID and interrupt handle: none of the old batch reaches it.
      expect([b.vdev.hostPasid, b.vdev.heldHandles()[1]]).toEqual([pasid, h]);
      expect([untouched(b, 0x10000, 0x100), untouched(b, 0x11000, 0x100), b.status(0x50060), b.interrupts(), b.swerrCode()]).toEqual([true, true, 0, [0, 0], -1]);
    }
    rig.dev.runUntilIdle();
    expect(rig.dev.wqs.every((w) => w.occupancy === 0)).toBe(true);
  });
});

describe('teardown from a page-request callback in the middle of a batch', () => {
  it.each(['close', 'detachIoas', 'VFIO reset'] as const)('%s from the page-request service: no element runs after the call returns', (how) => {
    const rig = parentRig();
    createVdev(rig, DWQ); // takes WQ 0: the guest below gets WQ 1, which allows block on fault
    const { uuid } = createVdev(rig, DWQ);
    const a = new Guest(rig, uuid).up({ pasid: 5, pasidEn: true });
    expect(a.vdev.wq.blockOnFault).toBe(true);
    // Element 0 blocks on a fault beyond the guest's mapping; element 1 would fill its memory.
    a.mem.bytes.set(fill(0x100000, 0x100, { cr: 0x50000, pasid: 5, flags: Flag.CRAV | Flag.RCR | Flag.BOF }), 0x40000);
    a.mem.bytes.set(fill(0x10000, 0x100, { cr: 0x50020, pasid: 5 }), 0x40040);
    let requests = 0;
    rig.dev.pageRequests = () => {
      requests++;
      tearDown(rig, a, uuid, how, DWQ);
      return true;
    };
    a.submit(desc(Opcode.BATCH, { [Desc.SRC]: 0x40000, [Desc.XFER_SIZE]: 2 }, { cr: 0x50060, pasid: 5 }));
    rig.dev.runUntilIdle();
    expect([requests, untouched(a, 0x10000, 0x100), a.status(0x50000), a.status(0x50020), a.status(0x50060)]).toEqual([1, true, 0, 0, 0]);
  });
});
