/** Device commands and the dispatch of the vdev (vidxd-device.md §5.1, §5.2 rows 1, 2, 5; §11.5–7). */
import { describe, expect, it } from 'vitest';
import { Command } from '../../src/dsa/index.js';
import { VDEV_COMMANDS } from '../../src/vidxd/index.js';
import { noop } from '../dsa/device-fixtures.js';
import { DWQ, type Guest, openGuest, parentRig, SWQ } from './fixtures.js';

const ACTIVE = 0x80000000;

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('device commands of a %s vdev', (_m, type) => {
  const guest = (): Guest => openGuest(parentRig(), type);

  it('ENABLE_DEVICE: 0x12 without bus mastering, with PASID but no ATS, with PRI ≠ PASID; then Enabled; then 0x10', () => {
    const g = guest();
    expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0x12);
    g.pciOn();
    g.setCfg(0x126, 1, 2); // PASID without ATS (and without PRI)
    expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0x12);
    g.setCfg(0x106, 0x8000, 2); // + ATS, PRI still off
    expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0x12);
    g.setCfg(0x126, 0, 2);
    g.setCfg(0x114, 1, 2); // PRI without PASID
    expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0x12);
    g.setCfg(0x114, 0, 2); // neither PASID nor PRI: fine
    expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0);
    expect(g.r32(0x90)).toBe(1);
    expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0x10);
  });

  it('DISABLE_DEVICE: 0x31 when disabled; else waits in Drain for the vdev\'s descriptors, disables the WQ, enters Disabled', () => {
    const rig = parentRig();
    const g = openGuest(rig, type);
    expect(g.cmd(Command.DISABLE_DEVICE)).toBe(0x31);
    g.up();
    g.submit(noop(0x3000, { pasid: 7 }));
    expect(g.cmd(Command.DISABLE_DEVICE, 0, true)).toBe(ACTIVE);
    expect([g.r32(0x90), g.r32(0x518) >>> 30]).toEqual([2, 1]);
    expect(g.submit(noop(0x3020, { pasid: 7 }))).not.toBe(0); // the WQ takes nothing more
    expect(g.interrupts()).toEqual([0, 0]);
    rig.dev.runUntilIdle();
    expect([g.r32(0xa8), g.r32(0x90), g.r32(0x518) >>> 30, g.r32(0x98)]).toEqual([0, 0, 0, 2]);
    expect(g.interrupts()).toEqual([1, 0]);
    expect(g.status(0x3000)).toBe(1);
    expect(g.status(0x3020)).toBe(0);
  });

  it('RESET_DEVICE: resets BAR0 but CMD, CMDSTS, SWERR and the MSI-X table, aborts, disables, and still interrupts (§11.5)', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up();
    g.w32(0x300, 0x5008);
    g.w32(0x610, 0xfee00000);
    g.submit(noop(0x3000, { pasid: 7 }));
    g.cmd(Command.DRAIN_ALL);
    g.cmd(Command.DRAIN_ALL); // dropped: SWERR 0x52 (interrupt: GENCTRL enabled)
    rig.dev.runUntilIdle(); // the first drain completes
    g.interrupts();
    g.submit(noop(0x3040, { pasid: 7 }));
    const cmd = ((Command.RESET_DEVICE << 20) | ACTIVE) >>> 0;
    g.w32(0xa0, cmd);
    expect([g.r32(0xa0), g.r32(0xa8), g.swerrCode(), g.r32(0x98)]).toEqual([cmd, 0, 0x52, 0x2]);
    expect([g.r32(0x88), g.r32(0x90), g.r32(0x300), g.r32(0x518) >>> 30, g.r32(0x508) & 0x0fffff00]).toEqual([0, 0, 0, 0, 0]);
    expect(g.r32(0x610)).toBe(0xfee00000);
    expect(g.interrupts()).toEqual([1, 0]);
    expect(g.vdev.occupancy).toBe(0);
    rig.dev.runUntilIdle();
    expect(g.status(0x3040)).toBe(0); // abandoned: no record
  });

  it('answers 0x01 for every command code not in CMDCAP and runs every code CMDCAP lists (§11.7)', () => {
    const g = guest();
    const cap = g.r32(0xb0);
    for (let code = 0; code < 32; code++) {
      const st = g.cmd(code, code === Command.ENABLE_WQ ? 5 : 0);
      expect(st === 0x01, `code ${code}`).toBe(((cap >>> code) & 1) === 0);
    }
    expect(VDEV_COMMANDS.map((c) => c.code)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('completes each command once and raises the completion interrupt only when CMD bit 31 asks (§11.6)', () => {
    const g = guest();
    g.pciOn();
    g.interruptsOn();
    expect(g.cmd(Command.ENABLE_WQ, 3, true)).toBe(0x02);
    expect([g.interrupts(), g.r32(0x98)]).toEqual([[1, 0], 2]);
    g.ack();
    expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0);
    expect([g.interrupts(), g.r32(0x98)]).toEqual([[0, 0], 0]);
  });

  it('drops a command written while another is active with SWERR 0x52, without completing either twice', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up();
    g.submit(noop(0x3000, { pasid: 7 }));
    expect(g.cmd(Command.DRAIN_ALL, 0, true)).toBe(ACTIVE);
    expect(g.cmd(Command.RESET_DEVICE, 0, true)).toBe(ACTIVE);
    expect(g.swerrCode()).toBe(0x52);
    expect(g.r32(0x90)).toBe(1); // the reset did not run
    expect(g.interrupts()).toEqual([1, 0]); // the software-error interrupt only
    rig.dev.runUntilIdle();
    expect([g.r32(0xa8), g.interrupts()]).toEqual([0, [1, 0]]);
    rig.dev.runUntilIdle();
    expect(g.interrupts()).toEqual([0, 0]);
  });

  it('answers 0x03 to every command but RESET_DEVICE while halted, and RESET_DEVICE returns to Disabled', () => {
    const g = guest().up();
    g.setCfg(0x04, 0x0002, 2); // bus mastering off while Enabled
    expect(g.r32(0x90)).toBe(0x7); // Halt, reset type 1
    for (const code of [Command.ENABLE_DEVICE, Command.DISABLE_DEVICE, Command.DRAIN_ALL, Command.ENABLE_WQ, Command.REQUEST_INT_HANDLE]) {
      expect(g.cmd(code, code === Command.REQUEST_INT_HANDLE ? 1 : 0)).toBe(0x03);
    }
    expect(g.cmd(0x1f)).toBe(0x01);
    expect(g.cmd(Command.RESET_DEVICE)).toBe(0);
    expect(g.r32(0x90)).toBe(0);
  });
});
