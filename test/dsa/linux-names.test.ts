/**
 * The Linux name of every DSA constant is where the constant is defined (its TSDoc says
 * "Linux `NAME`"), so a driver developer finds `IDXD_OP_FLAG_CRAV` by searching for it; and where our
 * name differs from Linux's, the documented Linux constant has our value. The expected values below
 * are Linux's (`include/uapi/linux/idxd.h`, `drivers/dma/idxd/registers.h`), written down here, not
 * taken from the tables under test.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CMDSTS, CMDSTS_ERRORS, COMMANDS, DeviceState, type FieldDef, fieldMask, Flag, INT_HANDLE_IMS, INTCAUSE, Opcode, Status, STATUS_CODE_MASK, STATUS_WRITE,
  SWERR,
} from '../../src/dsa/index.js';

const source = (file: string): string => readFileSync(fileURLToPath(new URL(`../../src/dsa/spec/${file}`, import.meta.url)), 'utf8');

/** `KEY → Linux name` of every object-literal key whose TSDoc names a Linux constant. */
function linuxNames(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of source(file).matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*\n\s*([A-Z][A-Z0-9_]*):/g)) {
    const name = /Linux `([A-Z][A-Z0-9_]*)`/.exec(m[1] as string);
    if (name !== null) out.set(m[2] as string, name[1] as string);
  }
  return out;
}

describe('Linux names next to the constants', () => {
  it('every generic flag but bit 6 (which Linux does not name) gives its IDXD_OP_FLAG_ name, and that constant has our value', () => {
    const names = linuxNames('flags.ts');
    const linux: Readonly<Record<string, number>> = {
      IDXD_OP_FLAG_FENCE: 0x0001, IDXD_OP_FLAG_BOF: 0x0002, IDXD_OP_FLAG_CRAV: 0x0004, IDXD_OP_FLAG_RCR: 0x0008, IDXD_OP_FLAG_RCI: 0x0010,
      IDXD_OP_FLAG_CRSTS: 0x0020, IDXD_OP_FLAG_CR: 0x0080, IDXD_OP_FLAG_CC: 0x0100, IDXD_OP_FLAG_ADDR1_TCS: 0x0200,
      IDXD_OP_FLAG_ADDR2_TCS: 0x0400, IDXD_OP_FLAG_ADDR3_TCS: 0x0800, IDXD_OP_FLAG_CR_TCS: 0x1000, IDXD_OP_FLAG_STORD: 0x2000,
      IDXD_OP_FLAG_DRDBK: 0x4000, IDXD_OP_FLAG_DSTS: 0x8000,
    };
    const documented = Object.keys(Flag).filter((k) => names.has(k));
    expect(Object.keys(Flag).filter((k) => !names.has(k))).toEqual(['RESERVED6']);
    expect(documented.map((k) => names.get(k)).sort()).toEqual(Object.keys(linux).sort());
    for (const k of documented) expect(Flag[k as keyof typeof Flag], k).toBe(linux[names.get(k) as string]);
  });

  it('every opcode gives its DSA_OPCODE_ name: ours with the prefix, FILL (Linux MEMFILL) the one exception', () => {
    const names = linuxNames('opcodes.ts');
    for (const k of Object.keys(Opcode)) expect(names.get(k), k).toBe(k === 'FILL' ? 'DSA_OPCODE_MEMFILL' : `DSA_OPCODE_${k}`);
    expect(Opcode.FILL).toBe(4);
  });

  it('every status code gives its DSA_COMP_ name; the status byte masks agree with Linux\'s on every code the device writes', () => {
    const names = linuxNames('status.ts');
    for (const k of Object.keys(Status)) expect(names.get(k), k).toBe(`DSA_COMP_${k}`);
    expect([STATUS_WRITE, Status.TRANSLATION_FAIL]).toEqual([0x80, 0x22]);
    const DSA_COMP_STATUS_MASK = 0x7f;
    for (const code of Object.values(Status)) {
      for (const byte of [code, code | STATUS_WRITE]) expect(byte & STATUS_CODE_MASK, `0x${byte.toString(16)}`).toBe(byte & DSA_COMP_STATUS_MASK);
    }
  });

  it('every CMDSTS code gives its IDXD_CMDSTS_ name (0x43, which Linux lacks, says so), and the name field is it without the prefix', () => {
    const names = linuxNames('cmdsts.ts');
    for (const [k, d] of Object.entries(CMDSTS_ERRORS)) {
      if (d.code === 0x43) expect(names.has(k)).toBe(false);
      else expect(names.get(k), k).toBe(`IDXD_CMDSTS_${d.name}`);
    }
    expect(source('cmdsts.ts')).toMatch(/No Linux name: `enum idxd_cmdsts_err` stops at 0x42/);
  });

  it('every command and device state gives its IDXD_CMD_ / IDXD_DEVICE_STATE_ name', () => {
    const text = source('command-codes.ts');
    for (const c of COMMANDS) expect(text, c.name).toMatch(new RegExp(`// Linux \`IDXD_CMD_${c.name}\`\\.\\n  \\{\\n    code: ${c.code}, name: '${c.name}'`));
    const states = linuxNames('command-codes.ts');
    for (const k of Object.keys(DeviceState)) expect(states.get(k), k).toBe(`IDXD_DEVICE_STATE_${k}`);
    expect(DeviceState).toEqual({ DISABLED: 0, ENABLED: 1, DRAIN: 2, HALT: 3 });
    expect(INT_HANDLE_IMS).toBe(0x10000);
  });

  it('INTCAUSE, CMDSTS and SWERR bits carry their Linux macro names, with Linux\'s masks', () => {
    const linux: [FieldDef, string, number][] = [
      [INTCAUSE.fields.softwareError, 'IDXD_INTC_ERR', 0x01],
      [INTCAUSE.fields.commandCompletion, 'IDXD_INTC_CMD', 0x02],
      [INTCAUSE.fields.wqOccupancy, 'IDXD_INTC_OCCUPY', 0x04],
      [INTCAUSE.fields.perfmonOverflow, 'IDXD_INTC_PERFMON_OVFL', 0x08],
      [INTCAUSE.fields.halt, 'IDXD_INTC_HALT_STATE', 0x10],
      [INTCAUSE.fields.handlesRevoked, 'IDXD_INTC_INT_HANDLE_REVOKED', 0x80000000],
      [CMDSTS.fields.active, 'IDXD_CMDSTS_ACTIVE', 0x80000000],
      [CMDSTS.fields.err, 'IDXD_CMDSTS_ERR_MASK', 0xff],
      [SWERR.fields.valid, 'IDXD_SWERR_VALID', 0x1],
      [SWERR.fields.overflow, 'IDXD_SWERR_OVERFLOW', 0x2],
    ];
    for (const [f, name, mask] of linux) {
      expect(f.doc, name).toContain(`Linux \`${name}\``);
      expect(fieldMask(f), name).toBe(mask);
    }
    expect(CMDSTS.fields.result.lo).toBe(8);
    expect(CMDSTS.fields.result.doc).toContain('IDXD_CMDSTS_RES_SHIFT');
  });
});
