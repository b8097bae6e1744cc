import { describe, expect, it } from 'vitest';
import { Desc, engineCaps, Flag, Opcode, OpFlag } from '../../src/dsa/index.js';
import { Perm } from '../../src/memory/index.js';
import { DATA, Harness, ramp } from './harness.js';

describe('DRAIN (§7.3)', () => {
  it('completes at once with 0x01', () => {
    const h = new Harness();
    expect(h.start(Opcode.DRAIN).exec()).toBe(1);
    expect(h.cr().status).toBe(1);
  });

  it('faults on a readback address with 0x1F (read) and its address', () => {
    const h = new Harness({ caps: engineCaps({ drainReadback: true }) });
    h.hole(DATA + 0x3000);
    h.start(Opcode.DRAIN, Flag.CRAV | Flag.RCR | OpFlag.DRAIN_READBACK1 | OpFlag.DRAIN_READBACK2).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x3008);
    expect(h.exec()).toBe(0x1f);
    expect([h.cr().status, h.cr().faultAddr]).toEqual([0x1f, DATA + 0x3008]);
    h.remap(DATA + 0x3000, 4096, Perm.READ);
    expect(h.exec()).toBe(1);
  });

  it('uses the page-request path for readbacks when PRS is enabled', () => {
    const h = new Harness({ caps: engineCaps({ drainReadback: true }) });
    h.hole(DATA + 0x3000);
    h.ctx.prsEnabled = true;
    const req: number[] = [];
    h.ctx.faults = (_p, iova) => { req.push(iova); h.remap(DATA + 0x3000); return true; };
    h.start(Opcode.DRAIN, Flag.CRAV | Flag.RCR | OpFlag.DRAIN_READBACK1).addr(Desc.SRC, DATA + 0x3010);
    expect(h.exec()).toBe(1);
    expect(req).toEqual([DATA + 0x3010]);
  });
});

describe('CFLUSH (§7.18)', () => {
  it('changes no data and succeeds over mapped pages', () => {
    const h = new Harness();
    h.put(DATA, ramp(0x3000));
    expect(h.start(Opcode.CFLUSH).addr(Desc.DST, DATA + 10).size(0x2000).exec()).toBe(1);
    expect(h.at(DATA, 0x3000)).toEqual(ramp(0x3000));
  });

  it('faults with 0x03 (R/W = 0) and BC = bytes flushed', () => {
    const h = new Harness();
    h.hole(DATA + 0x2000);
    expect(h.start(Opcode.CFLUSH).addr(Desc.DST, DATA + 0x10).size(0x3000).exec()).toBe(3);
    expect([h.cr().bc, h.cr().faultAddr]).toEqual([0x1ff0, DATA + 0x2000]);
  });

  it('calls the readback hook for encoding 010', () => {
    const h = new Harness();
    let calls = 0;
    h.ctx.readback = () => calls++;
    expect(h.start(Opcode.CFLUSH, Flag.CRAV | Flag.RCR | Flag.CC2).addr(Desc.DST, DATA).size(64).exec()).toBe(1);
    expect(calls).toBe(1);
  });
});
