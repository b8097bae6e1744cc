import { describe, expect, it } from 'vitest';
import { Desc, engineCaps, Flag, Opcode, OpFlag, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { DATA, Harness, ramp } from './harness.js';

const LIST = DATA + 0x80000;
const RR = Flag.CRAV | Flag.RCR;
const crOf = (i: number): number => 0x2000 + i * 32;

/** Writes element i of the list in guest memory. */
function element(h: Harness, i: number, opcode: number, flags: number, fields: (v: DataView) => void = () => {}): void {
  const v = new DataView(h.mem.buffer, LIST + i * 64, 64);
  new Uint8Array(h.mem.buffer, LIST + i * 64, 64).fill(0);
  writeDescHeader(v, 0, opcode, flags, 0x999, false); // bytes 0–3 are ignored for elements
  if ((flags & Flag.CRAV) !== 0) writeDescAddr(v, 0, Desc.CR_ADDR, crOf(i));
  h.mem.bytes.fill(0, crOf(i), crOf(i) + 32);
  fields(v);
}
const batch = (h: Harness, n: number, flags: number = RR, list = LIST): number => h.start(Opcode.BATCH, flags).addr(Desc.SRC, list).size(n).exec();

describe('BATCH (§7.2, §8)', () => {
  it('runs every element in order with its own CR, then writes DC = count', () => {
    const h = new Harness();
    h.put(DATA, ramp(256));
    element(h, 0, Opcode.MEMMOVE, RR, (v) => { writeDescAddr(v, 0, Desc.SRC, DATA); writeDescAddr(v, 0, Desc.DST, DATA + 0x1000); v.setUint32(32, 256, true); });
    element(h, 1, Opcode.MEMMOVE, RR, (v) => { writeDescAddr(v, 0, Desc.SRC, DATA + 0x1000); writeDescAddr(v, 0, Desc.DST, DATA + 0x2000); v.setUint32(32, 256, true); });
    element(h, 2, Opcode.NOOP, RR);
    expect(batch(h, 3)).toBe(1);
    expect(h.at(DATA + 0x2000, 256)).toEqual(ramp(256));
    expect([0, 1, 2].map((i) => h.mem.bytes[crOf(i)])).toEqual([1, 1, 1]);
    expect([h.cr().status, h.cr().bc, h.cr().result]).toEqual([1, 3, 0]);
  });

  it('reports 0x05 when an element fails (0x02 counts), later elements still run without a fence', () => {
    const h = new Harness();
    h.put(DATA + 0x1000, ramp(16, 1));
    element(h, 0, Opcode.COMPARE, RR | Flag.CHECK_RESULT, (v) => { writeDescAddr(v, 0, Desc.SRC, DATA); writeDescAddr(v, 0, Desc.DST, DATA + 0x1000); v.setUint32(32, 16, true); });
    element(h, 1, Opcode.NOOP, RR);
    expect(batch(h, 2)).toBe(5);
    expect([h.mem.bytes[crOf(0)], h.mem.bytes[crOf(1)]]).toEqual([2, 1]);
    expect([h.cr().status, h.cr().bc]).toEqual([5, 2]);
  });

  it('abandons a fenced element and every later one after a failure: no CR, no interrupt, DC stops', () => {
    const h = new Harness();
    element(h, 0, 0x0f, RR); // bad opcode
    element(h, 1, Opcode.NOOP, RR);
    element(h, 2, Opcode.NOOP, RR | Flag.FENCE | Flag.RCI, (v) => v.setUint16(36, 3, true));
    element(h, 3, Opcode.NOOP, RR);
    expect(batch(h, 4)).toBe(5);
    expect([0, 1, 2, 3].map((i) => h.mem.bytes[crOf(i)])).toEqual([0x10, 1, 0, 0]);
    expect(h.interrupts.raised).toEqual([]);
    expect(h.cr().bc).toBe(2);
  });

  it('runs a fenced element when everything before it succeeded ("copy only if equal")', () => {
    const h = new Harness();
    h.put(DATA, ramp(64));
    h.put(DATA + 0x1000, ramp(64));
    element(h, 0, Opcode.COMPARE, RR | Flag.CHECK_RESULT, (v) => { writeDescAddr(v, 0, Desc.SRC, DATA); writeDescAddr(v, 0, Desc.DST, DATA + 0x1000); v.setUint32(32, 64, true); });
    element(h, 1, Opcode.MEMMOVE, RR | Flag.FENCE, (v) => { writeDescAddr(v, 0, Desc.SRC, DATA); writeDescAddr(v, 0, Desc.DST, DATA + 0x3000); v.setUint32(32, 64, true); });
    expect(batch(h, 2)).toBe(1);
    expect(h.at(DATA + 0x3000, 64)).toEqual(ramp(64));
  });

  it('rejects BATCH and DRAIN inside a batch with 0x10 in their own CR', () => {
    const h = new Harness();
    element(h, 0, Opcode.BATCH, RR, (v) => { writeDescAddr(v, 0, Desc.SRC, LIST); v.setUint32(32, 2, true); });
    element(h, 1, Opcode.DRAIN, RR);
    expect(batch(h, 2)).toBe(5);
    expect([h.mem.bytes[crOf(0)], h.mem.bytes[crOf(1)]]).toEqual([0x10, 0x10]);
  });

  it('elements use the batch PASID, Priv and portal type (bytes 0–3 ignored); SWERROR marks batch members', () => {
    const h = new Harness();
    h.ctx.pasid = 1;
    h.ctx.ims = true;
    const seen: unknown[] = [];
    h.interrupts.valid = (handle, ims, _pe, pasid) => { seen.push([handle, ims, pasid]); return true; };
    element(h, 0, Opcode.NOOP, RR | Flag.RCI, (v) => v.setUint16(36, 5, true));
    element(h, 1, 0x0e, 0);
    expect(batch(h, 2)).toBe(5);
    expect(seen).toEqual([[5, true, 1]]);
    expect(h.errors.reports).toHaveLength(1);
    expect(h.errors.reports[0]).toMatchObject({ code: 0x10, batchMember: true, batchIndex: 1, pasid: 1, opcode: 0x0e });
  });

  it('skips check #3 for elements and runs them on a shared WQ with privileged mode', () => {
    const h = new Harness();
    h.ctx.shared = true;
    h.ctx.privModeEnabled = true;
    element(h, 0, Opcode.NOOP, RR);
    element(h, 1, Opcode.NOOP, RR);
    expect(batch(h, 2)).toBe(1);
  });

  it('counts an element whose CR address faulted (0x1A) as failed', () => {
    const h = new Harness();
    element(h, 0, Opcode.NOOP, RR, (v) => writeDescAddr(v, 0, Desc.CR_ADDR, 0x700000));
    element(h, 1, Opcode.NOOP, RR);
    h.hole(0x700000);
    expect(batch(h, 2)).toBe(5);
    expect(h.errors.reports[0]).toMatchObject({ code: 0x1a, batchMember: true, batchIndex: 0 });
  });

  it('reports a list fault as 0x06 with DC = elements processed and the element address', () => {
    const h = new Harness();
    const list = LIST + 0x1000 - 128;
    for (let i = 0; i < 4; i++) {
      const v = new DataView(h.mem.buffer, list + i * 64, 64);
      writeDescHeader(v, 0, Opcode.NOOP, RR);
      writeDescAddr(v, 0, Desc.CR_ADDR, crOf(i));
    }
    h.hole(LIST + 0x1000);
    expect(batch(h, 4, RR, list)).toBe(6);
    expect([h.cr().status, h.cr().bc, h.cr().faultAddr]).toEqual([6, 2, LIST + 0x1000]);
    expect(h.mem.bytes[crOf(1)]).toBe(1);
  });

  it('with PRS requests the list page and continues', () => {
    const h = new Harness();
    h.ctx.prsEnabled = true;
    h.ctx.faults = (_p, iova) => { h.remap(iova - (iova % 4096)); return true; };
    element(h, 0, Opcode.NOOP, RR);
    element(h, 1, Opcode.NOOP, RR);
    h.hole(LIST);
    expect(batch(h, 2)).toBe(1);
  });

  it('with batch continuation: Result = 1 when an element failed, and Batch Error abandons the first fenced element', () => {
    const h = new Harness({ caps: engineCaps({ batchContinuation: true }) });
    element(h, 0, 0x0f, RR);
    element(h, 1, Opcode.NOOP, RR);
    expect(batch(h, 2)).toBe(5);
    expect(h.cr().result).toBe(1);
    element(h, 0, Opcode.NOOP, RR);
    element(h, 1, Opcode.NOOP, RR | Flag.FENCE);
    expect(batch(h, 2, RR | OpFlag.BATCH_ERROR)).toBe(5);
    expect([h.mem.bytes[crOf(0)], h.mem.bytes[crOf(1)], h.cr().bc]).toEqual([1, 0, 1]);
    const plain = new Harness();
    element(plain, 0, 0x0f, RR);
    element(plain, 1, Opcode.NOOP, RR);
    expect(batch(plain, 2)).toBe(5);
    expect(plain.cr().result).toBe(0);
  });

  it('writes no batch CR for 0x05 with RCR = 0 and raises the batch interrupt after the element interrupts', () => {
    const h = new Harness();
    element(h, 0, 0x0f, Flag.RCI, (v) => v.setUint16(36, 1, true));
    element(h, 1, Opcode.NOOP, Flag.RCI, (v) => v.setUint16(36, 2, true));
    expect(h.start(Opcode.BATCH, Flag.CRAV | Flag.RCI).addr(Desc.SRC, LIST).size(2).u16(Desc.INT_HANDLE, 3).exec()).toBe(5);
    expect(h.cr().status).toBe(0);
    expect(h.interrupts.raised).toEqual([1, 2, 3]);
  });

  it('does not read the list when the batch descriptor fails its own checks', () => {
    const h = new Harness();
    let reads = 0;
    h.ctx.space = { translate: (iova, len, w, out) => { if (iova >= LIST && iova < LIST + 0x1000) reads++; return h.space.translate(iova, len, w, out); } };
    expect(h.start(Opcode.BATCH, RR | (1 << 16)).addr(Desc.SRC, LIST).size(2).exec()).toBe(0x11);
    expect(reads).toBe(0);
  });
});
