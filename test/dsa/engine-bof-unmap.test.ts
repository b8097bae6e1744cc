/**
 * A page-request service that changes other mappings (vfio-uapi.md §9.2: once an unmap returns, no
 * descriptor may reach that memory; dsa-operations.md §6.1: a chunk is done only once all its
 * operands are translated): when the service runs while a chunk's operands are being translated,
 * the operands translated before it are translated again, so no DMA goes through a mapping the
 * service removed. A service that keeps taking one operand's page away to give the other's ends the
 * descriptor with 0x04 instead of looping. Found by the fuzz harness (DUALCAST wrote through a stale
 * destination run); the other cases are the same pattern in the engine's other multi-run paths.
 */
import { describe, expect, it } from 'vitest';
import { Desc, Flag, Opcode } from '../../src/dsa/index.js';
import { DATA, Harness, ramp } from './harness.js';
import { flip } from '../util/bytes.js';

const BOF = Flag.CRAV | Flag.RCR | Flag.BOF;

/** A harness with block on fault and PRS, ramp data at DATA, and `holes` unmapped. */
function setup(holes: readonly number[]): Harness {
  const h = new Harness();
  h.ctx.wqBlockOnFault = true;
  h.ctx.prsEnabled = true;
  h.put(DATA, ramp(0x1000));
  for (const at of holes) h.hole(at);
  return h;
}

/** A service that maps the faulting page and unmaps `victim` the first time, then refuses. */
function swapOnce(h: Harness, victim: number): [number, boolean][] {
  const calls: [number, boolean][] = [];
  h.ctx.faults = (_pasid, iova, write) => {
    calls.push([iova, write]);
    if (calls.length > 1) return false;
    h.remap(iova - (iova % 4096));
    h.hole(victim);
    return true;
  };
  return calls;
}

describe('a page-request service that unmaps another operand (§6.1, vfio-uapi §9.2)', () => {
  it('DUALCAST: the destination unmapped by the service is translated again, never written', () => {
    const dst1 = DATA + 0x10000;
    const dst2 = DATA + 0x20000;
    const h = setup([dst2]);
    const calls = swapOnce(h, dst1);
    const st = h.start(Opcode.DUALCAST, BOF).addr(Desc.SRC, DATA).addr(Desc.DST, dst1).addr(Desc.DST2, dst2).size(0x100).exec();
    expect(calls).toEqual([[dst2, true], [dst1, true]]);
    expect([st, h.cr().bc, h.cr().faultAddr]).toEqual([0x84, 0, dst1]);
    expect(h.at(dst1, 0x100).every((b) => b === 0)).toBe(true);
    expect(h.at(dst2, 0x100).every((b) => b === 0)).toBe(true);
  });

  it('MEMMOVE: a source unmapped by the service is not read through its old translation', () => {
    const dst = DATA + 0x10000;
    const h = setup([dst]);
    const calls = swapOnce(h, DATA);
    const st = h.start(Opcode.MEMMOVE, BOF).addr(Desc.SRC, DATA).addr(Desc.DST, dst).size(0x100).exec();
    expect(calls).toEqual([[dst, true], [DATA, false]]);
    expect([st, h.cr().bc, h.cr().faultAddr]).toEqual([0x04, 0, DATA]);
    expect(h.at(dst, 0x100).every((b) => b === 0)).toBe(true);
  });

  it('MEMMOVE descending: the source page the service unmapped for the destination is translated again', () => {
    const h = setup([DATA + 0x3000]);
    h.put(DATA, ramp(0x3000));
    const calls = swapOnce(h, DATA + 0x2000);
    const st = h.start(Opcode.MEMMOVE, BOF).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x1000).size(0x3000).exec();
    expect(calls).toEqual([[DATA + 0x3000, true], [DATA + 0x2000, false]]);
    expect([st, h.cr().result, h.cr().bc]).toEqual([0x04, 1, 0]);
    expect(h.at(DATA + 0x3000, 0x1000).every((b) => b === 0)).toBe(true);
  });

  it('DIF_INS: the source block the service unmapped for the destination is translated again', () => {
    const dst = DATA + 0x10000;
    const h = setup([dst]);
    const calls = swapOnce(h, DATA);
    const st = h.start(Opcode.DIF_INS, BOF).addr(Desc.SRC, DATA).addr(Desc.DST, dst).size(512).exec();
    expect(calls).toEqual([[dst, true], [DATA, false]]);
    expect([st, h.cr().bc]).toEqual([0x04, 0]);
    expect(h.at(dst, 520).every((b) => b === 0)).toBe(true);
  });

  it('CR_DELTA: a record entry split over two pages is not written through the half the service unmapped', () => {
    const src2 = DATA + 0x20000;
    const record = DATA + 0x10ffa; // the first 10-byte entry straddles DATA + 0x11000
    const h = setup([DATA + 0x11000]);
    const changed = ramp(0x100);
    flip(changed, 0, 0xff);
    h.put(src2, changed);
    const calls = swapOnce(h, DATA + 0x10000);
    const st = h.start(Opcode.CR_DELTA, BOF).addr(Desc.SRC, DATA).addr(Desc.DST, src2).size(0x100)
      .addr(Desc.DELTA_ADDR, record).u32(Desc.MAX_DELTA_SIZE, 80).exec();
    expect(calls).toEqual([[DATA + 0x11000, true], [record, true]]);
    expect([st, h.cr().bc, h.cr().u32(16)]).toEqual([0x84, 0, 0]);
    expect(h.at(record, 6).every((b) => b === 0)).toBe(true);
  });

  it('ends with 0x04 when the service keeps swapping the operands\' pages', () => {
    const dst1 = DATA + 0x10000;
    const dst2 = DATA + 0x20000;
    const h = setup([dst2]);
    let calls = 0;
    h.ctx.faults = (_pasid, iova) => {
      calls++;
      const page = iova - (iova % 4096);
      h.remap(page);
      h.hole(page === dst1 ? dst2 : dst1);
      return true;
    };
    const st = h.start(Opcode.DUALCAST, BOF).addr(Desc.SRC, DATA).addr(Desc.DST, dst1).addr(Desc.DST2, dst2).size(0x100).exec();
    expect(st & 0x3f).toBe(0x04);
    expect(calls).toBeLessThanOrEqual(8);
    expect(h.at(dst1, 0x100).every((b) => b === 0) && h.at(dst2, 0x100).every((b) => b === 0)).toBe(true);
  });
});
