/** ENABLE_DEVICE validates the whole configuration and answers every error with its CMDSTS code. */
import { describe, expect, it } from 'vitest';
import { CmdStatus, Command, DeviceState, GENCFG, GENSTS, GRPFLAGS } from '../../src/dsa/index.js';
import { rig } from './device-fixtures.js';

const configured = (profile = {}) => rig(profile).pciUp().group(0, [0, 1], [0]).group(1, [2], [1]).dwq(0, 16).swq(1, 32).dwq(2, 8);

describe('ENABLE_DEVICE', () => {
  it('enters Enabled with a valid configuration', () => {
    const r = configured();
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.SUCCESS);
    expect(r.field(GENSTS, 'state')).toBe(DeviceState.ENABLED);
  });

  it('answers 0x10 when the device is already enabled', () => {
    const r = configured();
    r.cmd(Command.ENABLE_DEVICE);
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.DEVICE_ENABLED);
  });

  it('answers 0x12 while bus mastering is off', () => {
    const r = configured();
    r.dev.pci.config.write(4, 2, 2);
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.BUS_MASTER_DISABLED);
    expect(r.dev.state).toBe(DeviceState.DISABLED);
  });

  it('answers 0x11 for a read-buffer limit above the total', () => {
    const r = configured();
    r.write(GENCFG, 0, { rdbufLimit: 97 });
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.CONFIG_ERROR);
    r.write(GENCFG, 0, { rdbufLimit: 96 });
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(0);
  });

  it('answers 0x11 for a read-buffer limit on a device without the global limit', () => {
    const r = configured({ readBufferLimit: false });
    r.write(GENCFG, 0, { rdbufLimit: 8 });
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.CONFIG_ERROR);
  });

  it('answers 0x13 for a grouped WQ with a PASID wider than the PASID capability', () => {
    const r = configured({ pasidWidth: 8 });
    r.dwq(0, 16, { pasidEn: 1, pasid: 0x100 });
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.INVALID_PASID);
    r.dwq(0, 16, { pasidEn: 1, pasid: 0xff });
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(0);
  });

  it('answers 0x14 when the WQ sizes add up to more than the total', () => {
    const r = configured();
    r.dwq(3, 128 - 16 - 32 - 8 + 1);
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.WQ_SIZE_RANGE);
  });

  it('answers 0x15 for a WQ in two groups', () => {
    const r = configured().group(1, [1, 2], [1]);
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.GROUP_WQS);
  });

  it('answers 0x16 for an engine in two groups', () => {
    const r = configured().group(1, [2], [0, 1]);
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.GROUP_ENGINES);
  });

  it('answers 0x17 for a group with WQs and no engine', () => {
    const r = configured().group(1, [2], []);
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.GROUP_NO_ENGINE);
  });

  it('answers 0x18 when the reserved read buffers add up to more than the total', () => {
    const r = configured();
    r.write(GRPFLAGS, 0, { rdbufsReserved: 50, rdbufsAllowed: 96 });
    r.write(GRPFLAGS, 1, { rdbufsReserved: 47, rdbufsAllowed: 96 });
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.GROUP_READ_BUFFERS);
    r.write(GRPFLAGS, 1, { rdbufsReserved: 46, rdbufsAllowed: 96 });
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(0);
  });

  it('answers 0x18 for read-buffer controls on a device without them', () => {
    const r = configured({ readBufferControl: false });
    r.write(GRPFLAGS, 0, { rdbufsAllowed: 10 });
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(CmdStatus.GROUP_READ_BUFFERS);
  });

  it('leaves a refused device Disabled and still configurable', () => {
    const r = configured().group(1, [2], []);
    r.cmd(Command.ENABLE_DEVICE);
    expect(r.field(GENSTS, 'state')).toBe(DeviceState.DISABLED);
    r.group(1, [2], [1]);
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(0);
  });
});
