/** DRAIN_PASID and ABORT_PASID touch one PASID's work only. */
import { describe, expect, it } from 'vitest';
import { CMDSTS, Command } from '../../src/dsa/index.js';
import { noop, rig } from './device-fixtures.js';

const ACTIVE = 0x80000000;

/** Shared WQ 0 (size 16) and dedicated WQ 1 bound to PASID 2, one engine. */
const shared = () => rig().pciUp().group(0, [0, 1], [0]).swq(0, 16).dwq(1, 4, { pasidEn: 1, pasid: 2 }).up([0, 1]);

/** Queues NOOPs of PASIDs 1, 3, 1, 3 on the shared WQ, records at 0x8000, 0x8020, 0x8040, 0x8060. */
function interleave(r: ReturnType<typeof shared>): void {
  [1, 3, 1, 3].forEach((pasid, i) => r.dev.portal(0).enqcmd(noop(0x8000 + 32 * i), 0, pasid));
}

describe('DRAIN_PASID', () => {
  it('on a shared WQ completes once that PASID\'s descriptors ran and leaves later work of other PASIDs queued', () => {
    const r = shared();
    interleave(r);
    expect(r.cmd(Command.DRAIN_PASID, 1)).toBe(ACTIVE);
    expect(r.dev.step() && r.dev.step()).toBe(true);
    expect(r.r32(r.at(CMDSTS))).toBe(ACTIVE);
    r.dev.step();
    expect(r.r32(r.at(CMDSTS))).toBe(0);
    expect(r.status(0x8060)).toBe(0);
    expect(r.dev.occupancy(0, 3)).toBe(1);
  });

  it('completes at once when no descriptor of the PASID is queued', () => {
    const r = shared();
    r.dev.portal(0).enqcmd(noop(0x8000), 0, 3);
    expect(r.cmd(Command.DRAIN_PASID, 1)).toBe(0);
    expect(r.dev.occupancy(0)).toBe(1);
  });

  it('waits for the whole queue of a dedicated WQ programmed with the PASID', () => {
    const r = shared();
    r.dev.portal(1).movdir64b(noop(0x8000));
    expect(r.cmd(Command.DRAIN_PASID, 2)).toBe(ACTIVE);
    r.dev.runUntilIdle();
    expect(r.r32(r.at(CMDSTS))).toBe(0);
    expect(r.status(0x8000)).toBe(1);
  });
});

describe('ABORT_PASID', () => {
  it('abandons the PASID\'s queued descriptors on a shared WQ and keeps the others in order', () => {
    const r = shared();
    interleave(r);
    expect(r.cmd(Command.ABORT_PASID, 1)).toBe(0);
    expect(r.dev.occupancy(0)).toBe(2);
    r.dev.step();
    expect([r.status(0x8020), r.status(0x8060)]).toEqual([1, 0]);
    r.dev.step();
    expect([r.status(0x8000), r.status(0x8020), r.status(0x8040), r.status(0x8060)]).toEqual([0, 1, 0, 1]);
  });

  it('abandons the whole queue of a dedicated WQ programmed with the PASID, and nothing of another PASID', () => {
    const r = shared();
    r.dev.portal(1).movdir64b(noop(0x8000));
    expect(r.cmd(Command.ABORT_PASID, 5)).toBe(0);
    expect(r.dev.occupancy(1)).toBe(1);
    expect(r.cmd(Command.ABORT_PASID, 2)).toBe(0);
    expect(r.dev.occupancy(1)).toBe(0);
  });
});
