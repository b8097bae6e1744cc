import { describe, expect, it } from 'vitest';
import { EventFd, VFIO_IRQ_SET_ACTION_TRIGGER, VFIO_IRQ_SET_DATA_EVENTFD, VFIO_PCI_REQ_IRQ_INDEX } from '../../src/vfio/index.js';
import { MdevBus } from '../../src/mdev/index.js';
import type { TestMapping } from '../vfio/test-device.js';
import { testParent } from './test-parent.js';
import { errnoOf } from '../util/errno.js';

const U = (n: number): string => `c2c2c2c2-0000-4000-8000-00000000000${n}`;


describe('parent registration and teardown (vfio-uapi.md §10.4)', () => {
  it('refuses a second parent of the same name with EEXIST', () => {
    const bus = new MdevBus();
    bus.registerParent(testParent('dsa', { a: 1 }).spec);
    expect(errnoOf(() => bus.registerParent(testParent('dsa', { b: 1 }).spec))).toBe('EEXIST');
    expect(bus.types().map((t) => t.id)).toEqual(['dsa-a']);
  });

  it('refuses malformed names with a plain Error', () => {
    const bus = new MdevBus();
    expect(() => bus.registerParent(testParent('a/b', { a: 1 }).spec)).toThrow(Error);
    expect(() => bus.registerParent({ name: 'p', types: [...testParent('p', { a: 1 }).spec.types, ...testParent('p', { a: 1 }).spec.types] })).toThrow(/duplicate type/);
  });

  it('removes closed children and the parent when none is open', () => {
    const bus = new MdevBus<TestMapping>();
    const p = testParent('dsa', { a: 3 });
    bus.registerParent(p.spec);
    bus.create('dsa-a', U(1));
    bus.create('dsa-a', U(2));
    bus.unregisterParent('dsa');
    expect(p.log).toEqual([`create a ${U(1)}`, `create a ${U(2)}`, `remove a ${U(1)}`, `remove a ${U(2)}`]);
    expect([bus.parents(), bus.types(), bus.devices()]).toEqual([[], [], []]);
    expect(errnoOf(() => bus.create('dsa-a', U(3)))).toBe('ENOENT');
  });

  it('with an open child: EBUSY, request signalled, closed siblings removed, parent going away', () => {
    const bus = new MdevBus<TestMapping>();
    const p = testParent('dsa', { a: 3 });
    bus.registerParent(p.spec);
    bus.create('dsa-a', U(1));
    bus.create('dsa-a', U(2));
    const dev = bus.open(U(1));
    const req = new EventFd();
    dev.setIrqs({ flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER, index: VFIO_PCI_REQ_IRQ_INDEX, start: 0, count: 1, data: [req] });

    expect(errnoOf(() => bus.unregisterParent('dsa'))).toBe('EBUSY');
    expect(req.count).toBe(1);
    expect(bus.devices().map((d) => d.uuid)).toEqual([U(1)]);
    expect(bus.parent('dsa')?.goingAway).toBe(true);
    expect(errnoOf(() => bus.create('dsa-a', U(3)))).toBe('ENODEV');
    expect(errnoOf(() => bus.remove(U(1)))).toBe('ENODEV');

    expect(errnoOf(() => bus.unregisterParent('dsa'))).toBe('EBUSY');
    expect(req.count).toBe(2);

    dev.close();
    expect(bus.devices()).toEqual([]);
    expect(bus.parent('dsa')).toBeUndefined();
    expect(p.log.at(-1)).toBe(`remove a ${U(1)}`);
  });

  it('allows the name to be registered again once the parent is gone', () => {
    const bus = new MdevBus();
    bus.registerParent(testParent('dsa', { a: 1 }).spec);
    bus.unregisterParent('dsa');
    expect(() => bus.registerParent(testParent('dsa', { a: 1 }).spec)).not.toThrow();
  });

  it('answers an unknown parent with ENODEV', () => {
    expect(errnoOf(() => new MdevBus().unregisterParent('nope'))).toBe('ENODEV');
  });
});
