import { describe, expect, it } from 'vitest';
import { Desc, Opcode } from '../../src/dsa/index.js';
import { DATA, Harness, ramp } from './harness.js';

const dualcast = (h: Harness, src: number, d1: number, d2: number, n: number): number =>
  h.start(Opcode.DUALCAST).addr(Desc.SRC, src).addr(Desc.DST, d1).addr(Desc.DST2, d2).size(n).exec();

describe('DUALCAST (§7.10)', () => {
  it('copies the source to both destinations', () => {
    const h = new Harness();
    h.put(DATA, ramp(9000, 5));
    expect(dualcast(h, DATA, DATA + 0x10100, DATA + 0x20100, 9000)).toBe(1);
    expect(h.at(DATA + 0x10100, 9000)).toEqual(ramp(9000, 5));
    expect(h.at(DATA + 0x20100, 9000)).toEqual(ramp(9000, 5));
    expect(h.cr().bc).toBe(0);
  });

  it('stops both destinations at the same count on a fault in either', () => {
    const h = new Harness();
    h.put(DATA, ramp(0x3000));
    h.hole(DATA + 0x22000);
    expect(dualcast(h, DATA, DATA + 0x10100, DATA + 0x20100, 0x2800)).toBe(0x83);
    const cr = h.cr();
    expect([cr.bc, cr.faultAddr]).toEqual([0x1f00, DATA + 0x22000]);
    expect(h.mem.bytes[DATA + 0x10100 + 0x1f00]).toBe(0);
    expect(h.mem.bytes[DATA + 0x10100 + 0x1eff]).toBe(0xff);
    h.remap(DATA + 0x22000);
    expect(dualcast(h, DATA + cr.bc, DATA + 0x10100 + cr.bc, DATA + 0x20100 + cr.bc, 0x2800 - cr.bc)).toBe(1);
    expect(h.at(DATA + 0x10100, 0x2800)).toEqual(ramp(0x2800));
    expect(h.at(DATA + 0x20100, 0x2800)).toEqual(ramp(0x2800));
  });
});
