/** The SWERR log: the first error fills it, later ones set overflow, software clears it; the error interrupt follows GENCTRL. */
import { describe, expect, it } from 'vitest';
import { Desc, Flag, GENCTRL, INTCAUSE, Opcode, Status, SWERR } from '../../src/dsa/index.js';
import { desc, memmove, rig } from './device-fixtures.js';

const up = () => rig().pciUp().group(0, [0, 1], [0]).dwq(0, 8, { pasidEn: 1, pasid: 1 }).swq(1, 8).up([0, 1]);

describe('SWERR', () => {
  it('a fault without a completion record fills every field of SWERR', () => {
    const r = up().errorsOn();
    r.space(1).unmap(0x5000, 0x1000);
    r.dev.portal(0).movdir64b(memmove(0x1000, 0x5000, 64, { flags: 0 }));
    r.dev.runUntilIdle();
    const w = r.swerr();
    expect(w[0]).toBe((1 | 1 << 2 | 1 << 3 | 1 << 5 | Status.PAGE_FAULT_NOBOF << 8) >>> 0);
    expect(w[1]).toBe((Opcode.MEMMOVE | 1 << 8) >>> 0);
    expect([w[4], w[5]]).toEqual([0x5000, 0]);
    expect(r.intcause()).toBe(1 << INTCAUSE.fields.softwareError.lo);
    expect(r.vectors).toEqual([0]);
  });

  it('records the batch element index and the invalid flags of a batch element', () => {
    const r = up().errorsOn();
    const el = desc(Opcode.NOOP, {}, { flags: Flag.FENCE | 1 << 6 | 1 << 15 });
    r.mem.bytes.set(el, 0x4000);
    r.mem.bytes.set(desc(Opcode.NOOP), 0x4040);
    r.dev.portal(0).movdir64b(desc(Opcode.BATCH, { [Desc.SRC]: 0x4000, [Desc.XFER_SIZE]: 2 }));
    r.dev.runUntilIdle();
    expect([r.swerrField('error'), r.swerrField('batch'), r.swerrField('batchIdx'), r.swerrField('errorInfo')]).toEqual([
      Status.INVALID_FLAGS, 1, 0, 1 << 6 | 1 << 15,
    ]);
  });

  it('a second error while valid sets overflow and keeps the first; clearing valid lets the next one in', () => {
    const r = up();
    r.dev.portal(0).movdir64b(desc(0x7f));
    r.dev.portal(0).movdir64b(desc(0x7e));
    r.dev.runUntilIdle();
    expect([r.swerrField('valid'), r.swerrField('overflow'), r.swerrField('operation')]).toEqual([1, 1, 0x7f]);
    r.w32(r.at(SWERR), 3);
    expect([r.swerrField('valid'), r.swerrField('overflow')]).toEqual([0, 0]);
    r.dev.portal(0).movdir64b(desc(0x7d));
    r.dev.runUntilIdle();
    expect([r.swerrField('valid'), r.swerrField('overflow'), r.swerrField('operation')]).toEqual([1, 0, 0x7d]);
  });

  it('raises no interrupt while GENCTRL.softerr_int_en is 0', () => {
    const r = up();
    r.dev.portal(0).movdir64b(desc(0x7f));
    r.dev.runUntilIdle();
    expect([r.swerrField('valid'), r.intcause(), r.vectors]).toEqual([1, 0, []]);
    r.write(GENCTRL, 0, { softerrIntEn: 1 });
    r.w32(r.at(SWERR), 3);
    r.dev.portal(0).movdir64b(desc(0x7f));
    r.dev.runUntilIdle();
    expect(r.vectors).toEqual([0]);
  });

  it('reports the shared WQ submission\'s PASID', () => {
    const r = up();
    r.dev.portal(1).enqcmd(desc(0x7f), 0, 3);
    r.dev.runUntilIdle();
    expect([r.swerrField('pasid'), r.swerrField('wqIdx'), r.swerrField('priv')]).toEqual([3, 1, 0]);
  });
});
