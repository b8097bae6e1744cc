/**
 * The dsa header files state the specification once and the model's tables follow them: each
 * command of command-codes.ts has exactly one handler in the model's table, carrying the header's
 * code, name, operand and meaning; each register of the model's BAR0 tables sits at the offset and
 * size its layout in register-fields.ts gives, with the layout's meaning and field positions.
 */
import { describe, expect, it } from 'vitest';
import { Command, COMMAND_CODES, commandCode } from '../../src/dsa/spec/command-codes.js';
import { COMMAND_BY_CODE, COMMANDS } from '../../src/dsa/device/commands.js';
import * as fields from '../../src/dsa/spec/register-fields.js';
import type { RegisterLayout } from '../../src/dsa/spec/register-def.js';
import { BAR0_BLOCKS } from '../../src/dsa/device/registers.js';

describe('command codes', () => {
  it('the model has one handler per command of the header, in code order, with its code, name, operand and meaning', () => {
    const head = (c: { code: number; name: string; operand: string; doc: string }): string[] => [String(c.code), c.name, c.operand, c.doc];
    expect(COMMANDS.map(head)).toEqual(COMMAND_CODES.map(head));
    for (const c of COMMAND_CODES) expect(COMMAND_BY_CODE[c.code]?.name, c.name).toBe(c.name);
    expect(COMMAND_CODES.map((c) => c.code)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
  });

  it('names each code once (Command by name, commandCode by name)', () => {
    expect(Command.ENABLE_DEVICE).toBe(1);
    expect(Command.ENABLE_WQ).toBe(6);
    expect(Command.RELEASE_INT_HANDLE).toBe(14);
    expect(commandCode('DRAIN_PASID')).toMatchObject({ code: 11, operand: 'PASID' });
    expect(new Set(Object.values(Command)).size).toBe(COMMAND_CODES.length);
  });
});

describe('register layouts', () => {
  const layouts = new Map<string, RegisterLayout>(
    Object.entries(fields).filter(([k]) => k.endsWith('_REG')).map(([, v]) => [(v as RegisterLayout).name, v as RegisterLayout]),
  );

  it('every register of the model sits at its layout\'s offset and size, with the layout\'s meaning and field positions', () => {
    const regs = BAR0_BLOCKS.flatMap((b) => b.registers);
    expect(regs.length).toBe(23);
    expect([...layouts.keys()].sort()).toEqual(regs.map((r) => r.name).sort());
    for (const r of regs) {
      const l = layouts.get(r.name) as RegisterLayout;
      expect([r.offset, r.size, r.doc], r.name).toEqual([l.offset, l.size, l.doc]);
      for (const [key, f] of Object.entries(r.fields)) {
        const lf = l.bits[key];
        expect(lf, `${r.name}.${key}`).toBeDefined();
        expect([f.lo, f.width, f.doc], `${r.name}.${key}`).toEqual([lf?.lo, lf?.width, lf?.doc]);
      }
    }
  });

  it('places the fixed registers where the specification does', () => {
    expect(fields.CMD_REG).toMatchObject({ name: 'CMD', offset: 0xa0, size: 4 });
    expect(fields.CMDSTS_REG.offset).toBe(0xa8);
    expect(fields.SWERR_REG).toMatchObject({ offset: 0xc0, size: 32 });
    expect(fields.WQCFG_REG).toMatchObject({ offset: 0, size: 32 });
    expect(fields.GRPENGCFG_REG.offset).toBe(0x20);
  });
});
