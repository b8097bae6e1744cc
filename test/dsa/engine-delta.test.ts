import { describe, expect, it } from 'vitest';
import { Cr, Desc, Flag, Opcode } from '../../src/dsa/index.js';
import { Prng } from '../util/prng.js';
import { DATA, Harness } from './harness.js';

const S1 = DATA;
const S2 = DATA + 0x100000;
const REC = DATA + 0x200000;
const DST = DATA + 0x300000;

function crDelta(h: Harness, size: number, max: number, flags: number = Flag.CRAV | Flag.RCR, mask = 0, s1 = S1, s2 = S2, rec = REC): number {
  return h.start(Opcode.CR_DELTA, flags).addr(Desc.SRC, s1).addr(Desc.DST, s2).addr(Desc.DELTA_ADDR, rec)
    .u32(Desc.MAX_DELTA_SIZE, max).u8(Desc.EXPECTED_RESULT_MASK, mask).size(size).exec();
}
function apDelta(h: Harness, rec: number, recSize: number, dst: number, size: number): number {
  return h.start(Opcode.AP_DELTA).addr(Desc.SRC, rec).addr(Desc.DST, dst).u32(Desc.DELTA_SIZE, recSize).size(size).exec();
}

describe('CR_DELTA (§7.8)', () => {
  it('produces the example record of §7.8', () => {
    const h = new Harness();
    h.at(S2 + 8, 8).fill(0x11);
    h.at(S2 + 40, 8).fill(0x22);
    expect(crDelta(h, 64, 80)).toBe(1);
    const cr = h.cr();
    expect([cr.result, cr.bc, cr.u32(Cr.DELTA_SIZE)]).toEqual([1, 0, 20]);
    expect([...h.at(REC, 20)]).toEqual([0x01, 0x00, ...Array(8).fill(0x11), 0x05, 0x00, ...Array(8).fill(0x22)]);
  });

  it('reports result 0 with no difference, and the Check Result mask picks 0x01/0x02', () => {
    const h = new Harness();
    expect(crDelta(h, 64, 80)).toBe(1);
    expect([h.cr().result, h.cr().u32(Cr.DELTA_SIZE)]).toEqual([0, 0]);
    const chk = Flag.CRAV | Flag.RCR | Flag.CHECK_RESULT;
    expect(crDelta(h, 64, 80, chk, 0b001)).toBe(1);
    expect(crDelta(h, 64, 80, chk, 0b110)).toBe(2);
    expect(crDelta(h, 64, 80, chk, 0b11111001)).toBe(1); // bits 7:3 ignored
  });

  it('overflows with result 2, BC = 8·k of the first word that did not fit', () => {
    const h = new Harness();
    for (let k = 0; k < 10; k++) h.mem.bytes[S2 + k * 16] = 1; // words 0, 2, 4, ...
    expect(crDelta(h, 160, 80)).toBe(1);
    const cr = h.cr();
    expect([cr.result, cr.bc, cr.u32(Cr.DELTA_SIZE)]).toEqual([2, 128, 80]);
    expect(crDelta(h, 160, 100, Flag.CRAV | Flag.RCR | Flag.CHECK_RESULT, 0b011)).toBe(1);
    expect(h.cr().result).toBe(1);
    expect(crDelta(h, 160, 80, Flag.CRAV | Flag.RCR | Flag.CHECK_RESULT, 0b011)).toBe(2);
  });

  it('faults on the record with 0x83: BC excludes the unrecorded word, DRS = record written', () => {
    const h = new Harness();
    h.mem.bytes[S2 + 8] = 1;
    h.mem.bytes[S2 + 24] = 1;
    h.hole(REC + 0x1000);
    expect(crDelta(h, 64, 80, Flag.CRAV | Flag.RCR, 0, S1, S2, REC + 0x1000 - 10)).toBe(0x83);
    const cr = h.cr();
    expect([cr.result, cr.bc, cr.u32(Cr.DELTA_SIZE), cr.faultAddr]).toEqual([1, 24, 10, REC + 0x1000]);
  });

  it('faults on a source with 0x03, result 0 before any entry', () => {
    const h = new Harness();
    h.hole(S2 + 0x1000);
    expect(crDelta(h, 0x2000, 800)).toBe(3);
    expect([h.cr().result, h.cr().bc, h.cr().faultAddr]).toEqual([0, 0x1000, S2 + 0x1000]);
  });
});

describe('AP_DELTA (§7.9)', () => {
  it('applies a record created by CR_DELTA (round trip over random data)', () => {
    const prng = new Prng(0xde17a);
    const h = new Harness();
    for (let k = 0; k < 20; k++) {
      const size = 8 * (1 + prng.below(512));
      const a = prng.bytes(size);
      const b = a.slice(0);
      for (let j = prng.below(40); j > 0; j--) b[prng.below(size)] = prng.u32() & 0xff;
      h.put(S1, a);
      h.put(S2, b);
      h.put(DST, a);
      expect(crDelta(h, size, 0x80000)).toBe(1);
      const drs = h.cr().u32(Cr.DELTA_SIZE);
      if (drs === 0) continue;
      expect(apDelta(h, REC, drs, DST, size)).toBe(1);
      expect(h.cr().bc).toBe(0);
      expect(h.at(DST, size)).toEqual(b);
    }
  });

  const entry = (off: number, fill: number): number[] => [off & 0xff, off >> 8, ...Array(8).fill(fill)];

  it('stops with 0x07 at a non-increasing offset, BC = 10·j', () => {
    const h = new Harness();
    h.put(REC, Uint8Array.from([...entry(1, 0xaa), ...entry(3, 0xbb), ...entry(3, 0xcc)]));
    expect(apDelta(h, REC, 30, DST, 64)).toBe(0x07);
    expect(h.cr().bc).toBe(20);
    expect(h.at(DST + 8, 8).every((x) => x === 0xaa)).toBe(true);
    expect(h.at(DST + 24, 8).every((x) => x === 0xbb)).toBe(true);
  });

  it('stops with 0x08 when 8·offset reaches the transfer size', () => {
    const h = new Harness();
    h.put(REC, Uint8Array.from([...entry(7, 0xaa), ...entry(8, 0xbb)]));
    expect(apDelta(h, REC, 20, DST, 64)).toBe(0x08);
    expect(h.cr().bc).toBe(10);
    expect(h.at(DST + 56, 8).every((x) => x === 0xaa)).toBe(true);
  });

  it('reads entries that straddle a page boundary of the record', () => {
    const h = new Harness();
    const rec = REC + 0x1000 - 15;
    h.put(rec, Uint8Array.from([...entry(0, 1), ...entry(1, 2), ...entry(2, 3)]));
    expect(apDelta(h, rec, 30, DST, 64)).toBe(1);
    expect([...h.at(DST, 24)]).toEqual([...Array(8).fill(1), ...Array(8).fill(2), ...Array(8).fill(3)]);
  });

  it('faults on the record (0x03) or the destination (0x83) with BC = record bytes applied', () => {
    const h = new Harness();
    const rec = REC + 0x1000 - 15;
    h.put(rec, Uint8Array.from([...entry(0, 1), ...entry(1, 2), ...entry(0x300, 3)]));
    h.hole(REC + 0x1000);
    expect(apDelta(h, rec, 30, DST, 0x2000)).toBe(0x03);
    expect([h.cr().bc, h.cr().faultAddr]).toEqual([10, REC + 0x1000]);
    h.remap(REC + 0x1000);
    h.put(rec, Uint8Array.from([...entry(0, 1), ...entry(1, 2), ...entry(0x300, 3)]));
    h.hole(DST + 0x1000);
    expect(apDelta(h, rec, 30, DST, 0x2000)).toBe(0x83);
    expect([h.cr().bc, h.cr().faultAddr]).toEqual([20, DST + 0x1800]);
  });
});
