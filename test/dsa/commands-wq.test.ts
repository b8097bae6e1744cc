/** ENABLE_WQ validates one WQ; DISABLE/DRAIN/ABORT/RESET_WQ act on a WQ mask and wait where they must. */
import { describe, expect, it } from 'vitest';
import { CmdStatus, CMDSTS, Command, SubmitStatus, WQCFG } from '../../src/dsa/index.js';
import { memmove, noop, rig } from './device-fixtures.js';

const ACTIVE = 0x80000000;

/** Device enabled with WQ 0 dedicated (size 4) and WQ 1 shared (size 8) in group 0; WQ 2 configurable in group 1. */
const enabled = (profile = {}) => {
  const r = rig(profile).pciUp().errorsOn().group(0, [0, 1], [0]).group(1, [2], [1]).dwq(0, 4).swq(1, 8);
  expect(r.cmd(Command.ENABLE_DEVICE)).toBe(0);
  return r;
};

describe('ENABLE_WQ', () => {
  it('enables a valid WQ: WQCFG.wq_state reads 1 and its portal accepts', () => {
    const r = enabled();
    expect(r.cmd(Command.ENABLE_WQ, 0)).toBe(0);
    expect(r.field(WQCFG, 'wqState', 0)).toBe(1);
    expect(r.dev.portal(0).movdir64b(noop(0x8000))).toBe(SubmitStatus.ACCEPTED);
  });

  it('answers 0x02 for a WQ index the device does not have', () => {
    expect(enabled().cmd(Command.ENABLE_WQ, 8)).toBe(CmdStatus.INVALID_WQ_INDEX);
  });

  it('answers 0x20 while the device is not enabled', () => {
    const r = rig().pciUp().group(0, [0], [0]).dwq(0, 4);
    expect(r.cmd(Command.ENABLE_WQ, 0)).toBe(CmdStatus.DEVICE_NOT_ENABLED);
  });

  it('answers 0x21 for an enabled WQ', () => {
    const r = enabled();
    r.cmd(Command.ENABLE_WQ, 0);
    expect(r.cmd(Command.ENABLE_WQ, 0)).toBe(CmdStatus.WQ_ENABLED);
  });

  it('answers 0x22 for size 0, a WQ in no group, sizes above the total, and a threshold above the size', () => {
    const r = enabled();
    r.dwq(2, 0);
    expect(r.cmd(Command.ENABLE_WQ, 2)).toBe(CmdStatus.WQ_SIZE);
    r.dwq(3, 4);
    expect(r.cmd(Command.ENABLE_WQ, 3)).toBe(CmdStatus.WQ_SIZE);
    expect(r.cmd(Command.ENABLE_WQ, 0)).toBe(0);
    r.dwq(2, 125);
    expect(r.cmd(Command.ENABLE_WQ, 2)).toBe(CmdStatus.WQ_SIZE);
    r.swq(2, 8, { wqThresh: 9 });
    expect(r.cmd(Command.ENABLE_WQ, 2)).toBe(CmdStatus.WQ_SIZE);
    r.swq(2, 8, { wqThresh: 8 });
    expect(r.cmd(Command.ENABLE_WQ, 2)).toBe(0);
  });

  it('answers 0x23 for priority 0', () => {
    const r = enabled();
    r.dwq(2, 4, { priority: 0 });
    expect(r.cmd(Command.ENABLE_WQ, 2)).toBe(CmdStatus.WQ_PRIORITY);
  });

  it('answers 0x24 for a mode WQCAP does not offer', () => {
    const r = enabled({ sharedMode: false });
    expect(r.cmd(Command.ENABLE_WQ, 1)).toBe(CmdStatus.WQ_MODE);
    expect(r.cmd(Command.ENABLE_WQ, 0)).toBe(0);
  });

  it('answers 0x25 for block on fault without GENCAP support or without PRI', () => {
    const noBof = enabled({ blockOnFault: false });
    noBof.dwq(2, 4, { bof: 1 });
    expect(noBof.cmd(Command.ENABLE_WQ, 2)).toBe(CmdStatus.BLOCK_ON_FAULT);
    const noPri = rig().pciUp({ pri: false }).group(0, [0], [0]).dwq(0, 4, { bof: 1 });
    noPri.cmd(Command.ENABLE_DEVICE);
    expect(noPri.cmd(Command.ENABLE_WQ, 0)).toBe(CmdStatus.BLOCK_ON_FAULT);
  });

  it('answers 0x26 for a shared WQ without PASID enable, PASID enable without PCI PASID, and priv without privileged mode', () => {
    const r = enabled();
    r.swq(2, 4, { pasidEn: 0 });
    expect(r.cmd(Command.ENABLE_WQ, 2)).toBe(CmdStatus.PASID_ENABLE);
    const noPasid = rig().pciUp({ pasid: false }).group(0, [0], [0]).dwq(0, 4, { pasidEn: 1, pasid: 5 });
    noPasid.cmd(Command.ENABLE_DEVICE);
    expect(noPasid.cmd(Command.ENABLE_WQ, 0)).toBe(CmdStatus.PASID_ENABLE);
    const noPriv = rig().pciUp().group(0, [0], [0]).dwq(0, 4, { pasidEn: 1, pasid: 5, priv: 1 });
    noPriv.dev.pci.config.write(noPriv.dev.pasid.offset + 6, 2, 1);
    noPriv.cmd(Command.ENABLE_DEVICE);
    expect(noPriv.cmd(Command.ENABLE_WQ, 0)).toBe(CmdStatus.PASID_ENABLE);
  });

  it('answers 0x27 for a max batch shift above GENCAP', () => {
    const r = enabled();
    r.dwq(2, 4, { maxBatchShift: 11 });
    expect(r.cmd(Command.ENABLE_WQ, 2)).toBe(CmdStatus.MAX_BATCH_SIZE);
  });

  it('answers 0x28 for a max transfer shift above GENCAP', () => {
    const r = enabled({ maxTransferShift: 20 });
    r.dwq(2, 4, { maxXferShift: 21 });
    expect(r.cmd(Command.ENABLE_WQ, 2)).toBe(CmdStatus.MAX_TRANSFER_SIZE);
  });
});

describe('WQ mask commands', () => {
  it('answer 0x02 for an empty mask or a mask naming a WQ the device does not have', () => {
    const r = enabled().enableWqs([0]);
    for (const code of [Command.DISABLE_WQ, Command.DRAIN_WQ, Command.ABORT_WQ, Command.RESET_WQ]) {
      expect(r.cmd(code, 0)).toBe(CmdStatus.INVALID_WQ_INDEX);
      expect(r.cmd(code, 1 << 8)).toBe(CmdStatus.INVALID_WQ_INDEX);
      expect(r.cmd(code, (1 << 16) | 1)).toBe(CmdStatus.INVALID_WQ_INDEX);
    }
  });

  it('answer 0x32 when a WQ of the mask is not enabled', () => {
    const r = enabled().enableWqs([0]);
    for (const code of [Command.DISABLE_WQ, Command.DRAIN_WQ, Command.ABORT_WQ, Command.RESET_WQ]) {
      expect(r.cmd(code, 0b11)).toBe(CmdStatus.WQ_NOT_ENABLED);
    }
    expect(r.field(WQCFG, 'wqState', 0)).toBe(1);
  });

  it('DISABLE_WQ keeps CMDSTS.active until the queued descriptors ran, refusing new ones meanwhile', () => {
    const r = enabled().enableWqs([0]);
    const p = r.dev.portal(0);
    p.movdir64b(memmove(0x1000, 0x2000, 64, { cr: 0x8000 }));
    p.movdir64b(noop(0x8020));
    expect(r.cmd(Command.DISABLE_WQ, 1)).toBe(ACTIVE);
    expect(p.movdir64b(noop(0x8040))).toBe(SubmitStatus.IGNORED);
    expect(r.dev.step()).toBe(true);
    expect(r.r32(r.at(CMDSTS))).toBe(ACTIVE);
    expect(r.dev.step()).toBe(true);
    expect(r.r32(r.at(CMDSTS))).toBe(0);
    expect([r.status(0x8000), r.status(0x8020), r.status(0x8040)]).toEqual([1, 1, 0]);
    expect(r.field(WQCFG, 'wqState', 0)).toBe(0);
  });

  it('DRAIN_WQ waits for the descriptors accepted before it, not for later ones', () => {
    const r = enabled().enableWqs([0]);
    const p = r.dev.portal(0);
    p.movdir64b(noop(0x8000));
    expect(r.cmd(Command.DRAIN_WQ, 1)).toBe(ACTIVE);
    expect(p.movdir64b(noop(0x8020))).toBe(SubmitStatus.ACCEPTED);
    r.dev.step();
    expect(r.r32(r.at(CMDSTS))).toBe(0);
    expect([r.status(0x8000), r.status(0x8020)]).toEqual([1, 0]);
    expect(r.field(WQCFG, 'occupancy', 0)).toBe(1);
  });

  it('DRAIN_WQ on an empty WQ completes at once', () => {
    expect(enabled().enableWqs([0]).cmd(Command.DRAIN_WQ, 1)).toBe(0);
  });

  it('ABORT_WQ abandons queued descriptors without a record or an interrupt and keeps the WQ enabled', () => {
    const r = enabled().enableWqs([0]);
    const p = r.dev.portal(0);
    p.movdir64b(noop(0x8000, { handle: 1 }));
    p.movdir64b(noop(0x8020, { handle: 1 }));
    expect(r.cmd(Command.ABORT_WQ, 1)).toBe(0);
    expect(r.dev.runUntilIdle()).toBe(0);
    expect([r.status(0x8000), r.status(0x8020)]).toEqual([0, 0]);
    expect(r.vectors).toEqual([]);
    expect(r.field(WQCFG, 'wqState', 0)).toBe(1);
    expect(p.movdir64b(noop(0x8040))).toBe(SubmitStatus.ACCEPTED);
  });

  it('RESET_WQ abandons queued descriptors and disables the WQ, keeping its configuration', () => {
    const r = enabled().enableWqs([0]);
    r.dev.portal(0).movdir64b(noop(0x8000));
    expect(r.cmd(Command.RESET_WQ, 1)).toBe(0);
    expect(r.dev.runUntilIdle()).toBe(0);
    expect(r.status(0x8000)).toBe(0);
    expect([r.field(WQCFG, 'wqState', 0), r.field(WQCFG, 'wqSize', 0), r.field(WQCFG, 'mode', 0)]).toEqual([0, 4, 1]);
    expect(r.cmd(Command.ENABLE_WQ, 0)).toBe(0);
  });

  it('the mask operand reaches WQs 16 and up through bits 19:16', () => {
    const r = rig({ wqs: 20, totalWqSize: 64 }).pciUp().group(0, [17], [0]).dwq(17, 4);
    r.up([17]);
    expect(r.cmd(Command.DISABLE_WQ, (1 << 16) | (1 << 1))).toBe(0);
    expect(r.field(WQCFG, 'wqState', 17)).toBe(0);
  });
});
