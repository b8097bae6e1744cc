/** A dedicated vdev's full DWQ (vidxd-device.md §7.2, §8.2; dsa-operations.md §9.2, §11.1): the descriptor is dropped and SWERR 0x53 is reported in that vdev only. */
import { describe, expect, it } from 'vitest';
import { Opcode, SoftwareErrorCode, Status, SubmitStatus } from '../../src/dsa/index.js';
import { memmove, noop } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, parentRig, SWQ } from './fixtures.js';
import { elem } from '../util/bytes.js';

describe('a full dedicated WQ', () => {
  it('drops the descriptor and logs SWERR 0x53 (guest PASID, WQ 0, opcode) in the submitting vdev only', () => {
    const rig = parentRig();
    const a = new Guest(rig, createVdev(rig, DWQ).uuid).up({ pasid: 0x77, pasidEn: true });
    const b = new Guest(rig, createVdev(rig, DWQ).uuid).up();
    const s = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 0x77 });
    expect([a.vdev.wq.id, a.vdev.facts.wqSize]).toEqual([0, 16]);
    for (let i = 0; i < 16; i++) expect(a.submit(noop(0x3000 + 32 * i, { pasid: 0x77 }))).toBe(SubmitStatus.ACCEPTED);
    expect(a.submit(memmove(0x1000, 0x2000, 64, { cr: 0x4000, pasid: 0x77 }))).toBe(SubmitStatus.DROPPED);
    const d = a.swerr();
    expect(elem(d, 0) & 0xff0f).toBe((SoftwareErrorCode.DWQ_FULL << 8) | 0xd); // valid, descriptor valid, WQ index valid
    expect((elem(d, 0) >>> 16) & 0xff).toBe(0); // WQ index 0 (the host WQ is 0 here too: see the next test)
    expect(elem(d, 1)).toBe((0x77 << 8) | Opcode.MEMMOVE);
    expect(a.interrupts()).toEqual([1, 0]);
    expect([b.swerrCode(), s.swerrCode(), b.interrupts(), s.interrupts()]).toEqual([-1, -1, [0, 0], [0, 0]]);
    expect(a.vdev.occupancy).toBe(16);
    rig.dev.runUntilIdle();
    expect([a.status(0x3000 + 32 * 15), a.status(0x4000)]).toEqual([Status.SUCCESS, 0]);
  });

  it('reports WQ index 0 for a vdev backed by another host WQ, and PASID 0 and no privilege when the guest runs without PASIDs', () => {
    const rig = parentRig();
    new Guest(rig, createVdev(rig, DWQ).uuid);
    const g = new Guest(rig, createVdev(rig, DWQ).uuid).up({ pasidEn: false });
    expect([g.vdev.wq.id, g.vdev.facts.wqSize]).toEqual([1, 8]);
    for (let i = 0; i < 9; i++) g.submit(noop(0x3000 + 32 * i));
    const d = g.swerr();
    expect([(elem(d, 0) >>> 8) & 0xff, (elem(d, 0) >>> 16) & 0xff, elem(d, 1) >>> 8, (elem(d, 0) >>> 6) & 1]).toEqual([SoftwareErrorCode.DWQ_FULL, 0, 0, 0]);
    expect(rig.dev.bar0.read32(0xc0) & 1).toBe(0);
  });
});
