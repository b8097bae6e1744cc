/** Portals of a dedicated WQ: MOVDIR64B is queued, dropped when full (SWERR 0x53) and ignored when it cannot be taken. */
import { describe, expect, it } from 'vitest';
import { Command, INTCAUSE, Opcode, SoftwareErrorCode, SubmitStatus, WQCFG } from '../../src/dsa/index.js';
import { memmove, noop, rig } from './device-fixtures.js';

const dwq = () => rig().pciUp().errorsOn().group(0, [0, 1], [0]).dwq(0, 4, { pasidEn: 1, pasid: 2, priv: 1 }).swq(1, 4).up([0, 1]);

describe('dedicated WQ portal', () => {
  it('queues a MOVDIR64B and counts it in WQCFG.occupancy until it runs', () => {
    const r = dwq();
    expect(r.dev.portal(0).movdir64b(noop(0x8000))).toBe(SubmitStatus.ACCEPTED);
    expect(r.field(WQCFG, 'occupancy', 0)).toBe(1);
    r.dev.runUntilIdle();
    expect([r.field(WQCFG, 'occupancy', 0), r.status(0x8000)]).toEqual([0, 1]);
  });

  it('uses the PASID and Priv programmed in WQCFG, whatever bytes 0–3 say', () => {
    const r = dwq();
    r.dev.portal(0).movdir64b(memmove(0x1000, 0x2000, 16, { cr: 0x8000, pasid: 3 }));
    r.space(3).unmap(0, 0x10000);
    r.dev.runUntilIdle();
    expect(r.status(0x8000)).toBe(1);
  });

  it('drops a MOVDIR64B to a full WQ and logs SWERR 0x53 with the descriptor\'s opcode and the WQ\'s PASID', () => {
    const r = dwq();
    const p = r.dev.portal(0);
    for (let i = 0; i < 4; i++) expect(p.movdir64b(noop(0x8000 + 32 * i))).toBe(SubmitStatus.ACCEPTED);
    expect(p.movdir64b(memmove(0x1000, 0x2000, 8, { cr: 0x9000 }))).toBe(SubmitStatus.DROPPED);
    expect(r.field(WQCFG, 'occupancy', 0)).toBe(4);
    expect([
      r.swerrField('valid'), r.swerrField('error'), r.swerrField('descValid'), r.swerrField('wqIdxValid'), r.swerrField('wqIdx'),
      r.swerrField('operation'), r.swerrField('pasid'), r.swerrField('priv'),
    ]).toEqual([1, SoftwareErrorCode.DWQ_FULL, 1, 1, 0, Opcode.MEMMOVE, 2, 1]);
    expect(r.intcause()).toBe(1 << INTCAUSE.fields.softwareError.lo);
    expect(r.vectors).toEqual([0]);
    r.dev.runUntilIdle();
    expect(r.status(0x9000)).toBe(0);
  });

  it('a second drop only sets SWERR.overflow', () => {
    const r = dwq();
    const p = r.dev.portal(0);
    for (let i = 0; i < 4; i++) p.movdir64b(noop(0x8000));
    p.movdir64b(noop(0x9000));
    p.movdir64b(memmove(0, 0x100, 8));
    expect([r.swerrField('overflow'), r.swerrField('operation')]).toEqual([1, Opcode.NOOP]);
  });

  it('ignores a MOVDIR64B to a disabled WQ or a disabled device, without SWERR', () => {
    const r = dwq();
    r.cmd(Command.DISABLE_WQ, 1);
    expect(r.dev.portal(0).movdir64b(noop(0x8000))).toBe(SubmitStatus.IGNORED);
    r.cmd(Command.DISABLE_DEVICE);
    expect(r.dev.portal(1).movdir64b(noop(0x8000))).toBe(SubmitStatus.IGNORED);
    expect(r.swerrField('valid')).toBe(0);
  });

  it('answers an enqueue (ENQCMD/ENQCMDS) with retry', () => {
    const r = dwq();
    expect(r.dev.portal(0).enqcmd(noop(0x8000), 0, 2)).toBe(SubmitStatus.RETRY);
    expect(r.dev.portal(0).enqcmds(noop(0x8000, { pasid: 2 }))).toBe(SubmitStatus.RETRY);
    expect(r.dev.occupancy(0)).toBe(0);
  });

  it('submit() is a MOVDIR64B on a dedicated WQ', () => {
    const r = dwq();
    expect(r.dev.portal(0, { limited: true }).submit(noop(0x8000))).toBe(SubmitStatus.ACCEPTED);
  });

  it('throws RangeError when the caller passes fewer than 64 bytes', () => {
    const r = dwq();
    expect(() => r.dev.portal(0).movdir64b(new Uint8Array(80), 20)).toThrow(RangeError);
    expect(() => r.dev.portal(9)).toThrow(RangeError);
  });
});
