import { describe, expect, it } from 'vitest';
import { Desc, Flag, Opcode, PAGE_REQUEST_ROUNDS } from '../../src/dsa/index.js';
import { DATA, Harness, ramp } from './harness.js';

const BOF = Flag.CRAV | Flag.RCR | Flag.BOF;

function setup(): Harness {
  const h = new Harness();
  h.ctx.wqBlockOnFault = true;
  h.ctx.prsEnabled = true;
  h.put(DATA, ramp(0x3000));
  h.hole(DATA + 0x11000);
  return h;
}
const mm = (h: Harness, flags = BOF): number => h.start(Opcode.MEMMOVE, flags).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x10000).size(0x3000).exec();

describe('block on fault (§6.2)', () => {
  it('asks the page-request hook and continues when it resolves the fault', () => {
    const h = setup();
    const req: [number, number, boolean][] = [];
    h.ctx.faults = (pasid, iova, write) => {
      req.push([pasid, iova, write]);
      h.remap(DATA + 0x11000);
      return true;
    };
    expect(mm(h)).toBe(1);
    expect(req).toEqual([[1, DATA + 0x11000, true]]);
    expect(h.at(DATA + 0x10000, 0x3000)).toEqual(ramp(0x3000));
  });

  it('stops with 0x84 when the hook refuses', () => {
    const h = setup();
    h.ctx.faults = () => false;
    expect(mm(h)).toBe(0x84);
    expect([h.cr().bc, h.cr().faultAddr]).toEqual([0x1000, DATA + 0x11000]);
  });

  it('stops with 0x04 after three resolved-but-still-faulting rounds', () => {
    const h = setup();
    let calls = 0;
    h.ctx.faults = () => {
      calls++;
      return true;
    };
    expect(mm(h)).toBe(0x84);
    expect(calls).toBe(PAGE_REQUEST_ROUNDS);
    expect(PAGE_REQUEST_ROUNDS).toBe(3);
  });

  it('reports 0x03 without the BOF flag, or with PRS disabled, and never calls the hook', () => {
    const h = setup();
    let calls = 0;
    h.ctx.faults = () => {
      calls++;
      return true;
    };
    expect(mm(h, Flag.CRAV | Flag.RCR)).toBe(0x83);
    h.ctx.prsEnabled = false;
    expect(mm(h)).toBe(0x83);
    expect(calls).toBe(0);
  });

  it('routes 0x04 without CRAV to SWERROR with R/W', () => {
    const h = setup();
    h.ctx.faults = () => false;
    expect(mm(h, Flag.BOF)).toBe(0x84);
    expect(h.errors.reports[0]).toMatchObject({ code: 0x04, rw: true, addressLo: DATA + 0x11000 });
  });
});
