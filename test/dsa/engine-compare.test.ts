import { describe, expect, it } from 'vitest';
import { Desc, Flag, Opcode } from '../../src/dsa/index.js';
import { DATA, Harness, pat, ramp } from './harness.js';
import { flip } from '../util/bytes.js';

const CHK = Flag.CRAV | Flag.RCR | Flag.CHECK_RESULT;

function compare(h: Harness, a: number, b: number, n: number, flags: number = Flag.CRAV | Flag.RCR, expected = 0): number {
  return h.start(Opcode.COMPARE, flags).addr(Desc.SRC, a).addr(Desc.DST, b).size(n).u8(Desc.EXPECTED_RESULT, expected).exec();
}

describe('COMPARE (§7.6)', () => {
  it('reports equal buffers as result 0, BC 0', () => {
    const h = new Harness();
    h.put(DATA, ramp(5000));
    h.put(DATA + 0x10000, ramp(5000));
    expect(compare(h, DATA, DATA + 0x10000, 5000)).toBe(1);
    expect([h.cr().result, h.cr().bc]).toEqual([0, 0]);
  });

  it('reports the exact offset of the first difference', () => {
    const h = new Harness();
    h.put(DATA, ramp(5000));
    h.put(DATA + 0x10000, ramp(5000));
    flip(h.mem.bytes, DATA + 0x10000 + 4321, 1);
    flip(h.mem.bytes, DATA + 0x10000 + 4500, 1);
    expect(compare(h, DATA, DATA + 0x10000, 5000)).toBe(1);
    expect([h.cr().result, h.cr().bc]).toEqual([1, 4321]);
  });

  it('applies the Check Result table of §7.6', () => {
    const h = new Harness();
    h.put(DATA, ramp(64));
    h.put(DATA + 0x1000, ramp(64));
    h.put(DATA + 0x2000, ramp(64, 1));
    const rows: [number, number, number, number][] = [
      // flags, expected bit, buffer B, status
      [Flag.CRAV | Flag.RCR, 1, DATA + 0x2000, 1],
      [CHK, 0, DATA + 0x1000, 1],
      [CHK, 0, DATA + 0x2000, 2],
      [CHK, 1, DATA + 0x1000, 2],
      [CHK, 1, DATA + 0x2000, 1],
      [CHK, 0xfe, DATA + 0x2000, 2], // bits 7:1 ignored
    ];
    for (const [flags, exp, b, st] of rows) expect(compare(h, DATA, b, 64, flags, exp)).toBe(st);
  });

  it('writes no CR for 0x02 when RCR... is required, so 0x02 always lands in the CR', () => {
    const h = new Harness();
    h.put(DATA + 0x2000, ramp(64, 1));
    expect(compare(h, DATA, DATA + 0x2000, 64, CHK, 0)).toBe(2);
    expect(h.cr().status).toBe(2);
    expect(h.errors.reports).toHaveLength(0);
  });

  it('faults with 0x03 (read), result 0, BC = bytes found equal; a later difference is found after resuming', () => {
    const h = new Harness();
    h.put(DATA, ramp(0x3000));
    h.put(DATA + 0x10000, ramp(0x3000));
    flip(h.mem.bytes, DATA + 0x10000 + 0x2100, 0x80);
    h.hole(DATA + 0x10000 + 0x2000);
    expect(compare(h, DATA, DATA + 0x10000, 0x3000)).toBe(3);
    const cr = h.cr();
    expect([cr.status, cr.result, cr.bc, cr.faultAddr]).toEqual([3, 0, 0x2000, DATA + 0x12000]);
    h.remap(DATA + 0x12000);
    h.mem.bytes[DATA + 0x12100] = ramp(0x3000)[0x2100]! ^ 0x80;
    expect(compare(h, DATA + cr.bc, DATA + 0x10000 + cr.bc, 0x3000 - cr.bc)).toBe(1);
    expect(cr.bc + h.cr().bc).toBe(0x2100);
    expect(h.cr().result).toBe(1);
  });
});

describe('COMPVAL (§7.7)', () => {
  const compval = (h: Harness, src: number, n: number, pattern: number[], flags: number = Flag.CRAV | Flag.RCR, expected = 0): number => {
    h.start(Opcode.COMPVAL, flags).addr(Desc.SRC, src).size(n).u8(Desc.EXPECTED_RESULT, expected);
    pattern.forEach((b, i) => h.u8(Desc.DST + i, b));
    return h.exec();
  };
  const P = [0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01];

  it('compares against the pattern in memory order, also for a partial last pattern', () => {
    const h = new Harness();
    h.put(DATA, pat(1003));
    expect(compval(h, DATA, 1003, P)).toBe(1);
    expect(h.cr().result).toBe(0);
  });

  it('detects zero pages and reports the exact first difference', () => {
    const h = new Harness();
    expect(compval(h, DATA, 4096, [0, 0, 0, 0, 0, 0, 0, 0], CHK, 0)).toBe(1);
    h.mem.bytes[DATA + 3000] = 1;
    expect(compval(h, DATA, 4096, [0, 0, 0, 0, 0, 0, 0, 0], CHK, 0)).toBe(2);
    expect([h.cr().result, h.cr().bc]).toEqual([1, 3000]);
  });

  it('faults with 0x03 and BC = bytes compared', () => {
    const h = new Harness();
    h.put(DATA, pat(0x3000));
    h.hole(DATA + 0x1000);
    expect(compval(h, DATA + 8, 0x2000, P)).toBe(3);
    expect([h.cr().bc, h.cr().faultAddr]).toEqual([0xff8, DATA + 0x1000]);
  });
});
