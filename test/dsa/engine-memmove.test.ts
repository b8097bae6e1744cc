import { describe, expect, it } from 'vitest';
import { Desc, engineCaps, Flag, Opcode } from '../../src/dsa/index.js';
import { Prng } from '../util/prng.js';
import { DATA, Harness, ramp } from './harness.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const mm = (h: Harness, src: number, dst: number, n: number, flags: number = Flag.CRAV | Flag.RCR): number =>
  h.start(Opcode.MEMMOVE, flags).addr(Desc.SRC, src).addr(Desc.DST, dst).size(n).exec();

describe('MEMMOVE (§7.4)', () => {
  it('copies bytes and writes a CR with status 0x01, result 0, BC 0', () => {
    const h = new Harness();
    h.put(DATA, ramp(10000, 3));
    expect(mm(h, DATA, DATA + 0x40000, 10000)).toBe(1);
    expect(h.at(DATA + 0x40000, 10000)).toEqual(ramp(10000, 3));
    const cr = h.cr();
    expect([cr.status, cr.result, cr.bc, cr.faultAddr]).toEqual([1, 0, 0, 0]);
  });

  it('copies across non-contiguous backing pages', () => {
    const h = new Harness({ map: false });
    // IOVA pages 0x100000.. map to scattered memory pages.
    const order = [7, 3, 9, 1, 5, 2];
    order.forEach((p, i) => h.space.map(0x100000 + i * 4096, 4096, h.mem, 0x200000 + p * 4096, 3));
    h.space.map(0, 0x100000, h.mem, 0, 3);
    h.put(DATA, ramp(6 * 4096 - 100, 1));
    expect(mm(h, DATA, 0x100000 + 50, 6 * 4096 - 100)).toBe(1);
    const out = new Uint8Array(6 * 4096);
    order.forEach((p, i) => out.set(h.at(0x200000 + p * 4096, 4096), i * 4096));
    expect(out.subarray(50, 6 * 4096 - 50)).toEqual(ramp(6 * 4096 - 100, 1));
  });

  it('gives overlapping buffers the result of a copy through a temporary buffer, both directions', () => {
    const prng = new Prng(0x3303);
    const h = new Harness({ memSize: 1 << 20 });
    for (let k = 0; k < 150; k++) {
      const data = prng.bytes(0x10000);
      h.put(DATA, data);
      const n = 1 + prng.below(0x6000);
      const src = DATA + 0x6000 + prng.below(0x4000);
      const dst = src + prng.range(-n + 1, n - 1);
      const want = data.slice(0);
      want.copyWithin(dst - DATA, src - DATA, src - DATA + n);
      expect(mm(h, src, dst, n)).toBe(1);
      expect(sameBytes(h.at(DATA, 0x10000), want), `case ${k}`).toBe(true);
    }
  });

  it('rejects overlap with 0x16 without overlapping-copy support', () => {
    const h = new Harness({ caps: engineCaps({ overlapCopy: false }) });
    expect(mm(h, DATA, DATA + 10, 20)).toBe(0x16);
    expect(h.cr().status).toBe(0x16);
  });

  it('faults ascending: BC = bytes copied, status 0x83 for the destination, 0x03 for the source', () => {
    const h = new Harness();
    h.put(DATA, ramp(0x3000));
    h.hole(DATA + 0x42000);
    expect(mm(h, DATA, DATA + 0x40100, 0x2800)).toBe(0x83);
    let cr = h.cr();
    expect([cr.status, cr.result, cr.bc, cr.faultAddr]).toEqual([0x83, 0, 0x1f00, DATA + 0x42000]);
    expect(h.at(DATA + 0x40100, 0x1f00)).toEqual(ramp(0x1f00));
    expect(h.mem.bytes[DATA + 0x42000 - 1]).toBe(ramp(0x1f00)[0x1eff]);
    h.hole(DATA + 0x1000);
    expect(mm(h, DATA, DATA + 0x80000, 0x2000)).toBe(0x03);
    cr = h.cr();
    expect([cr.bc, cr.faultAddr]).toEqual([0x1000, DATA + 0x1000]);
  });

  it('faults descending: result 1, the top BC bytes done, continuation keeps src and dst', () => {
    const h = new Harness();
    const data = ramp(0x4000, 9);
    h.put(DATA, data);
    h.hole(DATA + 0x1000); // inside the source, low part
    const src = DATA + 0x100;
    const dst = DATA + 0x900;
    const n = 0x3000;
    expect(mm(h, src, dst, n)).toBe(0x03);
    const cr = h.cr();
    expect(cr.result).toBe(1);
    expect(cr.faultAddr - (cr.faultAddr % 4096)).toBe(DATA + 0x1000);
    const want = data.slice(0);
    want.copyWithin(0x900, 0x100, 0x100 + n);
    // Top BC bytes of the destination are final.
    expect(h.at(dst + n - cr.bc, cr.bc)).toEqual(want.subarray(0x900 + n - cr.bc, 0x900 + n));
    h.remap(DATA + 0x1000);
    h.put(DATA + 0x1000, data.subarray(0x1000, 0x2000)); // the page's content is unchanged data
    expect(mm(h, src, dst, n - cr.bc)).toBe(1);
    expect(h.at(DATA, 0x4000)).toEqual(want);
  });

  it('faults at an address above 2^53 and reports it exactly', () => {
    const h = new Harness();
    h.start(Opcode.MEMMOVE).addr(Desc.SRC, DATA).u64(Desc.DST, 0xfffff000, 0x7fffffff).size(16);
    expect(h.exec()).toBe(0x83);
    const cr = h.cr();
    expect([cr.u32(8), cr.u32(12), cr.bc]).toEqual([0xfffff000, 0x7fffffff, 0]);
  });

  it('reports a fault without CRAV in SWERROR with address and R/W', () => {
    const h = new Harness();
    h.hole(DATA + 0x10000);
    expect(mm(h, DATA, DATA + 0x10000, 16, 0)).toBe(0x83);
    expect(h.errors.reports[0]).toMatchObject({ code: 0x03, rw: true, addressLo: DATA + 0x10000, addressHi: 0, opcode: 3 });
  });

  it('calls the destination-readback hook after a full success with CC2, never after a fault', () => {
    const h = new Harness();
    const calls: number[] = [];
    h.ctx.readback = (pasid, opcode) => calls.push(pasid, opcode);
    expect(mm(h, DATA, DATA + 0x1000, 64, Flag.CRAV | Flag.RCR | Flag.CC2)).toBe(1);
    expect(calls).toEqual([1, 3]);
    h.hole(DATA + 0x1000);
    expect(mm(h, DATA, DATA + 0x1000, 64, Flag.CRAV | Flag.RCR | Flag.CC2)).toBe(0x83);
    expect(mm(h, DATA, DATA + 0x2000, 64, Flag.CRAV | Flag.RCR)).toBe(1);
    expect(calls).toEqual([1, 3]);
  });
});
