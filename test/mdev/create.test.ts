import { describe, expect, it } from 'vitest';
import { MdevBus, isUuid, parseUuidText } from '../../src/mdev/index.js';
import type { TestMapping } from '../vfio/test-device.js';
import { testParent } from './test-parent.js';
import { errnoOf } from '../util/errno.js';

const U1 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001';
const U2 = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1002';

function bus(): { bus: MdevBus<TestMapping>; log: string[] } {
  const b = new MdevBus<TestMapping>();
  const p = testParent('dsa', { '1dwq-v1': 2, '1swq-v1': 1 });
  b.registerParent(p.spec);
  b.registerParent(testParent('mtty', { '1': 1 }).spec);
  return { bus: b, log: p.log };
}


describe('mdev create (vfio-uapi.md §10.2)', () => {
  it('creates a device of a type, lowers available_instances and lists it under the type', () => {
    const { bus: b, log } = bus();
    const type = b.type('dsa-1dwq-v1');
    expect(type?.availableInstances()).toBe(2);
    const d = b.create('dsa-1dwq-v1', U1);
    expect([d.uuid, d.type.id, d.parent.name, d.state, d.isOpen]).toEqual([U1, 'dsa-1dwq-v1', 'dsa', 'active', false]);
    expect(type?.availableInstances()).toBe(1);
    expect(type?.devices()).toEqual([U1]);
    expect(log).toEqual([`create 1dwq-v1 ${U1}`]);
  });

  it('accepts the 37-character sysfs form with a trailing newline', () => {
    expect(bus().bus.create('dsa-1dwq-v1', `${U1}\n`).uuid).toBe(U1);
  });

  it('accepts an uppercase UUID and stores it lowercase', () => {
    const { bus: b } = bus();
    expect(b.create('dsa-1dwq-v1', U1.toUpperCase()).uuid).toBe(U1);
    expect(b.device(U1.toUpperCase())?.uuid).toBe(U1);
  });

  describe('bad UUID text → EINVAL (checks 1 and 2), nothing created', () => {
    const bad: [string, string][] = [
      ['35 characters', U1.slice(1)],
      ['38 characters', `${U1}\n\n`],
      ['37 characters without a trailing newline', `${U1} `],
      ['a leading newline', `\n${U1}`],
      ['braces', `{${U1.slice(1, 35)}}`],
      ['a non-hex digit', U1.replace('f', 'g')],
      ['misplaced dashes', '83b8f4f2509f-382f-3c1e-e6bfe0fa10-01'],
      ['the empty string', ''],
    ];
    for (const [what, text] of bad) {
      it(what, () => {
        const { bus: b, log } = bus();
        expect(errnoOf(() => b.create('dsa-1dwq-v1', text))).toBe('EINVAL');
        expect(log).toEqual([]);
        expect(b.type('dsa-1dwq-v1')?.availableInstances()).toBe(2);
      });
    }
  });

  it('checks the UUID before the type', () => {
    expect(errnoOf(() => bus().bus.create('no-such-type', 'nope'))).toBe('EINVAL');
  });

  it('answers an unknown type with ENOENT (check 3), before a duplicate UUID', () => {
    const { bus: b } = bus();
    b.create('dsa-1dwq-v1', U1);
    expect(errnoOf(() => b.create('dsa-9', U1))).toBe('ENOENT');
  });

  it('answers a UUID already in use by any parent with EEXIST (check 4), any case', () => {
    const { bus: b, log } = bus();
    b.create('dsa-1dwq-v1', U1);
    expect(errnoOf(() => b.create('dsa-1dwq-v1', U1))).toBe('EEXIST');
    expect(errnoOf(() => b.create('mtty-1', U1.toUpperCase()))).toBe('EEXIST');
    expect(log).toEqual([`create 1dwq-v1 ${U1}`]);
    expect(b.type('dsa-1dwq-v1')?.availableInstances()).toBe(1);
  });

  it('answers a type with no instance left with ENOSPC (check 6)', () => {
    const { bus: b } = bus();
    b.create('dsa-1swq-v1', U1);
    expect(b.type('dsa-1swq-v1')?.availableInstances()).toBe(0);
    expect(errnoOf(() => b.create('dsa-1swq-v1', U2))).toBe('ENOSPC');
    expect(b.device(U2)).toBeUndefined();
  });

  it('rejects a type whose create throws and forgets the UUID', () => {
    const b = new MdevBus();
    b.registerParent({
      name: 'p',
      types: [{ name: 't', availableInstances: () => 1, create: () => { throw new Error('probe failed'); } }],
    });
    expect(() => b.create('p-t', U1)).toThrow('probe failed');
    expect(b.device(U1)).toBeUndefined();
  });

  it('validates UUID text with the helpers', () => {
    expect(isUuid(U1)).toBe(true);
    expect(isUuid(`${U1}\n`)).toBe(false);
    expect(parseUuidText(`${U1.toUpperCase()}\n`)).toBe(U1);
  });
});
