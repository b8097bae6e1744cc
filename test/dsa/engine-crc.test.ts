import { describe, expect, it } from 'vitest';
import { Cr, crc32c, Desc, engineCaps, Flag, Opcode, OpFlag } from '../../src/dsa/index.js';
import { ascii, DATA, Harness, pat, ramp } from './harness.js';

const RR = Flag.CRAV | Flag.RCR;

function crcgen(h: Harness, data: Uint8Array, seed: number, flags = 0): number {
  h.put(DATA, data);
  expect(h.start(Opcode.CRCGEN, RR | flags).addr(Desc.SRC, DATA).u32(Desc.CRC_SEED, seed).size(data.length).exec()).toBe(1);
  return h.cr().u32(Cr.CRC);
}

describe('CRCGEN (§7.11) check values through the engine', () => {
  const h = new Harness();
  it('reproduces the CRC-32C table of §12.3', () => {
    expect(crcgen(h, ascii('123456789'), 0)).toBe(0xe3069283);
    expect(crcgen(h, ascii('123456789'), 0x12345678)).toBe(0x27d87b6a);
    expect(crcgen(h, ascii('123456789'), 0xffffffff)).toBe(0xa71c05df);
    expect(crcgen(h, ascii('56789'), 0xf63af4ee)).toBe(0xe3069283);
    expect(crcgen(h, new Uint8Array(4096), 0)).toBe(0x98f94189);
    expect(crcgen(h, ramp(4096).subarray(1000), crcgen(h, ramp(1000), 0))).toBe(0x9c71fe32);
    expect(crcgen(h, pat(4096), 0x12345678)).toBe(0x1b6f4410);
    expect(crcgen(h, ascii('123456789'), 0, OpFlag.CRC_BYPASS_INVERSION)).toBe(0x045fc71a);
    expect(crcgen(h, ascii('123456789'), 0x12345678, OpFlag.CRC_BYPASS_INVERSION)).toBe(0xa1b203f2);
    expect(crcgen(h, ascii('123456789'), 0, OpFlag.CRC_BYPASS_DATA_REFLECTION)).toBe(0xa8f022a0);
    expect(crcgen(h, ascii('123456789'), 0, OpFlag.CRC_BYPASS_INVERSION | OpFlag.CRC_BYPASS_DATA_REFLECTION)).toBe(0xc052a8c8);
    expect(h.cr().u32(20)).toBe(0);
  });

  it('reads the seed from the seed address with op flag 16', () => {
    h.put(DATA, ascii('123456789'));
    h.mem.view.setUint32(DATA + 0x100, 0x12345678, true);
    h.start(Opcode.CRCGEN, RR | OpFlag.CRC_SEED_ADDR).addr(Desc.SRC, DATA).addr(Desc.CRC_SEED_ADDR, DATA + 0x100).size(9);
    expect(h.exec()).toBe(1);
    expect(h.cr().u32(Cr.CRC)).toBe(0x27d87b6a);
  });

  it('faults on the seed address as a read with BC 0', () => {
    const g = new Harness();
    g.hole(DATA + 0x5000);
    g.start(Opcode.CRCGEN, RR | OpFlag.CRC_SEED_ADDR).addr(Desc.SRC, DATA).addr(Desc.CRC_SEED_ADDR, DATA + 0x5000).size(9);
    expect(g.exec()).toBe(3);
    expect([g.cr().bc, g.cr().faultAddr]).toEqual([0, DATA + 0x5000]);
  });

  it('faults with the partial CRC usable as the continuation seed', () => {
    const g = new Harness();
    const data = ramp(0x3000, 7);
    g.put(DATA, data);
    g.hole(DATA + 0x2000);
    g.start(Opcode.CRCGEN).addr(Desc.SRC, DATA + 0x10).size(0x2800);
    expect(g.exec()).toBe(3);
    const cr = g.cr();
    expect(cr.bc).toBe(0x1ff0);
    expect(cr.u32(Cr.CRC)).toBe(crc32c(data.subarray(0x10, 0x2000)));
    const partial = cr.u32(Cr.CRC);
    g.remap(DATA + 0x2000);
    g.start(Opcode.CRCGEN).addr(Desc.SRC, DATA + 0x10 + cr.bc).u32(Desc.CRC_SEED, partial).size(0x2800 - cr.bc);
    expect(g.exec()).toBe(1);
    expect(g.cr().u32(Cr.CRC)).toBe(crc32c(data.subarray(0x10, 0x2810)));
  });

  it('computes CRC-64 with op flag 19 when the capability is on', () => {
    const g = new Harness({ caps: engineCaps({ crc64: true }) });
    g.put(DATA, ascii('123456789'));
    g.start(Opcode.CRCGEN, RR | OpFlag.CRC64).addr(Desc.SRC, DATA).size(9);
    expect(g.exec()).toBe(1);
    expect([g.cr().u32(Cr.CRC + 4), g.cr().u32(Cr.CRC)]).toEqual([0xae8b1486, 0x0a799888]);
  });
});

describe('COPY_CRC (§7.12)', () => {
  it('copies and computes the CRC of the copied bytes', () => {
    const h = new Harness();
    h.put(DATA, ascii('123456789'));
    h.start(Opcode.COPY_CRC).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x1000).size(9);
    expect(h.exec()).toBe(1);
    expect(h.cr().u32(Cr.CRC)).toBe(0xe3069283);
    expect(h.at(DATA + 0x1000, 9)).toEqual(ascii('123456789'));
  });

  it('faults on the destination with BC = bytes both copied and included', () => {
    const h = new Harness();
    const data = ramp(0x3000);
    h.put(DATA, data);
    h.hole(DATA + 0x11000);
    h.start(Opcode.COPY_CRC).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x10800).size(0x2000);
    expect(h.exec()).toBe(0x83);
    const cr = h.cr();
    expect([cr.bc, cr.faultAddr, cr.u32(Cr.CRC)]).toEqual([0x800, DATA + 0x11000, crc32c(data.subarray(0, 0x800))]);
    expect(h.mem.bytes[DATA + 0x10800 + 0x7ff]).toBe(0xff);
  });
});
