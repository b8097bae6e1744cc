/**
 * Host-API misuse (vfio-uapi.md §1.3, §12): an argument of the wrong kind — null where a number, a
 * request, an IOAS, a UUID or a buffer goes, a DataView for a byte buffer, a feature word beyond 32
 * bits, a trigger whose `signal` getter throws — is a typed `VfioError` with the errno the kernel
 * would give, never an untyped TypeError, never a silent success, and it changes nothing. A REQ
 * callback that closes the device lets the pending remove succeed.
 */
import { describe, expect, it } from 'vitest';
import { SubmitStatus } from '../../src/dsa/index.js';
import {
  regionOffset, VFIO_DEVICE_FEATURE_GET, VFIO_DEVICE_FEATURE_MIGRATION, VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO,
  VFIO_DEVICE_SET_IRQS, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX,
  VfioIoctl,
} from '../../src/vfio/index.js';
import { memmove } from '../dsa/device-fixtures.js';
import { errnoOf } from '../util/errno.js';
import { CONFIG, createVdev, DWQ, Guest, parentRig } from '../vidxd/fixtures.js';

/** A guest up on a dedicated vdev, and a snapshot of what a misused call must not change. */
function setup(): { rig: ReturnType<typeof parentRig>; g: Guest; uuid: string; state: () => unknown } {
  const rig = parentRig();
  const { uuid } = createVdev(rig, DWQ);
  const g = new Guest(rig, uuid).up();
  const state = (): unknown => ({
    cfg: Array.from({ length: 0x40 }, (_, i) => g.cfg(4 * i)),
    msix: g.dev.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers.length,
    msixTriggers: g.dev.irqStatus(VFIO_PCI_MSIX_IRQ_INDEX).triggers.map((t) => t !== null),
    ioas: g.dev.ioas === g.ioas,
    space: g.vdev.space,
    devices: rig.bus.devices().map((d) => d.uuid),
    closed: g.dev.closed,
  });
  return { rig, g, uuid, state };
}

/** Runs `f` as misuse: expects `errno` from a VfioError and an unchanged state. */
function misuse(f: (s: ReturnType<typeof setup>) => unknown, errno: string): void {
  const s = setup();
  const before = s.state();
  expect(errnoOf(() => f(s))).toBe(errno);
  expect(s.state()).toEqual(before);
  // The device still works: a copy through the mapped portal completes.
  s.g.mem.bytes.fill(0x11, 0x1000, 0x1040);
  expect(s.g.submit(memmove(0x1000, 0x2000, 0x40, { cr: 0x3000 }))).toBe(SubmitStatus.ACCEPTED);
  s.rig.dev.runUntilIdle();
  expect(s.g.status(0x3000)).toBe(1);
}

const NULL = null as unknown as number;

describe('host-API misuse is a typed error that changes nothing', () => {
  it('readRegion / writeRegion with a null offset: EINVAL', () => {
    misuse(({ g }) => g.dev.readRegion(CONFIG, NULL, new Uint8Array(4)), 'EINVAL');
    misuse(({ g }) => g.dev.writeRegion(CONFIG, NULL, new Uint8Array(4)), 'EINVAL');
  });

  it('read / write at a null position: EINVAL (not position 0)', () => {
    misuse(({ g }) => g.dev.read(NULL, new Uint8Array(4)), 'EINVAL');
    misuse(({ g }) => g.dev.write(NULL, new Uint8Array([0, 0, 0, 0])), 'EINVAL');
  });

  it('a DataView, or null, where a byte buffer goes: EINVAL (not undefined, not a TypeError)', () => {
    const view = (): Uint8Array => new DataView(new ArrayBuffer(4)) as unknown as Uint8Array;
    misuse(({ g }) => g.dev.writeRegion(CONFIG, 0, view()), 'EINVAL');
    misuse(({ g }) => g.dev.readRegion(CONFIG, 0, view()), 'EINVAL');
    misuse(({ g }) => g.dev.write(regionOffset(CONFIG), view()), 'EINVAL');
    misuse(({ g }) => g.dev.readRegion(CONFIG, 0, null as unknown as Uint8Array), 'EINVAL');
  });

  it('mmap at a null position or of a null length: EINVAL', () => {
    misuse(({ g }) => g.dev.mmap(NULL, 0x1000), 'EINVAL');
    misuse(({ g }) => g.dev.mmap(regionOffset(2), NULL), 'EINVAL');
  });

  it('setIrqs(null): EINVAL', () => {
    misuse(({ g }) => g.dev.setIrqs(null as never), 'EINVAL');
  });

  it('attachIoas(null) and attachIoas({}): EINVAL, the device stays attached to its IOAS', () => {
    misuse(({ g }) => g.dev.attachIoas(null as never), 'EINVAL');
    misuse(({ g }) => g.dev.attachIoas({} as never), 'EINVAL');
  });

  it('bus.open(null), bus.remove(null) and bus.create(type, null): EINVAL', () => {
    misuse(({ rig }) => rig.bus.open(null as never), 'EINVAL');
    misuse(({ rig }) => rig.bus.remove(null as never), 'EINVAL');
    misuse(({ rig }) => rig.bus.create(DWQ, null as never), 'EINVAL');
  });

  it('ioctl(request, null): EFAULT (a null user pointer), never a TypeError', () => {
    for (const req of [VFIO_DEVICE_GET_INFO, VFIO_DEVICE_GET_REGION_INFO, VFIO_DEVICE_SET_IRQS]) {
      misuse(({ g }) => new VfioIoctl(g.dev).ioctl(req, null as never), 'EFAULT');
    }
  });

  it('feature(2^32 + flags) and a null data buffer: EINVAL (the flags are a u32)', () => {
    misuse(({ g }) => g.dev.feature(2 ** 32 + (VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION), new Uint8Array(8)), 'EINVAL');
    misuse(({ g }) => g.dev.feature(VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, null as never), 'EINVAL');
  });

  it('a trigger whose signal getter throws is not a trigger: EBADF, nothing installed', () => {
    const hostile = Object.defineProperty({}, 'signal', { get: () => { throw new Error('getter'); } });
    misuse(({ g }) => g.dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_MSIX_IRQ_INDEX, start: 1, count: 1, data: [hostile as never] }), 'EBADF');
  });
});

describe('a REQ callback that closes the device', () => {
  it('lets the pending remove succeed', () => {
    const { rig, g, uuid } = setup();
    let signalled = 0;
    g.dev.setIrqs({
      flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_REQ_IRQ_INDEX, start: 0, count: 1,
      data: [() => {
        signalled++;
        g.dev.close();
      }],
    });
    expect(errnoOf(() => rig.bus.remove(uuid))).toBeUndefined();
    expect(signalled).toBe(1);
    expect(rig.bus.device(uuid)).toBeUndefined();
    expect(g.vdev.removed).toBe(true);
    // The UUID is free again.
    expect(errnoOf(() => rig.bus.create(DWQ, uuid))).toBeUndefined();
  });
});
