/**
 * Device-wide commands (DISABLE_DEVICE, DRAIN_ALL, ABORT_ALL, RESET_DEVICE), the command protocol
 * (CMDCAP, CMD while active, completion interrupt) and the Halt state.
 */
import { describe, expect, it } from 'vitest';
import {
  CMD, CmdStatus, CMDCAP, CMDSTS, Command, DeviceState, GENCTRL, GENSTS, INTCAUSE, SoftwareErrorCode, SubmitStatus, WQCFG,
} from '../../src/dsa/index.js';
import { noop, rig } from './device-fixtures.js';

const ACTIVE = 0x80000000;
const CAUSE_ERR = 1 << INTCAUSE.fields.softwareError.lo;
const CAUSE_CMD = 1 << INTCAUSE.fields.commandCompletion.lo;
const CAUSE_HALT = 1 << INTCAUSE.fields.halt.lo;

const running = (profile = {}) =>
  rig(profile).pciUp().errorsOn().group(0, [0, 1], [0]).group(1, [2], [1]).dwq(0, 4).swq(1, 8).dwq(2, 4).up([0, 1, 2]);

describe('DISABLE_DEVICE', () => {
  it('answers 0x31 when the device is not enabled', () => {
    expect(rig().pciUp().cmd(Command.DISABLE_DEVICE)).toBe(CmdStatus.DEVICE_DISABLED);
  });

  it('drains every WQ (state Drain, CMDSTS.active) before disabling them all', () => {
    const r = running();
    r.dev.portal(0).movdir64b(noop(0x8000));
    r.dev.portal(2).movdir64b(noop(0x8020));
    expect(r.cmd(Command.DISABLE_DEVICE)).toBe(ACTIVE);
    expect(r.field(GENSTS, 'state')).toBe(DeviceState.DRAIN);
    expect(r.dev.portal(0).movdir64b(noop(0x8040))).toBe(SubmitStatus.IGNORED);
    expect(r.dev.runUntilIdle()).toBe(2);
    expect(r.r32(r.at(CMDSTS))).toBe(0);
    expect(r.field(GENSTS, 'state')).toBe(DeviceState.DISABLED);
    expect([0, 1, 2].map((q) => r.field(WQCFG, 'wqState', q))).toEqual([0, 0, 0]);
    expect([r.status(0x8000), r.status(0x8020), r.status(0x8040)]).toEqual([1, 1, 0]);
  });
});

describe('DRAIN_ALL and ABORT_ALL', () => {
  it('DRAIN_ALL waits for every WQ', () => {
    const r = running();
    r.dev.portal(0).movdir64b(noop(0x8000));
    r.dev.portal(2).movdir64b(noop(0x8020));
    expect(r.cmd(Command.DRAIN_ALL)).toBe(ACTIVE);
    r.dev.step();
    expect(r.r32(r.at(CMDSTS))).toBe(ACTIVE);
    r.dev.step();
    expect(r.r32(r.at(CMDSTS))).toBe(0);
  });

  it('ABORT_ALL abandons every queued descriptor without records', () => {
    const r = running();
    r.dev.portal(0).movdir64b(noop(0x8000));
    r.dev.portal(1).enqcmd(noop(0x8020), 0, 1);
    expect(r.cmd(Command.ABORT_ALL)).toBe(0);
    expect(r.dev.runUntilIdle()).toBe(0);
    expect([r.status(0x8000), r.status(0x8020)]).toEqual([0, 0]);
    expect(r.dev.state).toBe(DeviceState.ENABLED);
  });
});

describe('RESET_DEVICE', () => {
  it('abandons queued work, disables everything and signals its completion after the reset', () => {
    const r = running();
    r.dev.portal(0).movdir64b(noop(0x8000));
    const v0 = r.vectors.length;
    expect(r.cmd(Command.RESET_DEVICE, 0, true)).toBe(0);
    expect(r.dev.runUntilIdle()).toBe(0);
    expect(r.status(0x8000)).toBe(0);
    expect(r.field(GENSTS, 'state')).toBe(DeviceState.DISABLED);
    expect(r.field(GENCTRL, 'softerrIntEn')).toBe(0);
    expect(r.intcause()).toBe(CAUSE_CMD);
    expect(r.vectors.slice(v0)).toEqual([0]);
    expect(r.r32(r.at(CMD))).toBe(((Command.RESET_DEVICE << 20) | 0x80000000) >>> 0);
  });
});

describe('the command protocol', () => {
  it('answers 0x01 for command codes that do not exist', () => {
    const r = rig().pciUp();
    for (const code of [0, 15, 16, 31]) expect(r.cmd(code)).toBe(CmdStatus.INVALID_COMMAND);
  });

  it('without GENCAP.cmd_cap: CMDCAP reads 0 and the interrupt-handle commands answer 0x01', () => {
    const r = rig().pciUp();
    expect(r.r32(r.at(CMDCAP))).toBe(0);
    expect(r.cmd(Command.REQUEST_INT_HANDLE, 1)).toBe(CmdStatus.INVALID_COMMAND);
    expect(r.cmd(Command.RELEASE_INT_HANDLE, 0)).toBe(CmdStatus.INVALID_COMMAND);
  });

  it('with GENCAP.cmd_cap: CMDCAP advertises commands 1–14 and every one of them is accepted', () => {
    const r = rig({ commandCapabilities: true }).pciUp();
    expect(r.r32(r.at(CMDCAP))).toBe(0x7ffe);
    for (let code = 1; code <= 14; code++) expect(r.cmd(code) & 0xff, `command ${code}`).not.toBe(CmdStatus.INVALID_COMMAND);
  });

  it('raises INTCAUSE.command and vector 0 only when CMD.int_req is set', () => {
    const r = rig().pciUp();
    r.cmd(Command.ABORT_ALL);
    expect([r.intcause(), r.vectors.length]).toEqual([0, 0]);
    r.cmd(Command.ABORT_ALL, 0, true);
    expect([r.intcause(), r.vectors]).toEqual([CAUSE_CMD, [0]]);
  });

  it('a CMD write while a command is active logs SWERR 0x52 and is dropped', () => {
    const r = running();
    r.dev.portal(0).movdir64b(noop(0x8000));
    expect(r.cmd(Command.DRAIN_WQ, 1)).toBe(ACTIVE);
    const latched = r.r32(r.at(CMD));
    expect(r.cmd(Command.RESET_DEVICE)).toBe(ACTIVE);
    expect(r.r32(r.at(CMD))).toBe(latched);
    expect([r.swerrField('valid'), r.swerrField('error'), r.swerrField('descValid'), r.swerrField('wqIdxValid')]).toEqual([
      1, SoftwareErrorCode.CMD_REG, 0, 0,
    ]);
    expect(r.intcause() & CAUSE_ERR).toBe(CAUSE_ERR);
    r.dev.runUntilIdle();
    expect(r.r32(r.at(CMDSTS))).toBe(0);
    expect(r.dev.state).toBe(DeviceState.ENABLED);
  });

  it('a partial write to CMD starts nothing', () => {
    const r = rig().pciUp();
    r.dev.bar0.write(r.at(CMD), 1, 0);
    r.dev.bar0.write(r.at(CMD) + 2, 2, Command.RESET_DEVICE << 4);
    expect(r.r32(r.at(CMD))).toBe(0);
    expect(r.r32(r.at(CMDSTS))).toBe(0);
  });
});

describe('Halt', () => {
  it('clearing bus mastering while enabled halts: SWERR 0x51, FLR reset type, halt interrupt pending until bus mastering returns', () => {
    const r = running();
    r.dev.portal(0).movdir64b(noop(0x8000, { handle: 1 }));
    r.dev.pci.config.write(4, 2, 2);
    expect([r.field(GENSTS, 'state'), r.field(GENSTS, 'resetType')]).toEqual([DeviceState.HALT, 1]);
    expect([r.swerrField('valid'), r.swerrField('error')]).toEqual([1, SoftwareErrorCode.PCI_CFG]);
    expect(r.intcause()).toBe(CAUSE_ERR | CAUSE_HALT);
    expect(r.vectors).toEqual([]);
    expect(r.dev.msix.isPending(0)).toBe(true);
    expect(r.dev.runUntilIdle()).toBe(0);
    expect(r.status(0x8000)).toBe(0);
    r.dev.pci.config.write(4, 2, 6);
    expect(r.vectors).toEqual([0]);
  });

  it('a halted device answers every command but RESET_DEVICE with 0x03', () => {
    const r = running();
    r.dev.pci.config.write(4, 2, 2);
    r.dev.pci.config.write(4, 2, 6);
    for (let code = 1; code <= 12; code++) if (code !== Command.RESET_DEVICE) expect(r.cmd(code, 1), `command ${code}`).toBe(CmdStatus.HARDWARE_ERROR);
    expect(r.cmd(Command.RESET_DEVICE)).toBe(0);
    expect([r.field(GENSTS, 'state'), r.field(GENSTS, 'resetType')]).toEqual([DeviceState.DISABLED, 0]);
    expect(r.swerrField('error')).toBe(SoftwareErrorCode.PCI_CFG);
  });

  it('changing PASID, ATS or PRI enable while enabled halts; while disabled it does not', () => {
    for (const which of ['pasid', 'ats', 'pri'] as const) {
      const r = running();
      const cap = r.dev[which];
      const ctl = which === 'pri' ? 4 : 6;
      r.dev.pci.config.write(cap.offset + ctl, 2, 0);
      expect(r.dev.state, which).toBe(DeviceState.HALT);
    }
    const idle = rig().pciUp();
    idle.dev.pci.config.write(idle.dev.pasid.offset + 6, 2, 0);
    expect(idle.dev.state).toBe(DeviceState.DISABLED);
  });

  it('a command waiting for descriptors when the device halts completes with 0x03', () => {
    const r = running();
    r.dev.portal(0).movdir64b(noop(0x8000));
    expect(r.cmd(Command.DRAIN_ALL)).toBe(ACTIVE);
    r.dev.pci.config.write(4, 2, 2);
    expect(r.r32(r.at(CMDSTS))).toBe(CmdStatus.HARDWARE_ERROR);
  });
});
