import { describe, expect, it } from 'vitest';
import { EventFd, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_REQ_IRQ_INDEX } from '../../src/vfio/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import type { TestMapping } from '../vfio/test-device.js';
import { testParent } from './test-parent.js';
import { errnoOf } from '../util/errno.js';

const A = 'e4e4e4e4-0000-4000-8000-00000000000a';
const B = 'e4e4e4e4-0000-4000-8000-00000000000b';


describe('mdev lifecycle: create → open → remove (EBUSY) → close → remove', () => {
  it('tracks state, open flag and available_instances after every step', () => {
    const bus = new MdevBus<TestMapping>();
    const parent = testParent('dsa', { a: 2 });
    bus.registerParent(parent.spec);
    const type = bus.type('dsa-a');
    const avail = (): number | undefined => type?.availableInstances();
    expect(avail()).toBe(2);

    const a = bus.create('dsa-a', A);
    expect([a.state, a.isOpen, avail()]).toEqual(['active', false, 1]);

    const b = bus.create('dsa-a', B);
    expect([b.state, avail()]).toEqual(['active', 0]);
    expect(errnoOf(() => bus.create('dsa-a', 'e4e4e4e4-0000-4000-8000-00000000000c'))).toBe('ENOSPC');

    const dev = a.open();
    const req = new EventFd();
    dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_REQ_IRQ_INDEX, start: 0, count: 1, data: [req] });
    expect([a.isOpen, avail()]).toEqual([true, 0]);

    expect(errnoOf(() => a.remove())).toBe('EBUSY');
    expect([a.state, a.isOpen, avail(), req.count]).toEqual(['active', true, 0, 1]);

    b.remove();
    expect([b.state, avail()]).toEqual(['removed', 1]);
    expect(errnoOf(() => b.open())).toBe('ENODEV');

    dev.close();
    expect([a.isOpen, avail()]).toEqual([false, 1]);

    a.remove();
    expect([a.state, avail()]).toEqual(['removed', 2]);
    expect(type?.devices()).toEqual([]);

    // The UUID is free again.
    expect(bus.create('dsa-a', A.toUpperCase()).state).toBe('active');
    expect(avail()).toBe(1);
    expect(parent.log).toEqual([`create a ${A}`, `create a ${B}`, `remove a ${B}`, `remove a ${A}`, `create a ${A}`]);
  });
});
