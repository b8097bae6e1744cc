import { describe, expect, it } from 'vitest';
import { Desc, engineCaps, Flag, Opcode, OpFlag } from '../../src/dsa/index.js';
import { DATA, Harness } from './harness.js';

const P = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];
const want = (n: number, p: number[] = P): Uint8Array => Uint8Array.from({ length: n }, (_, i) => p[i % p.length]!);

describe('FILL (§7.5)', () => {
  it('repeats the 8 pattern bytes in memory order for a size that is not a multiple of 8', () => {
    const h = new Harness();
    h.start(Opcode.FILL).addr(Desc.DST, DATA + 3).size(10003);
    for (let i = 0; i < 8; i++) h.u8(Desc.SRC + i, P[i]!);
    expect(h.exec()).toBe(1);
    expect(h.at(DATA + 3, 10003)).toEqual(want(10003));
    expect(h.mem.bytes[DATA + 2]).toBe(0);
    expect(h.mem.bytes[DATA + 3 + 10003]).toBe(0);
    expect(h.cr().bc).toBe(0);
  });

  it('faults with 0x83, BC = bytes written; the pattern restarts at the continuation dst', () => {
    const h = new Harness();
    h.hole(DATA + 0x2000);
    h.start(Opcode.FILL).addr(Desc.DST, DATA + 0x1003).size(0x2000);
    for (let i = 0; i < 8; i++) h.u8(Desc.SRC + i, P[i]!);
    expect(h.exec()).toBe(0x83);
    const cr = h.cr();
    expect([cr.bc, cr.faultAddr]).toEqual([0xffd, DATA + 0x2000]);
    expect(h.at(DATA + 0x1003, 0xffd)).toEqual(want(0xffd));
    h.remap(DATA + 0x2000);
    // Resume with the pattern rotated by BC mod 8 (software's job, §7.5): same bytes as one run.
    const rot = (cr.bc % 8);
    h.start(Opcode.FILL).addr(Desc.DST, DATA + 0x1003 + cr.bc).size(0x2000 - cr.bc);
    for (let i = 0; i < 8; i++) h.u8(Desc.SRC + i, P[(i + rot) % 8]!);
    expect(h.exec()).toBe(1);
    expect(h.at(DATA + 0x1003, 0x2000)).toEqual(want(0x2000));
  });

  it('uses a 16-byte pattern with Fill16 (2.0)', () => {
    const h = new Harness({ caps: engineCaps({ fill16: true }) });
    const p16 = Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    h.start(Opcode.FILL, Flag.CRAV | Flag.RCR | OpFlag.FILL_PATTERN16).addr(Desc.DST, DATA).size(100);
    for (let i = 0; i < 8; i++) h.u8(Desc.SRC + i, p16[i]!).u8(Desc.PATTERN_HI + i, p16[8 + i]!);
    expect(h.exec()).toBe(1);
    expect(h.at(DATA, 100)).toEqual(want(100, p16));
  });
});
