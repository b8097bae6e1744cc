/** Drain and abort commands of the vdev (vidxd-device.md §5.1 step 6, §5.2 rows 3, 4, 11, 12): asynchronous completion, own work only. */
import { describe, expect, it } from 'vitest';
import { Command } from '../../src/dsa/index.js';
import { noop } from '../dsa/device-fixtures.js';
import { DWQ, openGuest, parentRig, SWQ } from './fixtures.js';

const ACTIVE = 0x80000000;

describe.each([
  ['dedicated', DWQ, { pasid: 9, pasidEn: true }],
  ['shared', SWQ, { pasid: 9 }],
] as const)('drain and abort on a %s vdev', (_m, type, up) => {
  it('DRAIN_ALL completes at once with nothing queued, else keeps CMDSTS.active until the last descriptor ran, then interrupts', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up(up);
    expect(g.cmd(Command.DRAIN_ALL, 0, true)).toBe(0);
    expect(g.interrupts()).toEqual([1, 0]);
    g.ack();
    for (let i = 0; i < 3; i++) g.submit(noop(0x3000 + 32 * i, { pasid: 9 }));
    expect(g.cmd(Command.DRAIN_ALL, 0, true)).toBe(ACTIVE);
    rig.dev.step();
    rig.dev.step();
    expect([g.r32(0xa8), g.interrupts()]).toEqual([ACTIVE, [0, 0]]);
    rig.dev.step();
    expect([g.r32(0xa8), g.r32(0x98), g.interrupts()]).toEqual([0, 2, [1, 0]]);
    expect([g.status(0x3000), g.status(0x3020), g.status(0x3040)]).toEqual([1, 1, 1]);
  });

  it('ABORT_ALL abandons every queued descriptor of the vdev: no record, no interrupt', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up(up);
    const h = g.handle(1);
    for (let i = 0; i < 3; i++) g.submit(noop(0x3000 + 32 * i, { pasid: 9, handle: h }));
    expect(g.cmd(Command.ABORT_ALL)).toBe(0);
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.status(0x3040), g.interrupts(), g.vdev.occupancy]).toEqual([0, 0, [0, 0], 0]);
    expect(g.r32(0x518) >>> 30).toBe(1);
  });

  it('DRAIN_PASID and ABORT_PASID act on the guest PASID the vdev runs with, and on nothing else', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up(up);
    g.submit(noop(0x3000, { pasid: 9 }));
    expect(g.cmd(Command.DRAIN_PASID, 8)).toBe(0);
    expect(g.cmd(Command.DRAIN_PASID, g.vdev.hostPasid === 9 ? 10 : g.vdev.hostPasid)).toBe(0);
    expect(g.cmd(Command.ABORT_PASID, 8)).toBe(0);
    expect(g.vdev.occupancy).toBe(1);
    expect(g.cmd(Command.DRAIN_PASID, 9)).toBe(ACTIVE);
    rig.dev.runUntilIdle();
    expect([g.r32(0xa8), g.status(0x3000)]).toEqual([0, 1]);
    g.submit(noop(0x3020, { pasid: 9 }));
    expect(g.cmd(Command.ABORT_PASID, 9)).toBe(0);
    rig.dev.runUntilIdle();
    expect([g.status(0x3020), g.vdev.occupancy]).toEqual([0, 0]);
  });
});

describe('PASID operands of a dedicated vdev without pasid_en', () => {
  it('match nothing: the WQ has no PASID to name', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ).up({ pasid: 0, pasidEn: false });
    g.submit(noop(0x3000));
    expect(g.cmd(Command.ABORT_PASID, 0)).toBe(0);
    expect(g.cmd(Command.DRAIN_PASID, 0)).toBe(0);
    expect(g.vdev.occupancy).toBe(1);
    expect(g.cmd(Command.ABORT_ALL)).toBe(0);
    expect(g.vdev.occupancy).toBe(0);
  });
});
