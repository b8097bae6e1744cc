import { describe, expect, it } from 'vitest';
import { ERRNO, EventFd, HandleTable, VfioError, errnoName, isIrqTrigger } from '../../src/vfio/index.js';

describe('EventFd', () => {
  it('counts signals and resets on read', () => {
    const fd = new EventFd();
    fd.signal();
    fd.signal();
    fd.signal(3);
    expect(fd.count).toBe(5);
    expect(fd.read()).toBe(5);
    expect(fd.read()).toBe(0);
  });

  it('is a trigger, as is a callback; plain objects and numbers are not', () => {
    expect(isIrqTrigger(new EventFd())).toBe(true);
    expect(isIrqTrigger(() => undefined)).toBe(true);
    expect(isIrqTrigger({ signal: 1 })).toBe(false);
    expect(isIrqTrigger(3)).toBe(false);
    expect(isIrqTrigger(null)).toBe(false);
  });
});

describe('HandleTable', () => {
  it('hands out the lowest free handle, like file descriptors', () => {
    const t = new HandleTable<string>();
    expect([t.add('a'), t.add('b'), t.add('c')]).toEqual([0, 1, 2]);
    expect(t.remove(1)).toBe(true);
    expect(t.add('d')).toBe(1);
    expect(t.get(1)).toBe('d');
    expect(t.size).toBe(3);
  });

  it('resolves nothing for freed, negative or unknown handles', () => {
    const t = new HandleTable<string>();
    t.add('a');
    t.remove(0);
    expect([t.get(0), t.get(-1), t.get(5)]).toEqual([undefined, undefined, undefined]);
    expect(t.remove(0)).toBe(false);
  });
});

describe('VfioError', () => {
  it('carries the errno name, the Linux number and a readable message', () => {
    const e = new VfioError('EBUSY', 'device is open');
    expect(e).toBeInstanceOf(Error);
    expect([e.code, e.errno, e.message, e.name]).toEqual(['EBUSY', 16, 'EBUSY: device is open', 'VfioError']);
  });

  it('maps the Linux x86-64 numbers both ways', () => {
    expect(ERRNO).toMatchObject({ ENOENT: 2, EIO: 5, EBADF: 9, EAGAIN: 11, EFAULT: 14, EEXIST: 17, ENODEV: 19, EINVAL: 22, ENOTTY: 25, ENOSPC: 28, ENOMSG: 42 });
    expect(errnoName(25)).toBe('ENOTTY');
    expect(errnoName(1000)).toBeUndefined();
  });
});
