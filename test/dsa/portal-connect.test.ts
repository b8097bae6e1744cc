/** A portal object can be disconnected from its WQ by its holder (a binder gating what it handed out); other portal objects are not affected. */
import { describe, expect, it } from 'vitest';
import { SubmitStatus } from '../../src/dsa/index.js';
import { noop, rig } from './device-fixtures.js';

const up = () => rig().pciUp().errorsOn().group(0, [0, 1], [0]).dwq(0, 4).swq(1, 4).up([0, 1]);

describe('Portal.setConnected', () => {
  it('a disconnected portal ignores posted writes and answers retry to enqueues; reconnected, it submits again', () => {
    const r = up();
    const d = r.dev.portal(0).bind({ kind: 'descriptor' });
    const s = r.dev.portal(1).bind({ kind: 'translate', table: new Map([[5, 2]]) });
    d.setConnected(false);
    s.setConnected(false);
    expect([d.connected, s.connected]).toEqual([false, false]);
    expect([d.submit(noop(0x8000)), d.movdir64b(noop(0x8000)), s.submit(noop(0x8000, { pasid: 5 })), s.enqcmd(noop(0x8000), 0, 1)])
      .toEqual([SubmitStatus.IGNORED, SubmitStatus.IGNORED, SubmitStatus.RETRY, SubmitStatus.RETRY]);
    expect([r.dev.occupancy(0), r.dev.occupancy(1)]).toEqual([0, 0]);
    expect(() => s.submit(new Uint8Array(8))).toThrow(RangeError);
    d.setConnected(true);
    s.setConnected(true);
    expect([d.submit(noop(0x8000)), s.submit(noop(0x8000, { pasid: 5 }))]).toEqual([SubmitStatus.ACCEPTED, SubmitStatus.ACCEPTED]);
  });

  it('affects only that object: the device\'s portal and later bindings stay connected', () => {
    const r = up();
    const base = r.dev.portal(0);
    const a = base.bind({ kind: 'descriptor' });
    a.setConnected(false);
    const b = a.bind({ kind: 'descriptor' });
    expect([base.connected, b.connected]).toEqual([true, true]);
    expect(base.submit(noop(0x8000))).toBe(SubmitStatus.ACCEPTED);
    expect(b.submit(noop(0x8020))).toBe(SubmitStatus.ACCEPTED);
  });

  it('a portal on no WQ stays unconnected', () => {
    const r = rig({ imsMultiplier: 0 });
    const ims = r.dev.portal(0, { ims: true });
    ims.setConnected(true);
    expect([ims.connected, ims.submit(noop(0x8000))]).toEqual([false, SubmitStatus.IGNORED]);
  });
});
