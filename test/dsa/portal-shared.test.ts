/** Portals of a shared WQ: enqueues are accepted or retried (size, threshold), posted writes are ignored, PASIDs as ENQCMD/ENQCMDS give them. */
import { describe, expect, it } from 'vitest';
import { Command, Status, SubmitStatus } from '../../src/dsa/index.js';
import { memmove, noop, rig } from './device-fixtures.js';

const swq = (thresh = 3) => rig().pciUp().errorsOn().group(0, [0], [0]).swq(0, 6, { wqThresh: thresh }).up([0]);

describe('shared WQ portal', () => {
  it('the unlimited portal accepts until the WQ is full, then answers retry and queues nothing', () => {
    const r = swq();
    const p = r.dev.portal(0);
    const results = Array.from({ length: 8 }, (_, i) => p.enqcmd(noop(0x8000 + 32 * i), 0, 1));
    expect(results).toEqual([0, 0, 0, 0, 0, 0, 1, 1].map((x) => (x === 0 ? SubmitStatus.ACCEPTED : SubmitStatus.RETRY)));
    expect(r.dev.occupancy(0)).toBe(6);
    expect(r.swerrField('valid')).toBe(0);
    r.dev.step();
    expect(p.enqcmd(noop(0x9000), 0, 1)).toBe(SubmitStatus.ACCEPTED);
  });

  it('the limited portal answers retry once occupancy reaches the threshold', () => {
    const r = swq(3);
    const lim = r.dev.portal(0, { limited: true });
    const results = Array.from({ length: 4 }, () => lim.enqcmd(noop(0x8000), 0, 1));
    expect(results).toEqual([SubmitStatus.ACCEPTED, SubmitStatus.ACCEPTED, SubmitStatus.ACCEPTED, SubmitStatus.RETRY]);
    expect(r.dev.portal(0).enqcmd(noop(0x8000), 0, 1)).toBe(SubmitStatus.ACCEPTED);
  });

  it('with threshold 0 the limited portal always answers retry', () => {
    const r = swq(0);
    expect(r.dev.portal(0, { limited: true }).enqcmd(noop(0x8000), 0, 1)).toBe(SubmitStatus.RETRY);
  });

  it('ignores a MOVDIR64B', () => {
    const r = swq();
    expect(r.dev.portal(0).movdir64b(noop(0x8000))).toBe(SubmitStatus.IGNORED);
    expect(r.dev.occupancy(0)).toBe(0);
  });

  it('answers retry while the WQ or the device is disabled', () => {
    const r = swq();
    r.cmd(Command.DISABLE_WQ, 1);
    expect(r.dev.portal(0).enqcmd(noop(0x8000), 0, 1)).toBe(SubmitStatus.RETRY);
  });

  it('ENQCMD runs with the submitter\'s PASID and Priv 0; ENQCMDS with the PASID and Priv in bytes 0–3', () => {
    const r = swq();
    r.space(2).unmap(0, 0x10000);
    const p = r.dev.portal(0);
    p.enqcmd(memmove(0x1000, 0x2000, 8, { cr: 0x8000, pasid: 2 }), 0, 1);
    p.enqcmds(memmove(0x1000, 0x2000, 8, { cr: 0x8020, pasid: 2 }));
    p.enqcmds(memmove(0x1000, 0x2000, 8, { cr: 0x8040, pasid: 1, priv: true }));
    r.dev.runUntilIdle();
    expect(r.status(0x8000)).toBe(Status.SUCCESS);
    expect(r.status(0x8020)).toBe(0);
    expect(r.swerrField('error')).toBe(Status.CRA_XLAT);
    expect(r.status(0x8040)).toBe(Status.SUCCESS);
  });

  it('a privileged ENQCMDS without PASID privileged mode is discarded with SWERR 0x1D', () => {
    const r = rig().pciUp().errorsOn().group(0, [0], [0]).swq(0, 4);
    r.dev.pci.config.write(r.dev.pasid.offset + 6, 2, 1);
    r.up([0]);
    r.dev.portal(0).enqcmds(noop(0x8000, { pasid: 1, priv: true }));
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.swerrField('error'), r.swerrField('pasid'), r.swerrField('priv')]).toEqual([0, Status.PRIV_BAD, 1, 1]);
  });

  it('submit() is an ENQCMDS on a shared WQ', () => {
    const r = swq();
    expect(r.dev.portal(0).submit(noop(0x8000, { pasid: 3 }))).toBe(SubmitStatus.ACCEPTED);
    expect(r.dev.occupancy(0, 3)).toBe(1);
  });
});

describe('portal PASID policies', () => {
  it('a fixed policy submits every descriptor with its PASID and Priv, whatever bytes 0–3 say', () => {
    const r = swq();
    const bound = r.dev.portal(0).bind({ kind: 'fixed', pasid: 2, priv: true });
    expect(bound.submit(noop(0x8000, { pasid: 1 }))).toBe(SubmitStatus.ACCEPTED);
    expect([r.dev.occupancy(0, 2), r.dev.occupancy(0, 1)]).toEqual([1, 0]);
    expect(bound.wq === 0 && !bound.limited && bound.policy.kind === 'fixed').toBe(true);
  });

  it('a translating policy maps the guest PASID to the host one; a miss is dropped and reported, never run', () => {
    const r = swq();
    const table = new Map([[7, 1]]);
    const rejected: number[] = [];
    const bound = r.dev.portal(0, { limited: true }).bind({ kind: 'translate', table, onReject: (g) => rejected.push(g) });
    expect(bound.submit(memmove(0x1000, 0x2000, 8, { cr: 0x8000, pasid: 7 }))).toBe(SubmitStatus.ACCEPTED);
    expect(bound.submit(memmove(0x1000, 0x2000, 8, { cr: 0x8020, pasid: 8 }))).toBe(SubmitStatus.DROPPED);
    table.set(8, 2);
    expect(bound.submit(noop(0x8040, { pasid: 8 }))).toBe(SubmitStatus.ACCEPTED);
    expect([r.dev.occupancy(0, 1), r.dev.occupancy(0, 2), rejected]).toEqual([1, 1, [8]]);
    r.dev.runUntilIdle();
    expect([r.status(0x8000), r.status(0x8020), r.status(0x8040)]).toEqual([Status.SUCCESS, 0, Status.SUCCESS]);
  });

  it('a translating policy with a privilege gate drops Priv = 1 while the gate is closed, reporting why', () => {
    const r = swq();
    const gate = { privilegedEnabled: false };
    const rejected: string[] = [];
    const bound = r.dev.portal(0).bind({ kind: 'translate', table: new Map([[7, 1]]), privileged: gate, onReject: (g, _s, _o, why) => rejected.push(`${g}:${why}`) });
    expect(bound.submit(noop(0x8000, { pasid: 7, priv: true }))).toBe(SubmitStatus.DROPPED);
    expect(bound.submit(noop(0x8020, { pasid: 9, priv: true }))).toBe(SubmitStatus.DROPPED);
    expect(bound.submit(noop(0x8040, { pasid: 7 }))).toBe(SubmitStatus.ACCEPTED);
    gate.privilegedEnabled = true;
    expect(bound.submit(noop(0x8060, { pasid: 7, priv: true }))).toBe(SubmitStatus.ACCEPTED);
    expect([r.dev.occupancy(0, 1), rejected]).toEqual([2, ['7:priv', '9:pasid']]);
  });

  it('on a dedicated WQ a policy changes nothing: the WQCFG PASID applies', () => {
    const r = rig().pciUp().group(0, [0], [0]).dwq(0, 4, { pasidEn: 1, pasid: 3 }).up([0]);
    const bound = r.dev.portal(0).bind({ kind: 'translate', table: new Map() });
    expect(bound.submit(noop(0x8000, { pasid: 9 }))).toBe(SubmitStatus.ACCEPTED);
    expect(r.dev.occupancy(0, 3)).toBe(1);
  });
});

describe('DsaDevice.portalWrite', () => {
  it('performs MOVDIR64B, ENQCMD and ENQCMDS at a BAR2 offset, and ignores plain or misaligned writes', () => {
    const r = rig().pciUp().group(0, [0, 1], [0]).dwq(0, 4).swq(1, 4).up([0, 1]);
    const d = new Uint8Array(80);
    d.set(noop(0x8000, { pasid: 2 }), 16);
    expect(r.dev.portalWrite(0x40, d, 16, 'movdir64b')).toBe(SubmitStatus.ACCEPTED);
    expect(r.dev.portalWrite(0x4000, d, 16, 'enqcmd', 1)).toBe(SubmitStatus.ACCEPTED);
    expect(r.dev.portalWrite(0x4000, d, 16, 'enqcmds')).toBe(SubmitStatus.ACCEPTED);
    expect(r.dev.portalWrite(0x4000, d, 16, 'write')).toBe(SubmitStatus.IGNORED);
    expect(r.dev.portalWrite(0x4020, d, 16, 'enqcmds')).toBe(SubmitStatus.RETRY);
    expect([r.dev.occupancy(0), r.dev.occupancy(1, 1), r.dev.occupancy(1, 2)]).toEqual([1, 1, 1]);
    expect(r.dev.mmioRead(0x90, 4)).toBe(1);
    r.dev.mmioWrite(0x300, 8, 0x1008, 0);
    expect(r.dev.mmioRead(0x300, 4)).toBe(0x1008);
  });
});
