/**
 * State the engine keeps between descriptors for speed must never leak into a result: the
 * completion-record scratch (written without reading it while nothing dirtied it), the cached
 * views of the submitter's buffer and of the CR's backing store, the frame's context.
 */
import { describe, expect, it } from 'vitest';
import { Cr, Desc, DescriptorEngine, ExecContext, Flag, Opcode, writeDescAddr, writeDescHeader } from '../../src/dsa/index.js';
import { type AddressSpace, DmaRun, GuestMemory, Iommu, Perm } from '../../src/memory/index.js';
import { DATA, Harness } from './harness.js';

const ALL_ONES = new Uint8Array(32).fill(0xff);

describe('engine hot path: nothing leaks between descriptors', () => {
  it('a NOOP after an operation that filled the CR scratch writes an all-zero record but its status', () => {
    const h = new Harness();
    // COMPARE with a difference: Result 1, Bytes Completed set.
    h.put(DATA, new Uint8Array([1, 2, 3, 4]));
    h.put(DATA + 0x100, new Uint8Array([1, 2, 9, 4]));
    h.start(Opcode.COMPARE).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x100).size(4);
    expect(h.exec()).toBe(0x01);
    expect([h.cr().result, h.cr().bc]).toEqual([1, 2]);
    // A fault: Bytes Completed and Fault Address set.
    h.hole(DATA + 0x1000);
    h.start(Opcode.MEMMOVE).addr(Desc.SRC, DATA + 0x1000).addr(Desc.DST, DATA + 0x3000).size(64);
    expect(h.exec()).toBe(0x03);
    expect(h.cr().faultAddr).toBe(DATA + 0x1000);
    for (const opcode of [Opcode.NOOP, Opcode.MEMMOVE]) {
      h.start(opcode);
      if (opcode === Opcode.MEMMOVE) h.addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x2000).size(16);
      h.put(h.crIova, ALL_ONES);
      expect(h.exec()).toBe(0x01);
      expect(Array.from(h.cr().raw)).toEqual([1, ...new Array<number>(31).fill(0)]);
    }
    // Invalid flags, then a NOOP.
    h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.CHECK_RESULT);
    expect(h.exec()).toBe(0x11);
    expect(h.cr().invalidFlags).toBe(Flag.CHECK_RESULT);
    h.start(Opcode.NOOP);
    h.put(h.crIova, ALL_ONES);
    expect(h.exec()).toBe(0x01);
    expect(Array.from(h.cr().raw)).toEqual([1, ...new Array<number>(31).fill(0)]);
  });

  it('writes the record through a backing store that is not 4-byte aligned, clean or not', () => {
    const mem = new GuestMemory(1 << 16);
    // An address space whose runs start one byte into the guest memory's buffer.
    const shifted = new Uint8Array(mem.buffer, 1, (1 << 16) - 8);
    const space: AddressSpace = {
      translate(iova: number, length: number, _write: boolean, out: DmaRun): number {
        if (iova + length > shifted.length) return 0;
        out.bytes = shifted;
        out.offset = iova;
        return length;
      },
    };
    const engine = new DescriptorEngine();
    const ctx = new ExecContext();
    ctx.space = space;
    const desc = new Uint8Array(64);
    const view = new DataView(desc.buffer);
    const cr = 0x100;
    shifted.set(new Uint8Array([5, 6, 7, 8]), 0x1000);
    shifted.set(new Uint8Array([5, 6, 0, 8]), 0x2000);
    writeDescHeader(view, 0, Opcode.COMPARE, Flag.CRAV | Flag.RCR);
    writeDescAddr(view, 0, Desc.CR_ADDR, cr);
    writeDescAddr(view, 0, Desc.SRC, 0x1000);
    writeDescAddr(view, 0, Desc.DST, 0x2000);
    view.setUint32(Desc.XFER_SIZE, 4, true);
    shifted.set(ALL_ONES, cr);
    expect(engine.execute(desc, 0, ctx)).toBe(0x01);
    expect(Array.from(shifted.subarray(cr, cr + 8))).toEqual([1, 1, 0, 0, 2, 0, 0, 0]);
    desc.fill(0);
    writeDescHeader(view, 0, Opcode.NOOP, Flag.CRAV | Flag.RCR);
    writeDescAddr(view, 0, Desc.CR_ADDR, cr);
    shifted.set(ALL_ONES, cr);
    expect(engine.execute(desc, 0, ctx)).toBe(0x01);
    expect(Array.from(shifted.subarray(cr, cr + 32))).toEqual([1, ...new Array<number>(31).fill(0)]);
  });

  it('reads descriptors in place and copied in any order from the same and from different buffers', () => {
    const h = new Harness();
    const ring = new Uint8Array(64 * 4 + 8);
    const put = (at: number, cr: number): void => {
      const v = new DataView(ring.buffer, at, 64);
      ring.fill(0, at, at + 64);
      writeDescHeader(v, 0, Opcode.NOOP, Flag.CRAV | Flag.RCR);
      writeDescAddr(v, 0, Desc.CR_ADDR, cr);
    };
    // 0 and 128 are read in place, 65 is copied (not 4-byte aligned); a second buffer in between.
    put(0, 0x2000);
    put(65, 0x2020);
    put(128, 0x2040);
    const other = new Uint8Array(64);
    const ov = new DataView(other.buffer);
    writeDescHeader(ov, 0, Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.CHECK_RESULT);
    writeDescAddr(ov, 0, Desc.CR_ADDR, 0x2060);
    const results: number[] = [];
    for (const [buf, at] of [[ring, 0], [ring, 65], [other, 0], [ring, 128], [ring, 65], [ring, 0], [other, 0]] as const) {
      results.push(h.engine.execute(buf, at, h.ctx));
    }
    expect(results).toEqual([1, 1, 0x11, 1, 1, 1, 0x11]);
    expect([0x2000, 0x2020, 0x2040, 0x2060].map((cr) => h.mem.bytes[cr + Cr.STATUS])).toEqual([1, 1, 1, 0x11]);
  });

  it('uses the context of each call, alternating between two', () => {
    const h = new Harness();
    const other = new ExecContext();
    other.space = h.space;
    other.pasid = 1;
    other.maxXferShift = 4; // 16 bytes at most
    h.start(Opcode.MEMMOVE).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x1000).size(64);
    const statuses = [h.ctx, other, h.ctx, other].map((c) => h.engine.execute(h.desc, 0, c));
    expect(statuses).toEqual([0x01, 0x13, 0x01, 0x13]);
  });
});

describe('memory: translation caches follow map, unmap and attach', () => {
  it('IoAddressSpace: a repeated hit sees unmap, remap with other permissions, and clear', () => {
    const mem = new GuestMemory(1 << 16);
    const iommu = new Iommu();
    const s = iommu.create(3);
    const run = new DmaRun();
    s.map(0x4000, 0x2000, mem, 0x1000, Perm.RW);
    expect(s.translate(0x4010, 8, true, run)).toBe(8);
    expect(run.offset).toBe(0x1010);
    expect(s.translate(0x4ff8, 0x100, false, run)).toBe(0x100);
    s.unmap(0x4000, 0x1000);
    expect(s.translate(0x4010, 8, true, run)).toBe(0);
    expect(s.translate(0x5010, 8, true, run)).toBe(8);
    expect(run.offset).toBe(0x2010);
    s.map(0x4000, 0x1000, mem, 0x8000, Perm.READ);
    expect(s.translate(0x4010, 8, true, run)).toBe(0);
    expect(s.translate(0x4010, 8, false, run)).toBe(8);
    expect(run.offset).toBe(0x8010);
    s.clear();
    expect(s.translate(0x5010, 8, false, run)).toBe(0);
  });

  it('Iommu: space() after attach and detach', () => {
    const iommu = new Iommu();
    expect(iommu.space(5)).toBeNull();
    const a = iommu.create(5);
    expect(iommu.space(5)).toBe(a);
    expect(iommu.space(5)).toBe(a);
    expect(iommu.detach(5)).toBe(true);
    expect(iommu.space(5)).toBeNull();
    const b = iommu.create(5);
    expect(iommu.space(5)).toBe(b);
    expect(iommu.space(6)).toBeNull();
    expect(iommu.space(5)).toBe(b);
  });
});
