import { describe, expect, it } from 'vitest';
import {
  EventFd,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_PCI_REQ_IRQ_INDEX,
} from '../../src/vfio/index.js';
import { MdevBus, parseRemoveText } from '../../src/mdev/index.js';
import type { TestMapping } from '../vfio/test-device.js';
import { testParent, type TestParent } from './test-parent.js';
import { errnoOf } from '../util/errno.js';

const U1 = 'a0a0a0a0-0000-4000-8000-000000000001';

function setup(): { bus: MdevBus<TestMapping>; parent: TestParent } {
  const bus = new MdevBus<TestMapping>();
  const parent = testParent('dsa', { 'a': 2 });
  bus.registerParent(parent.spec);
  bus.create('dsa-a', U1);
  return { bus, parent };
}


describe('mdev remove (vfio-uapi.md §10.3)', () => {
  it('removes a closed device, releases it and raises available_instances', () => {
    const { bus, parent } = setup();
    const d = bus.device(U1);
    expect(bus.type('dsa-a')?.availableInstances()).toBe(1);
    bus.remove(U1);
    expect(bus.type('dsa-a')?.availableInstances()).toBe(2);
    expect(bus.device(U1)).toBeUndefined();
    expect(d?.state).toBe('removed');
    expect(parent.log).toEqual([`create a ${U1}`, `remove a ${U1}`]);
  });

  it('answers an unknown UUID with ENODEV', () => {
    const { bus } = setup();
    expect(errnoOf(() => bus.remove('a0a0a0a0-0000-4000-8000-000000000009'))).toBe('ENODEV');
  });

  it('answers EBUSY while open and signals the request trigger, removing nothing', () => {
    const { bus, parent } = setup();
    const dev = bus.open(U1);
    const req = new EventFd();
    dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_REQ_IRQ_INDEX, start: 0, count: 1, data: [req] });
    expect(errnoOf(() => bus.remove(U1))).toBe('EBUSY');
    expect(req.count).toBe(1);
    expect(bus.device(U1)?.state).toBe('active');
    expect(bus.type('dsa-a')?.availableInstances()).toBe(1);
    expect(parent.log).toEqual([`create a ${U1}`]);
    dev.close();
    bus.remove(U1);
    expect(bus.device(U1)).toBeUndefined();
  });

  it('answers EBUSY while open even with no request trigger installed', () => {
    const { bus } = setup();
    bus.open(U1);
    expect(errnoOf(() => bus.device(U1)?.remove())).toBe('EBUSY');
  });

  it('answers EAGAIN for a device that is still being created', () => {
    const bus = new MdevBus();
    let inner: string | undefined;
    bus.registerParent({
      name: 'p',
      types: [
        {
          name: 't',
          availableInstances: () => 1,
          create: (uuid) => {
            inner = errnoOf(() => bus.remove(uuid));
            return { flags: 0, regions: [], irqs: [] };
          },
        },
      ],
    });
    bus.create('p-t', U1);
    expect(inner).toBe('EAGAIN');
    expect(bus.device(U1)?.state).toBe('active');
  });

  it('answers a removed device with ENODEV on remove and open', () => {
    const { bus } = setup();
    const d = bus.device(U1);
    bus.remove(U1);
    expect(errnoOf(() => d?.remove())).toBe('ENODEV');
    expect(errnoOf(() => d?.open())).toBe('ENODEV');
  });

  describe('the sysfs remove file', () => {
    it('does nothing for 0, removes for a non-zero number', () => {
      const { bus } = setup();
      bus.writeRemove(U1, '0\n');
      bus.writeRemove(U1, '0x0');
      expect(bus.device(U1)).toBeDefined();
      bus.writeRemove(U1, '1\n');
      expect(bus.device(U1)).toBeUndefined();
    });

    it('answers non-numeric text with EINVAL and keeps the device', () => {
      const { bus } = setup();
      for (const text of ['', 'yes', '1 ', '-1', '0x', '08']) expect(errnoOf(() => bus.writeRemove(U1, text)), JSON.stringify(text)).toBe('EINVAL');
      expect(bus.device(U1)).toBeDefined();
    });

    it('parses numbers as kstrtoul base 0', () => {
      expect(['1', '+1', '0x10', '010', '00', '0\n'].map(parseRemoveText)).toEqual([true, true, true, true, false, false]);
    });
  });
});
