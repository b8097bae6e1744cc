/**
 * Partial completion (dsa-operations.md §6.4): a page fault stops an operation mid-way; the driver
 * asks the fault hook (which maps the missing page into the IOAS, as a VMM does), resubmits exactly the
 * rest, and the final result is the one a fault-free run gives. Fault positions come from a seeded PRNG.
 */
import { describe, expect, it } from 'vitest';
import { refCrc32c, refDelta, refDifInsert, refFill } from '../../src/cli/reference.js';
import { crc32c } from '../../src/dsa/index.js';
import type { DeltaResult } from '../../src/guest/index.js';
import { Prng } from '../util/prng.js';
import { DWQ, openVm, SWQ } from './fixtures.js';
import { flip } from '../util/bytes.js';

/** The unmapped page of each test. */
const HOLE = 0x80000;

describe.each([
  ['dedicated', DWQ],
  ['shared', SWQ],
] as const)('on a %s vdev, after a page fault', (_m, type) => {
  it('memmove resumes ascending (src and dst advance) and the copy is exact', async () => {
    for (const seed of [1, 2, 3]) {
      const vm = await openVm(type, { holes: [HOLE] });
      const rnd = new Prng(seed);
      const src = 0x40000;
      rnd.fill(vm.at(src, 0x4000));
      const before = rnd.range(1, 0x3000);
      const dst = HOLE - before;
      const r = await vm.g.memmove(dst, src, 0x4000);
      expect([r.faults, r.submissions]).toEqual([1, 2]);
      expect(vm.faults.map((f) => [f.address, f.write, f.bytesCompleted])).toEqual([[HOLE, true, before]]);
      expect(vm.at(dst, 0x4000)).toEqual(vm.at(src, 0x4000));
      expect(vm.g.stats.ops.memmove?.statuses).toEqual({ '0x83': 1, '0x01': 1 });
    }
  });

  it('memmove resumes a descending overlapping copy (only the size shrinks) and the copy is exact', async () => {
    const vm = await openVm(type, { holes: [HOLE] });
    const rnd = new Prng(4);
    const base = HOLE - 0x3000;
    rnd.fill(vm.at(base, 0x8000));
    const shift = rnd.range(1, 0xfff);
    const want = vm.at(base, 0x8000).slice();
    want.copyWithin(shift, 0, 0x6000);
    const r = await vm.g.memmove(base + shift, base, 0x6000);
    expect(r.faults).toBeGreaterThanOrEqual(1);
    expect(vm.at(base, 0x8000)).toEqual(want);
  });

  it('fill rotates its pattern when the fault splits it, so the bytes are exact', async () => {
    const vm = await openVm(type, { holes: [HOLE] });
    const before = 8 * new Prng(5).range(1, 0x200) + 3;
    const r = await vm.g.fill(HOLE - before, 0x2000, 0x0123456789abcdefn);
    expect(r.faults).toBe(1);
    expect(vm.at(HOLE - before, 0x2000)).toEqual(refFill(0x2000, 0x0123456789abcdefn));
  });

  it('crc32c and copyCrc chain the partial CRC as the seed of the rest', async () => {
    const vm = await openVm(type, { holes: [HOLE, HOLE + 0x10000] });
    const rnd = new Prng(6);
    const src = HOLE - rnd.range(1, 0xfff);
    rnd.fill(vm.at(src, 0x3000));
    const crc = await vm.g.crc32c(src, 0x3000, 0xdeadbeef);
    expect([crc.crc, crc.faults]).toEqual([refCrc32c(vm.at(src, 0x3000), 0xdeadbeef), 1]);
    expect(vm.faults[0]).toMatchObject({ op: 'crc32c', write: false, address: HOLE });
    const dst = HOLE + 0x10000 - rnd.range(1, 0xfff);
    const cc = await vm.g.copyCrc(dst, src, 0x3000);
    expect([cc.crc, cc.faults]).toEqual([refCrc32c(vm.at(src, 0x3000)), 1]);
    expect(vm.at(dst, 0x3000)).toEqual(vm.at(src, 0x3000));
  });

  it('crc32c and copyCrc with the CRC operation flags chain the partial CRC under the same flags', async () => {
    const vm = await openVm(type, { holes: [HOLE, HOLE + 0x10000] });
    const rnd = new Prng(16);
    const src = HOLE - rnd.range(1, 0xfff);
    rnd.fill(vm.at(src, 0x3000));
    const crc = await vm.g.crc32c(src, 0x3000, 0x0badcafe, { bypassInversion: true });
    expect([crc.crc, crc.faults]).toEqual([crc32c(vm.at(src, 0x3000), 0x0badcafe, true, false), 1]);
    const dst = HOLE + 0x10000 - rnd.range(1, 0xfff);
    const cc = await vm.g.copyCrc(dst, src, 0x3000, 0, { bypassInversion: true, bypassDataReflection: true });
    expect([cc.crc, cc.faults]).toEqual([crc32c(vm.at(src, 0x3000), 0, true, true), 1]);
    expect(vm.at(dst, 0x3000)).toEqual(vm.at(src, 0x3000));
  });

  it('compare and comparePattern report the absolute offset of a difference found after the fault', async () => {
    const vm = await openVm(type, { holes: [HOLE, HOLE + 0x10000] });
    const rnd = new Prng(7);
    const a = 0x40000;
    const b = HOLE - rnd.range(1, 0xfff);
    rnd.fill(vm.at(a, 0x3000));
    vm.at(b, 0x3000).set(vm.at(a, 0x3000));
    const k = HOLE - b + rnd.range(0, 0x1000);
    flip(vm.mem.bytes, b + k, 0x80);
    expect(await vm.g.compare(a, b, 0x3000)).toMatchObject({ equal: false, offset: k, faults: 1 });
    const p = HOLE + 0x10000 - (8 * rnd.range(1, 0x1f0) + 5);
    await vm.g.fill(0x60000, 0x3000, 0x1122334455667788n);
    vm.at(p, 0x3000).set(vm.at(0x60000, 0x3000));
    expect(await vm.g.comparePattern(p, 0x3000, 0x1122334455667788n)).toMatchObject({ equal: true, faults: 1 });
    flip(vm.mem.bytes, p + 0x2abc, 1);
    expect(await vm.g.comparePattern(p, 0x3000, 0x1122334455667788n)).toMatchObject({ equal: false, offset: 0x2abc });
  });

  it('dualcast resumes all three addresses together', async () => {
    const vm = await openVm(type, { holes: [HOLE + 0x1000] });
    const src = 0x40000;
    new Prng(8).fill(vm.at(src, 0x2000));
    const r = await vm.g.dualcast(0x60100, HOLE + 0x100, src, 0x1f00);
    expect(r.faults).toBe(1);
    expect(vm.at(0x60100, 0x1f00)).toEqual(vm.at(src, 0x1f00));
    expect(vm.at(HOLE + 0x100, 0x1f00)).toEqual(vm.at(src, 0x1f00));
  });

  it('difInsert, difCheck, difStrip and difUpdate resume at the first unfinished block with its tags', async () => {
    const vm = await openVm(type, { holes: [HOLE, HOLE + 0x10000, HOLE + 0x20000, HOLE + 0x30000] });
    const rnd = new Prng(9);
    const blocks = 12;
    const data = 0x40000;
    rnd.fill(vm.at(data, blocks * 512));
    const tags = { refTag: 0xfffffffa, appTag: 0x1234, appTagIncrementing: true };
    const ref = (t: { refTag: number; appTag: number }): Uint8Array => {
      const out = refDifInsert(vm.at(data, blocks * 512), 512, t.refTag, t.appTag);
      // refDifInsert keeps the app tag fixed: apply the increment here.
      for (let i = 0; i < blocks; i++) new DataView(out.buffer).setUint16(i * 520 + 514, (t.appTag + i) & 0xffff);
      return out;
    };
    const prot = HOLE - rnd.range(1, 0xfff);
    const ins = await vm.g.difInsert(prot, data, blocks * 512, tags);
    expect([ins.ok, ins.faults]).toEqual([true, 1]);
    expect(vm.at(prot, blocks * 520)).toEqual(ref(tags));
    const moved = HOLE + 0x10000 - rnd.range(1, 0xfff);
    vm.at(moved, blocks * 520).set(vm.at(prot, blocks * 520));
    expect(await vm.g.difCheck(moved, blocks * 520, tags)).toMatchObject({ ok: true, faults: 1, blocks });
    const stripped = HOLE + 0x20000 - rnd.range(1, 0xfff);
    expect(await vm.g.difStrip(stripped, prot, blocks * 520, tags)).toMatchObject({ ok: true, faults: 1 });
    expect(vm.at(stripped, blocks * 512)).toEqual(vm.at(data, blocks * 512));
    const next = { refTag: 100, appTag: 0xbeef, appTagIncrementing: true };
    const upd = HOLE + 0x30000 - rnd.range(1, 0xfff);
    expect(await vm.g.difUpdate(upd, prot, blocks * 520, tags, next)).toMatchObject({ ok: true, faults: 1 });
    expect(vm.at(upd, blocks * 520)).toEqual(ref(next));
  });

  it('a DIF error after a resumption names the block of the whole stream', async () => {
    const vm = await openVm(type, { holes: [HOLE] });
    const blocks = 10;
    new Prng(10).fill(vm.at(0x40000, blocks * 512));
    const prot = HOLE - 3 * 520 - 100;
    vm.at(prot, blocks * 520).set(refDifInsert(vm.at(0x40000, blocks * 512), 512, 0, 0));
    flip(vm.mem.bytes, prot + 7 * 520 + 9, 4);
    expect(await vm.g.difCheck(prot, blocks * 520)).toMatchObject({ ok: false, difStatus: 1, failedBlock: 7, faults: 1 });
  });

  it('applyDelta resumes the record where it stopped', async () => {
    const vm = await openVm(type, { holes: [HOLE] });
    const rnd = new Prng(11);
    const orig = 0x40000;
    const mod = 0x50000;
    rnd.fill(vm.at(orig, 0x3000));
    vm.at(mod, 0x3000).set(vm.at(orig, 0x3000));
    for (let w = 0; w < 0x3000 / 8; w += 7) flip(vm.mem.bytes, mod + 8 * w, 0x33);
    const record = refDelta(vm.at(orig, 0x3000), vm.at(mod, 0x3000));
    vm.at(0x60000, record.length).set(record);
    const dst = HOLE - 0x1000;
    vm.at(dst, 0x3000).set(vm.at(orig, 0x3000));
    expect(await vm.g.applyDelta(dst, 0x60000, record.length, 0x3000)).toMatchObject({ faults: 1 });
    expect(vm.at(dst, 0x3000)).toEqual(vm.at(mod, 0x3000));
  });

  it('createDelta rebases the entries of the resumed part and gives the fault-free record', async () => {
    const rnd = new Prng(12);
    const orig = HOLE - 0x2000;
    const size = 0x4000;
    const setup = (vm: Awaited<ReturnType<typeof openVm>>): void => {
      const r2 = new Prng(13);
      r2.fill(vm.at(orig, size));
      vm.at(0x40000, size).set(vm.at(orig, size));
      for (let w = 3; w < size / 8; w += 37) flip(vm.mem.bytes, 0x40000 + 8 * w + (w % 8), 0x5a);
    };
    const vm = await openVm(type, { holes: [HOLE] });
    setup(vm);
    const want = refDelta(vm.at(orig, size), vm.at(0x40000, size));
    const d: DeltaResult = await vm.g.createDelta(orig, 0x40000, size, 0x60000, 0x1000);
    expect([d.result, d.recordSize, d.faults]).toEqual([1, want.length, 1]);
    expect(vm.at(0x60000, want.length)).toEqual(want);
    // Less than the device's minimum of 80 bytes left after the fault: the rest runs against a scratch
    // record and only what fits is copied back; an entry that does not fit is the overflow, as without the fault.
    for (const after of [2, 5]) {
      const words = (lo: number, n: number): number[] => {
        const set = new Set<number>();
        while (set.size < n) set.add(lo + rnd.below(1024));
        return [...set];
      };
      const marks = [...words(0, 5), ...words(1024, after)];
      const prep = (v: Awaited<ReturnType<typeof openVm>>): void => {
        new Prng(14).fill(v.at(orig, size));
        v.at(0x40000, size).set(v.at(orig, size));
        for (const w of marks) flip(v.mem.bytes, 0x40000 + 8 * w, 0xa5);
      };
      const clean = await openVm(type);
      prep(clean);
      const cleanResult = await clean.g.createDelta(orig, 0x40000, size, 0x60000, 80);
      const faulted = await openVm(type, { holes: [HOLE] });
      prep(faulted);
      const got = await faulted.g.createDelta(orig, 0x40000, size, 0x60000, 80);
      expect(cleanResult.result).toBe(after > 3 ? 2 : 1);
      expect([got.result, got.recordSize, got.bytesCompared, got.faults]).toEqual([cleanResult.result, cleanResult.recordSize, cleanResult.bytesCompared, 1]);
      expect(faulted.at(0x60000, got.recordSize)).toEqual(clean.at(0x60000, cleanResult.recordSize));
    }
  });

  it('a batch resumes the item that faulted and runs the fenced item the device abandoned because of it', async () => {
    const vm = await openVm(type, { holes: [HOLE] });
    const src = 0x40000;
    new Prng(14).fill(vm.at(src, 0x2000));
    const mid = HOLE - 0x1000;
    const r = await vm.g.batch([
      { op: 'memmove', dst: mid, src, size: 0x2000 },
      { op: 'memmove', dst: 0x50000, src: mid, size: 0x2000, fence: true },
      { op: 'crc32c', src: 0x50000, size: 0x2000 },
    ]);
    expect([r.status, r.succeeded]).toEqual([1, 3]);
    expect(vm.at(0x50000, 0x2000)).toEqual(vm.at(src, 0x2000));
    expect(r.results[2]).toMatchObject({ crc: refCrc32c(vm.at(src, 0x2000)) });
    expect(vm.g.stats.ops.memmove?.statuses).toMatchObject({ '0x83': 1 });
  });

  it('a batch whose descriptor list faults resumes the list at the first unread item', async () => {
    // The allocator is first-fit from the heap's start: after the 16-slot record ring (0x200 bytes), a
    // 60-item block holds the items' records (0x780 bytes) then the list, which crosses the hole.
    const base = HOLE - 0x1000;
    const vm = await openVm(type, { holes: [HOLE], heap: { iova: base, size: 0x10000 }, maxInFlight: 16 });
    const n = 60;
    const list = base + 0x200 + n * 32;
    expect(list < HOLE && list + 64 * n > HOLE).toBe(true);
    const items = Array.from({ length: n }, (_, i) => ({ op: 'fill' as const, dst: 0x40000 + 64 * i, size: 64, pattern: BigInt(i + 1) }));
    const r = await vm.g.batch(items);
    expect([r.status, r.succeeded, r.faults]).toEqual([1, n, 1]);
    expect(vm.faults[0]).toMatchObject({ op: 'batch', address: HOLE, status: 0x06, bytesCompleted: (HOLE - list) / 64 });
    for (let i = 0; i < n; i++) expect(vm.at(0x40000 + 64 * i, 64)).toEqual(refFill(64, BigInt(i + 1)));
  });
});
