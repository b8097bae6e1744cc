import { describe, expect, it } from 'vitest';
import { DmaRun, GuestMemory, IOVA_LIMIT, IoAddressSpace, Perm } from '../../src/memory/index.js';
import { Prng } from '../util/prng.js';

const MB = 1 << 20;

describe('IoAddressSpace map and translate', () => {
  it('translates an IOVA to its backing bytes and offset', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x10000, 0x2000, mem, 0x3000, Perm.RW);
    const run = new DmaRun();
    expect(s.translate(0x10010, 16, false, run)).toBe(16);
    expect(run.bytes).toBe(mem.bytes);
    expect(run.offset).toBe(0x3010);
  });

  it('returns the run length up to the end of the extent, clamped to the requested length', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x10000, 0x2000, mem, 0, Perm.RW);
    const run = new DmaRun();
    expect(s.translate(0x11000, 0x5000, true, run)).toBe(0x1000);
    expect(s.translate(0x10000, 0x100, true, run)).toBe(0x100);
  });

  it('faults (0) outside every mapping and at 2^53 - 1', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x10000, 0x1000, mem, 0, Perm.RW);
    const run = new DmaRun();
    expect(s.translate(0xf000, 1, false, run)).toBe(0);
    expect(s.translate(0x11000, 1, false, run)).toBe(0);
    expect(s.translate(IOVA_LIMIT - 1, 1, false, run)).toBe(0);
  });

  it('enforces read and write permission separately', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x0, 0x1000, mem, 0, Perm.READ);
    s.map(0x1000, 0x1000, mem, 0x1000, Perm.WRITE);
    const run = new DmaRun();
    expect(s.translate(0x10, 1, false, run)).toBe(1);
    expect(s.translate(0x10, 1, true, run)).toBe(0);
    expect(s.translate(0x1010, 1, true, run)).toBe(1);
    expect(s.translate(0x1010, 1, false, run)).toBe(0);
  });

  it('translates a 1 MiB physically contiguous range mapped page by page in one run', () => {
    const mem = new GuestMemory(2 * MB);
    const s = new IoAddressSpace();
    for (let p = 0; p < 256; p++) s.map(0x100000 + p * 4096, 4096, mem, 0x40000 + p * 4096, Perm.RW);
    expect(s.extentCount).toBe(1);
    const run = new DmaRun();
    expect(s.translate(0x100000, MB, false, run)).toBe(MB);
    expect(run.offset).toBe(0x40000);
  });

  it('merges with both neighbours when a hole is filled, in any map order', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x0, 0x1000, mem, 0x0, Perm.RW);
    s.map(0x2000, 0x1000, mem, 0x2000, Perm.RW);
    expect(s.extentCount).toBe(2);
    s.map(0x1000, 0x1000, mem, 0x1000, Perm.RW);
    expect(s.extentCount).toBe(1);
    expect(s.extents()[0]).toMatchObject({ iova: 0, size: 0x3000, memOffset: 0 });
  });

  it('does not merge neighbours that are not physically contiguous, differ in permission or memory', () => {
    const mem = new GuestMemory(MB);
    const other = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x0, 0x1000, mem, 0x0, Perm.RW);
    s.map(0x1000, 0x1000, mem, 0x5000, Perm.RW);
    s.map(0x2000, 0x1000, mem, 0x6000, Perm.READ);
    s.map(0x3000, 0x1000, other, 0x7000, Perm.READ);
    expect(s.extentCount).toBe(4);
    const run = new DmaRun();
    expect(s.translate(0x0, 0x4000, false, run)).toBe(0x1000);
    expect(s.translate(0x1000, 0x4000, false, run)).toBe(0x1000);
    expect(run.offset).toBe(0x5000);
    expect(s.translate(0x3000, 0x10, false, run)).toBe(0x10);
    expect(run.bytes).toBe(other.bytes);
  });

  it('rejects misaligned, empty, overlapping, out-of-memory and out-of-range mappings', () => {
    const mem = new GuestMemory(0x10000);
    const s = new IoAddressSpace();
    s.map(0x4000, 0x2000, mem, 0, Perm.RW);
    expect(() => s.map(0x1001, 0x1000, mem, 0, Perm.RW)).toThrow(RangeError);
    expect(() => s.map(0x1000, 0x800, mem, 0, Perm.RW)).toThrow(RangeError);
    expect(() => s.map(0x1000, 0x1000, mem, 0x10, Perm.RW)).toThrow(RangeError);
    expect(() => s.map(0x1000, 0, mem, 0, Perm.RW)).toThrow(RangeError);
    expect(() => s.map(0x5000, 0x1000, mem, 0x8000, Perm.RW)).toThrow(/already mapped/);
    expect(() => s.map(0x3000, 0x2000, mem, 0x8000, Perm.RW)).toThrow(/overlaps/);
    expect(() => s.map(0x10000, 0x1000, mem, 0x10000, Perm.RW)).toThrow(/exceeds/);
    expect(() => s.map(IOVA_LIMIT - 0x1000, 0x2000, mem, 0, Perm.RW)).toThrow(RangeError);
    expect(() => s.map(0x20000, 0x1000, mem, 0, 0)).toThrow(/permission/);
    expect(s.extentCount).toBe(1);
  });
});

describe('IoAddressSpace unmap', () => {
  it('splits an extent when the middle is unmapped and keeps both ends translating', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x10000, 0x5000, mem, 0x20000, Perm.RW);
    expect(s.unmap(0x12000, 0x1000)).toBe(0x1000);
    expect(s.extentCount).toBe(2);
    const run = new DmaRun();
    expect(s.translate(0x10000, 0x5000, false, run)).toBe(0x2000);
    expect(s.translate(0x12000, 1, false, run)).toBe(0);
    expect(s.translate(0x13000, 0x5000, false, run)).toBe(0x2000);
    expect(run.offset).toBe(0x23000);
  });

  it('unmaps across several extents and ignores holes', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x0, 0x2000, mem, 0x0, Perm.RW);
    s.map(0x4000, 0x2000, mem, 0x10000, Perm.RW);
    expect(s.unmap(0x1000, 0x4000)).toBe(0x2000);
    expect(s.extents().map((e) => [e.iova, e.size])).toEqual([
      [0x0, 0x1000],
      [0x5000, 0x1000],
    ]);
    expect(s.mappedBytes).toBe(0x2000);
  });

  it('invalidates the last-hit cache (a translation after unmap faults)', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x0, 0x10000, mem, 0, Perm.RW);
    const run = new DmaRun();
    expect(s.translate(0x8000, 1, true, run)).toBe(1);
    s.unmap(0x8000, 0x1000);
    expect(s.translate(0x8000, 1, true, run)).toBe(0);
    expect(s.translate(0x9000, 1, true, run)).toBe(1);
  });

  it('matches a page-table model under random map/unmap sequences', () => {
    const prng = new Prng(0x10a5);
    const mem = new GuestMemory(64 * 4096);
    const s = new IoAddressSpace();
    const pages = new Map<number, { off: number; perm: number }>();
    const run = new DmaRun();
    for (let step = 0; step < 2000; step++) {
      const page = prng.below(64);
      const n = 1 + prng.below(4);
      if (prng.chance(0.5)) {
        let free = true;
        for (let p = page; p < page + n; p++) if (pages.has(p) || p >= 64) free = false;
        if (!free) continue;
        const off = prng.below(64 - n + 1);
        const perm = prng.pick([Perm.READ, Perm.WRITE, Perm.RW]);
        s.map(page * 4096, n * 4096, mem, off * 4096, perm);
        for (let k = 0; k < n; k++) pages.set(page + k, { off: off + k, perm });
      } else {
        s.unmap(page * 4096, n * 4096);
        for (let k = 0; k < n; k++) pages.delete(page + k);
      }
      const probe = prng.below(64);
      const write = prng.chance(0.5);
      const got = s.translate(probe * 4096 + 5, 64 * 4096, write, run);
      const want = pages.get(probe);
      if (want === undefined || (want.perm & (write ? Perm.WRITE : Perm.READ)) === 0) {
        expect(got).toBe(0);
      } else {
        expect(run.offset).toBe(want.off * 4096 + 5);
        // The run extends over following pages exactly while they are contiguous with equal permission.
        let len = 4096 - 5;
        for (let p = probe + 1; p < 64; p++) {
          const nx = pages.get(p);
          if (nx === undefined || nx.perm !== want.perm || nx.off !== want.off + (p - probe)) break;
          len += 4096;
        }
        expect(got).toBe(len);
      }
    }
  });
});

describe('IoAddressSpace helpers', () => {
  it('isMapped checks every byte and the permission', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x0, 0x2000, mem, 0, Perm.RW);
    s.map(0x2000, 0x1000, mem, 0x2000, Perm.READ);
    expect(s.isMapped(0x0, 0x3000, Perm.READ)).toBe(true);
    expect(s.isMapped(0x0, 0x3000, Perm.WRITE)).toBe(false);
    expect(s.isMapped(0x1000, 0x3000)).toBe(false);
  });

  it('clear removes every mapping', () => {
    const mem = new GuestMemory(MB);
    const s = new IoAddressSpace();
    s.map(0x0, 0x2000, mem, 0, Perm.RW);
    s.clear();
    expect(s.extentCount).toBe(0);
    expect(s.translate(0, 1, false, new DmaRun())).toBe(0);
  });
});
