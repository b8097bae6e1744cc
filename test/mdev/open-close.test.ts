import { describe, expect, it } from 'vitest';
import {
  EventFd,
  VFIO_DEVICE_STATE_RUNNING,
  VFIO_DEVICE_STATE_STOP,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_MIGRATION_STOP_COPY,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VfioDevice,
  regionOffset,
} from '../../src/vfio/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import { TestDevice, type TestMapping } from '../vfio/test-device.js';
import { testParent } from './test-parent.js';
import { errnoOf } from '../util/errno.js';

const U1 = 'b1b1b1b1-0000-4000-8000-000000000001';

function setup(): { bus: MdevBus<TestMapping>; model: TestDevice } {
  const bus = new MdevBus<TestMapping>();
  const parent = testParent('dsa', { a: 1 });
  bus.registerParent(parent.spec);
  bus.create('dsa-a', U1);
  return { bus, model: parent.devices.get(U1) as TestDevice };
}


describe('mdev open / close (vfio-uapi.md §10.4)', () => {
  it('opens a VFIO device handle and reads config space through it', () => {
    const { bus } = setup();
    const dev = bus.open(U1);
    expect(dev).toBeInstanceOf(VfioDevice);
    const id = new Uint8Array(4);
    dev.read(dev.getRegionInfo(VFIO_PCI_CONFIG_REGION_INDEX).offset, id);
    expect([...id]).toEqual([0x86, 0x80, 0x25, 0x0b]);
    expect(bus.device(U1)?.isOpen).toBe(true);
  });

  it('allows one opener at a time (EBUSY), then again after close', () => {
    const { bus } = setup();
    const first = bus.open(U1);
    expect(errnoOf(() => bus.open(U1))).toBe('EBUSY');
    expect(errnoOf(() => bus.device(U1)?.open())).toBe('EBUSY');
    first.close();
    expect(bus.device(U1)?.isOpen).toBe(false);
    const second = bus.open(U1);
    expect(second).not.toBe(first);
    expect(errnoOf(() => first.getInfo())).toBe('EBADF');
  });

  it('answers an unknown UUID with ENODEV', () => {
    expect(errnoOf(() => setup().bus.open('b1b1b1b1-0000-4000-8000-000000000009'))).toBe('ENODEV');
  });

  it('returns the device to its post-create state on close: registers, triggers', () => {
    const { bus, model } = setup();
    const dev = bus.open(U1);
    dev.write(regionOffset(0) + 0x20, Uint8Array.of(1, 2, 3, 4));
    const fd = new EventFd();
    dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: 2, start: 0, count: 2, data: [fd, fd] });
    dev.close();
    const again = bus.open(U1);
    const out = new Uint8Array(4);
    again.read(regionOffset(0) + 0x20, out);
    expect([...out]).toEqual([0, 0, 0, 0]);
    expect(again.irqStatus(2)).toMatchObject({ enabled: false, triggers: [null, null] });
    expect(model.raise(2, 0)).toBe(false);
    expect(fd.count).toBe(0);
    expect([model.opens, model.closes]).toEqual([2, 1]);
  });

  it('opens at migration state RUNNING after a close in STOP', () => {
    const bus = new MdevBus();
    bus.registerParent({
      name: 'm',
      types: [{ name: 't', availableInstances: () => 1, create: () => new TestDevice({ migrationFlags: VFIO_MIGRATION_STOP_COPY }) }],
    });
    bus.create('m-t', U1);
    const dev = bus.open(U1);
    dev.setMigrationState(VFIO_DEVICE_STATE_STOP);
    dev.close();
    expect(bus.open(U1).migrationState()).toBe(VFIO_DEVICE_STATE_RUNNING);
  });

  it('keeps available_instances unchanged across open and close', () => {
    const { bus } = setup();
    const type = bus.type('dsa-a');
    expect(type?.availableInstances()).toBe(0);
    const dev = bus.open(U1);
    expect(type?.availableInstances()).toBe(0);
    dev.close();
    expect(type?.availableInstances()).toBe(0);
  });
});
