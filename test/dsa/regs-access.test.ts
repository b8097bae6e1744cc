/**
 * Every register of BAR0, per the declarative tables: its reset value, and its access rule (RO
 * ignores writes, RW takes them, RW1C clears on 1, locks hold while the device or the WQ is enabled).
 */
import { describe, expect, it } from 'vitest';
import { Command, GENCFG, GRPENGCFG, GRPWQCFG, INTCAUSE, SWERR, WQCFG } from '../../src/dsa/index.js';
import { rig } from './device-fixtures.js';
import { fieldPieces, pieceName, readPiece, writePiece } from './table-walk.js';

describe('register reset values', () => {
  it('every field of every register reads its table reset value after power-on', () => {
    const r = rig().pciUp({ pasid: false, pri: false });
    for (let v = 0; v < r.dev.msix.vectors; v++) r.w32(r.dev.layout.msixTable + 16 * v + 12, 1); // pciUp unmasked them
    const wrong = fieldPieces(r.dev).filter((p) => readPiece(r.dev, p) !== p.reset).map(pieceName);
    expect(wrong).toEqual([]);
  });

  it('the capability registers decode to the Sapphire Rapids profile', () => {
    const r = rig().pciUp();
    expect([r.r32(0x00), r.r32(0x10), r.r32(0x14), r.r32(0x20), r.r32(0x24), r.r32(0x30), r.r32(0x38)]).toEqual([
      0x100, 0x915f0107, 0x40, 0x00080080, 0x001b0000, 0x00036004, 4,
    ]);
    expect([r.r32(0x40), r.r32(0x44)]).toEqual([0x003f03ff, 1]);
    // OFFSETS: grpcfg 0x400, wqcfg 0x800, msix_perm 0x300, ims 0x1000 (units of 0x100).
    expect([r.r32(0x60), r.r32(0x64), r.r32(0x68)]).toEqual([0x00080004, 0x00100003, 0]);
  });

  it('a larger profile moves the tables and OFFSETS follows', () => {
    const r = rig({ wqs: 40, groups: 20, totalWqSize: 512 }).pciUp();
    const l = r.dev.layout;
    expect(l.grpcfg).toBeGreaterThan(0x400);
    expect(r.r32(0x60) & 0xffff).toBe(l.grpcfg / 0x100);
    expect(r.r32(0x60) >>> 16).toBe(l.wqcfg / 0x100);
    expect(r.r32(0x64) & 0xffff).toBe(l.msixPerm / 0x100);
    expect(r.dev.msix.tableOffset).toBe(l.msixTable);
  });
});

describe('register access rules', () => {
  const pieces = () => {
    const r = rig().pciUp({ pasid: false, pri: false });
    return { r, all: fieldPieces(r.dev, 4) };
  };

  it('read-only fields ignore writes of all ones and all zeros', () => {
    const { r, all } = pieces();
    const ro = all.filter((p) => p.field.access === 'RO');
    expect(ro.length).toBeGreaterThan(40);
    const changed: string[] = [];
    for (const p of ro) {
      const before = readPiece(r.dev, p);
      writePiece(r.dev, p, 0xffffffff);
      const mid = readPiece(r.dev, p);
      writePiece(r.dev, p, 0);
      if (mid !== before || readPiece(r.dev, p) !== before) changed.push(pieceName(p));
    }
    expect(changed).toEqual([]);
  });

  it('read-write fields take every implemented bit while unlocked', () => {
    const { r, all } = pieces();
    const rw = all.filter((p) => p.field.access === 'RW');
    expect(rw.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    for (const p of rw) {
      writePiece(r.dev, p, 0xffffffff);
      const high = readPiece(r.dev, p);
      writePiece(r.dev, p, 0);
      const low = readPiece(r.dev, p);
      if (high !== p.mask || low !== 0) wrong.push(`${pieceName(p)}: ${high.toString(16)}/${low.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('bits beyond the implemented WQs and engines of a group bitmap read 0', () => {
    const r = rig().pciUp();
    r.w32(r.at(GRPWQCFG), 0xffffffff);
    r.w32(r.at(GRPENGCFG), 0xffffffff);
    expect([r.r32(r.at(GRPWQCFG)), r.r32(r.at(GRPENGCFG))]).toEqual([0xff, 0xf]);
  });

  it('write-1-to-clear fields keep their value on 0 and clear on 1', () => {
    const r = rig().pciUp();
    r.dev.regs.set(INTCAUSE, INTCAUSE.fields.halt, 0, 1);
    r.dev.regs.set(INTCAUSE, INTCAUSE.fields.handlesRevoked, 0, 1);
    r.w32(r.at(INTCAUSE), 0);
    expect(r.intcause()).toBe(0x80000010);
    r.w32(r.at(INTCAUSE), 0x80000000);
    expect(r.intcause()).toBe(0x10);
    r.dev.regs.set(SWERR, SWERR.fields.valid, 0, 1);
    r.dev.regs.set(SWERR, SWERR.fields.overflow, 0, 1);
    r.dev.regs.set(SWERR, SWERR.fields.error, 0, 0x53);
    r.w32(r.at(SWERR), 0xfffffffc);
    expect(r.r32(r.at(SWERR))).toBe(0x5303);
    r.w32(r.at(SWERR), 3);
    expect(r.r32(r.at(SWERR))).toBe(0x5300);
  });

  it('GENCFG and GRPCFG ignore writes while the device is enabled', () => {
    const r = rig().pciUp().group(0, [0], [0]).dwq(0, 4);
    expect(r.cmd(Command.ENABLE_DEVICE)).toBe(0);
    r.write(GENCFG, 0, { userIntEn: 1 });
    r.group(0, [0, 1, 2], [0, 1]);
    expect(r.field(GENCFG, 'userIntEn')).toBe(0);
    expect(r.r32(r.dev.layout.grpcfg)).toBe(1);
    expect(r.r32(r.dev.layout.grpcfg + 0x20)).toBe(1);
    expect(r.cmd(Command.DISABLE_DEVICE)).toBe(0);
    r.write(GENCFG, 0, { userIntEn: 1 });
    expect(r.field(GENCFG, 'userIntEn')).toBe(1);
  });

  it('WQCFG ignores writes to an enabled WQ and takes them on a disabled one, also while the device is enabled', () => {
    const r = rig().pciUp().group(0, [0, 1], [0]).dwq(0, 4).dwq(1, 4).up([0]);
    r.dwq(0, 8, { priority: 5 });
    r.dwq(1, 8, { priority: 5 });
    expect([r.field(WQCFG, 'wqSize', 0), r.field(WQCFG, 'priority', 0)]).toEqual([4, 1]);
    expect([r.field(WQCFG, 'wqSize', 1), r.field(WQCFG, 'priority', 1)]).toEqual([8, 5]);
  });

  it('RESET_DEVICE restores every register but CMD, CMDSTS and SWERR', () => {
    const r = rig().pciUp().group(0, [0], [0]).dwq(0, 4);
    const pieces = fieldPieces(r.dev, 4).filter((p) => p.field.access === 'RW' && p.reg.window === undefined);
    for (const p of pieces) writePiece(r.dev, p, 0x5a5a5a5a);
    r.dev.regs.set(SWERR, SWERR.fields.valid, 0, 1);
    r.dev.regs.set(SWERR, SWERR.fields.error, 0, 0x52);
    const cmd = (Command.RESET_DEVICE << 20) >>> 0;
    expect(r.cmd(Command.RESET_DEVICE)).toBe(0);
    expect(pieces.filter((p) => readPiece(r.dev, p) !== p.reset).map(pieceName)).toEqual([]);
    expect(r.r32(0xa0)).toBe(cmd);
    expect(r.swerrField('error')).toBe(0x52);
  });
});

describe('power-on reset', () => {
  it('DsaDevice.reset returns config space, every register (SWERR, CMD, CMDSTS too) and the queues to power-on state', () => {
    const r = rig().pciUp().errorsOn().group(0, [0], [0]).dwq(0, 4).up([0]);
    r.dev.portal(0).movdir64b(new Uint8Array(64));
    r.dev.regs.set(SWERR, SWERR.fields.valid, 0, 1);
    r.dev.reset();
    expect([r.dev.pci.command, r.dev.state, r.dev.occupancy(0), r.dev.msix.enabled]).toEqual([0, 0, 0, false]);
    r.pciUp({ pasid: false, pri: false });
    for (let v = 0; v < r.dev.msix.vectors; v++) r.w32(r.dev.layout.msixTable + 16 * v + 12, 1);
    expect(fieldPieces(r.dev, 4).filter((p) => readPiece(r.dev, p) !== p.reset).map(pieceName)).toEqual([]);
  });
});

describe('register field names', () => {
  it('reach a field by its key and by the name docs/registers.md and vidxd regs print (one spelling per field, both accepted)', () => {
    expect(GENCFG.fields.user_int_en).toBe(GENCFG.fields.userIntEn);
    expect(GENCFG.fields.user_int_en.name).toBe('user_int_en');
    expect(WQCFG.fields.max_xfer_shift).toBe(WQCFG.fields.maxXferShift);
    for (const reg of [GENCFG, WQCFG, SWERR, INTCAUSE]) {
      const byName = reg.fields as unknown as Readonly<Record<string, unknown>>;
      for (const f of reg.fieldList) expect(byName[f.name], `${reg.name}.${f.name}`).toBe(f);
    }
  });

  it('list each field once when the fields are iterated (the documented aliases are not enumerable)', () => {
    expect(Object.keys(GENCFG.fields)).toEqual(['rdbufLimit', 'userIntEn']);
    expect(Object.values(WQCFG.fields)).toHaveLength(WQCFG.fieldList.length);
  });
});
