/**
 * Reset and reconfiguration of the device with users (issue 16 item 3): refused with HostBusyError
 * (EBUSY) naming what is held, or — with `{ force: true }` — after every owner's `revoke` hook gave it
 * back; interrupt handles released twice or across a reset never free another user's entry.
 */
import { describe, expect, it } from 'vitest';
import { HostBusyError, HostError, type WqOwner } from '../../src/host/index.js';
import { hostRig, TWO_GROUPS } from './host-fixtures.js';

function loaded(): ReturnType<typeof hostRig> {
  const r = hostRig();
  r.host.probe();
  r.host.load(TWO_GROUPS);
  return r;
}

function error(body: () => void): unknown {
  try {
    body();
  } catch (e) {
    return e;
  }
  return null;
}

describe('device reset with users', () => {
  it('is refused while a WQ is claimed, a PASID attached or a handle allocated; the error names each', () => {
    const r = loaded();
    const owner: WqOwner = {};
    r.host.wq(0).claim(owner);
    r.host.wq(1).attachPasid(3, owner);
    const h = r.host.allocInterruptHandle(() => {}, 3);
    const e = error(() => r.host.resetDevice());
    expect(e).toBeInstanceOf(HostBusyError);
    expect((e as HostBusyError).held).toEqual({ claimedWqs: [0], pasids: [{ wq: 1, pasid: 3 }], interruptHandles: [h.entry] });
    expect(r.host.wq(0).configured && r.host.wq(0).owner === owner).toBe(true);
    r.host.wq(0).release(owner);
    r.host.wq(1).detachPasid(3);
    expect(error(() => r.host.resetDevice())).toBeInstanceOf(HostBusyError);
    r.host.freeInterruptHandle(h);
    r.host.resetDevice();
    expect(r.host.wq(0).configured).toBe(false);
  });

  it('with force, every owner\'s revoke hook runs once first; what an owner without one holds still refuses', () => {
    const r = loaded();
    const revoked: string[] = [];
    const a: WqOwner = {
      revoke: () => {
        revoked.push('a');
        r.host.wq(0).release(a);
        r.host.wq(1).detachPasid(4);
      },
    };
    r.host.wq(0).claim(a);
    r.host.wq(1).attachPasid(4, a);
    const b: WqOwner = {};
    r.host.wq(1).attachPasid(5, b);
    const e = error(() => r.host.resetDevice({ force: true }));
    expect([revoked, (e as HostBusyError).held.pasids]).toEqual([['a'], [{ wq: 1, pasid: 5 }]]);
    r.host.wq(1).detachPasid(5);
    r.host.resetDevice({ force: true });
    expect(revoked).toEqual(['a']);
  });

  it('a handle released once cannot release the entry again once it is allocated to someone else (EINVAL)', () => {
    const r = loaded();
    const first = r.host.allocInterruptHandle(() => {}, 1);
    r.host.freeInterruptHandle(first);
    const second = r.host.allocInterruptHandle(() => {}, 2);
    expect(second.entry).toBe(first.entry);
    const e = error(() => r.host.freeInterruptHandle(first));
    expect([e instanceof HostError, (e as HostError).code]).toEqual([true, 'EINVAL']);
    expect(r.host.held().interruptHandles).toEqual([second.entry]);
  });
});
