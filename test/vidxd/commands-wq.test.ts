/** WQ commands of the vdev (vidxd-device.md §5.2 rows 6–10, §7.2): checks, binding of the backing WQ, waits. */
import { describe, expect, it } from 'vitest';
import { Command, SubmitStatus } from '../../src/dsa/index.js';
import { noop } from '../dsa/device-fixtures.js';
import { createVdev, DWQ, Guest, openGuest, parentRig, SWQ } from './fixtures.js';

const ACTIVE = 0x80000000;

/** PCI, interrupts and ENABLE_DEVICE, but not ENABLE_WQ. */
function deviceUp(g: Guest, svm = true): Guest {
  g.pciOn();
  if (svm) g.svmOn();
  g.interruptsOn();
  expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0);
  return g;
}

describe('ENABLE_WQ', () => {
  it.each([
    ['dedicated', DWQ],
    ['shared', SWQ],
  ] as const)('%s: 0x02 for an index ≠ 0, 0x20 before ENABLE_DEVICE, 0x21 when enabled', (_m, type) => {
    const g = openGuest(parentRig(), type);
    g.pciOn();
    expect(g.cmd(Command.ENABLE_WQ, 0)).toBe(0x20);
    expect(g.cmd(Command.ENABLE_WQ, 1)).toBe(0x02);
    g.svmOn();
    g.wqcfgPasid(7, type === SWQ, false);
    expect(g.cmd(Command.ENABLE_DEVICE)).toBe(0);
    expect(g.cmd(Command.ENABLE_WQ, 0x80000 >>> 0)).toBe(0x02);
    expect(g.cmd(Command.ENABLE_WQ, 0)).toBe(0);
    expect(g.cmd(Command.ENABLE_WQ, 0)).toBe(0x21);
  });

  it('0x26 for pasid_en without PCI PASID enable, and for a privileged dedicated WQ without PASID privileged mode', () => {
    const d = deviceUp(openGuest(parentRig(), DWQ), false);
    d.wqcfgPasid(3, true, false);
    expect(d.cmd(Command.ENABLE_WQ, 0)).toBe(0x26);
    const s = deviceUp(openGuest(parentRig(), SWQ), false);
    expect(s.cmd(Command.ENABLE_WQ, 0)).toBe(0x26);
    const p = openGuest(parentRig(), DWQ);
    p.pciOn();
    p.setCfg(0x126, 1, 2); // PASID without privileged mode
    p.setCfg(0x106, 0x8000, 2);
    p.setCfg(0x114, 1, 2);
    expect(p.cmd(Command.ENABLE_DEVICE)).toBe(0);
    p.wqcfgPasid(3, true, true);
    expect(p.cmd(Command.ENABLE_WQ, 0)).toBe(0x26);
    p.wqcfgPasid(3, true, false);
    expect(p.cmd(Command.ENABLE_WQ, 0)).toBe(0);
  });

  it('dedicated: programs the backing WQ with the vdev\'s host PASID (pasid_en 1) and the guest\'s priv, whatever guest PASID it chose', () => {
    const rig = parentRig();
    const g = openGuest(rig, DWQ);
    const hostPasid = g.vdev.hostPasid;
    expect(hostPasid).toBeGreaterThan(0);
    g.up({ pasid: 0x1234, pasidEn: true, priv: false });
    expect([g.vdev.wq.pasid, g.vdev.wq.priv, g.vdev.wq.enabled]).toEqual([hostPasid, false, true]);
    const w = rig.dev.bar0.read32(rig.host.wqcfgOffset(g.vdev.wq.id) + 8);
    expect([(w >>> 8) & 0xfffff, (w >>> 28) & 1, (w >>> 29) & 1]).toEqual([hostPasid, 1, 0]);
    expect(g.cmd(Command.DISABLE_WQ, 1)).toBe(0);
    g.wqcfgPasid(0x1234, true, true);
    expect(g.cmd(Command.ENABLE_WQ, 0)).toBe(0);
    expect([g.vdev.wq.pasid, g.vdev.wq.priv]).toEqual([hostPasid, true]);
  });

  it('shared: the guest PASID becomes the portal\'s one translation; other PASIDs are rejected into SWERR', () => {
    const rig = parentRig();
    const g = openGuest(rig, SWQ).up({ pasid: 42 });
    expect(g.submit(noop(0x3000, { pasid: 42 }))).toBe(SubmitStatus.ACCEPTED);
    expect(rig.dev.occupancy(g.vdev.wq.id, g.vdev.hostPasid)).toBe(1);
    expect(g.submit(noop(0x3020, { pasid: 41 }))).toBe(SubmitStatus.DROPPED);
    expect(g.swerr().slice(0, 2)).toEqual([0x550d, 41 << 8]); // valid, desc valid, WQ index valid (0); NOOP; guest PASID 41
    expect(rig.dev.occupancy(g.vdev.wq.id)).toBe(1);
  });

  it('shared: Priv = 1 runs only when the guest enabled PASID privileged mode in the vdev\'s capability; otherwise 0x1D into SWERR, dropped', () => {
    const rig = parentRig();
    const on = openGuest(rig, SWQ).up({ pasid: 42 }); // svmOn: PASID with privileged mode
    expect(on.submit(noop(0x3000, { pasid: 42, priv: true }))).toBe(SubmitStatus.ACCEPTED);
    rig.dev.runUntilIdle();
    expect([on.status(0x3000), on.swerrCode()]).toEqual([1, -1]);

    const off = openGuest(rig, SWQ);
    off.pciOn();
    off.svmOn();
    off.setCfg(0x126, 0x1, 2); // PASID without privileged mode (the parent's own capability has it on)
    off.interruptsOn();
    off.wqcfgPasid(42, true, false);
    expect([off.cmd(Command.ENABLE_DEVICE), off.cmd(Command.ENABLE_WQ, 0)]).toEqual([0, 0]);
    expect(off.submit(noop(0x3000, { pasid: 42, priv: true }))).toBe(SubmitStatus.DROPPED);
    expect(rig.dev.occupancy(off.vdev.wq.id, off.vdev.hostPasid)).toBe(0);
    expect(off.swerr().slice(0, 2)).toEqual([0x1d4d, 42 << 8]); // valid, desc valid, WQ index valid (0), priv; NOOP; guest PASID 42
    expect(off.submit(noop(0x3020, { pasid: 42 }))).toBe(SubmitStatus.ACCEPTED);
    rig.dev.runUntilIdle();
    expect([off.status(0x3000), off.status(0x3020)]).toEqual([0, 1]);
  });
});

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('WQ-mask commands of a %s vdev', (_m, type) => {
  it.each([Command.DISABLE_WQ, Command.DRAIN_WQ, Command.ABORT_WQ, Command.RESET_WQ])('command %i: 0x02 for a mask naming another WQ, 0x32 while disabled', (code) => {
    const g = deviceUp(openGuest(parentRig(), type));
    for (const mask of [0, 2, 3, 0x10001, 0x8000]) expect(g.cmd(code, mask)).toBe(0x02);
    expect(g.cmd(code, 1)).toBe(0x32);
  });

  it('DISABLE_WQ stops the WQ at once, waits for the vdev\'s descriptors, then unbinds it', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up();
    g.submit(noop(0x3000, { pasid: 7 }));
    expect(g.cmd(Command.DISABLE_WQ, 1, true)).toBe(ACTIVE);
    expect(g.submit(noop(0x3020, { pasid: 7 }))).toBe(type === DWQ ? SubmitStatus.IGNORED : SubmitStatus.RETRY);
    expect(g.r32(0x518) >>> 30).toBe(1);
    g.w32(0x508, 0); // still locked while the command runs
    expect(g.r32(0x508) & 0x0fffff00).toBe(0x700);
    rig.dev.runUntilIdle();
    expect([g.r32(0xa8), g.r32(0x518) >>> 30, g.r32(0x98) & 2, g.status(0x3000)]).toEqual([0, 0, 2, 1]);
    expect(g.submit(noop(0x3040, { pasid: 7 }))).toBe(type === DWQ ? SubmitStatus.IGNORED : SubmitStatus.RETRY);
  });

  it('DRAIN_WQ waits for the vdev\'s descriptors and leaves the WQ enabled', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up();
    g.submit(noop(0x3000, { pasid: 7 }));
    g.submit(noop(0x3020, { pasid: 7 }));
    expect(g.cmd(Command.DRAIN_WQ, 1)).toBe(ACTIVE);
    rig.dev.step();
    expect(g.r32(0xa8)).toBe(ACTIVE);
    rig.dev.step();
    expect([g.r32(0xa8), g.r32(0x518) >>> 30]).toEqual([0, 1]);
    expect(g.submit(noop(0x3040, { pasid: 7 }))).toBe(SubmitStatus.ACCEPTED);
  });

  it('ABORT_WQ abandons the vdev\'s queued descriptors (no record, no interrupt); RESET_WQ also disables', () => {
    const rig = parentRig();
    const g = openGuest(rig, type).up();
    const h = g.handle(1);
    g.submit(noop(0x3000, { pasid: 7, handle: h }));
    expect(g.cmd(Command.ABORT_WQ, 1)).toBe(0);
    g.submit(noop(0x3020, { pasid: 7, handle: h }));
    expect(g.cmd(Command.RESET_WQ, 1)).toBe(0);
    rig.dev.runUntilIdle();
    expect([g.status(0x3000), g.status(0x3020), g.interrupts(), g.r32(0x518) >>> 30]).toEqual([0, 0, [0, 0], 0]);
    expect(g.cmd(Command.ENABLE_WQ, 0)).toBe(0);
  });
});

describe('WQ commands never touch another user of the backing WQ', () => {
  it('a shared vdev\'s DISABLE/ABORT/RESET leave the host\'s own and other vdevs\' descriptors queued', () => {
    const rig = parentRig({ config: { groups: [{ id: 0, engines: [0] }], wqs: [{ id: 0, group: 0, mode: 'shared', size: 32, mediated: true }] } });
    const a = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 7 });
    const b = new Guest(rig, createVdev(rig, SWQ).uuid).up({ pasid: 7 });
    b.submit(noop(0x3000, { pasid: 7 }));
    rig.host.wq(0).portal().enqcmd(noop(0x8000), 0, 0); // the host's own work (PASID 0)
    a.submit(noop(0x3000, { pasid: 7 }));
    expect(a.cmd(Command.ABORT_WQ, 1)).toBe(0);
    expect(a.cmd(Command.RESET_WQ, 1)).toBe(0);
    expect(a.cmd(Command.ABORT_ALL)).toBe(0);
    expect([rig.dev.occupancy(0), b.vdev.occupancy, a.vdev.occupancy]).toEqual([2, 1, 0]);
  });
});
