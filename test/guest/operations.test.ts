/**
 * Every operation of the reference driver against plain-JS results, on both vdev types, through the
 * mapped portal and through trapped BAR2 writes; data, sizes and offsets from a seeded PRNG.
 */
import { describe, expect, it } from 'vitest';
import { refCrc32c, refDelta, refDifInsert, refFill, refFirstDifference } from '../../src/cli/reference.js';
import type { CompareResult, CrcOptions, CrcResult, DeltaResult, DifResult } from '../../src/guest/index.js';
import { Prng } from '../util/prng.js';
import { openVm, VARIANTS } from './fixtures.js';
import { flip } from '../util/bytes.js';

describe.each(VARIANTS)('on a %s vdev through the %s portal', (_mode, type, portal) => {
  it('memmove copies exactly, disjoint and overlapping in both directions', async () => {
    const vm = await openVm(type, { portal });
    const rnd = new Prng(11);
    const src = vm.g.heap.alloc(0x6000);
    rnd.fill(vm.at(src, 0x6000));
    const dst = vm.g.heap.alloc(0x6000);
    const n = rnd.range(1, 0x5000);
    const r = await vm.g.memmove(dst + 3, src + 1, n);
    expect(r).toEqual({ status: 1, submissions: 1, faults: 0 });
    expect(vm.at(dst + 3, n)).toEqual(vm.at(src + 1, n));
    for (const shift of [rnd.range(1, 0x800), -rnd.range(1, 0x800)]) {
      const want = vm.at(src, 0x6000).slice();
      want.copyWithin(0x2000 + shift, 0x2000, 0x4000);
      await vm.g.memmove(src + 0x2000 + shift, src + 0x2000, 0x2000);
      expect(vm.at(src, 0x6000)).toEqual(want);
    }
  });

  it('fill repeats the pattern for any size, given as a bigint or as bytes', async () => {
    const vm = await openVm(type, { portal });
    const dst = vm.g.heap.alloc(0x3000);
    await vm.g.fill(dst, 0x2ffd, 0x0123456789abcdefn);
    expect(vm.at(dst, 0x2ffd)).toEqual(refFill(0x2ffd, 0x0123456789abcdefn));
    expect(vm.at(dst + 0x2ffd, 3)).toEqual(new Uint8Array(3));
    await vm.g.fill(dst, 21, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    expect([...vm.at(dst, 21)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5]);
  });

  it('compare and comparePattern report equality and the exact first difference', async () => {
    const vm = await openVm(type, { portal });
    const rnd = new Prng(12);
    const a = vm.g.heap.alloc(0x4000);
    const b = vm.g.heap.alloc(0x4000);
    rnd.fill(vm.at(a, 0x4000));
    vm.at(b, 0x4000).set(vm.at(a, 0x4000));
    expect(await vm.g.compare(a, b, 0x4000)).toMatchObject({ status: 1, equal: true, offset: -1 });
    const k = rnd.below(0x4000);
    flip(vm.mem.bytes, b + k, 0x10);
    const diff: CompareResult = await vm.g.compare(a, b, 0x4000);
    expect([diff.equal, diff.offset]).toEqual([false, refFirstDifference(vm.at(a, 0x4000), vm.at(b, 0x4000))]);
    await vm.g.fill(a, 0x4000, 0xfedcba9876543210n);
    expect(await vm.g.comparePattern(a, 0x4000, 0xfedcba9876543210n)).toMatchObject({ equal: true, offset: -1 });
    flip(vm.mem.bytes, a + k, 1);
    expect(await vm.g.comparePattern(a, 0x4000, 0xfedcba9876543210n)).toMatchObject({ equal: false, offset: k });
  });

  it('crc32c and copyCrc match the reference CRC-32C, and seeds chain', async () => {
    const vm = await openVm(type, { portal });
    const rnd = new Prng(13);
    const src = vm.g.heap.alloc(0x5000);
    const dst = vm.g.heap.alloc(0x5000);
    rnd.fill(vm.at(src, 0x5000));
    const n = rnd.range(1, 0x5000);
    const whole: CrcResult = await vm.g.crc32c(src, n);
    expect(whole.crc).toBe(refCrc32c(vm.at(src, n)));
    const cut = rnd.range(1, n - 1);
    const first = await vm.g.crc32c(src, cut);
    expect((await vm.g.crc32c(src + cut, n - cut, first.crc)).crc).toBe(whole.crc);
    const copied = await vm.g.copyCrc(dst, src, n, 0x12345678);
    expect(copied.crc).toBe(refCrc32c(vm.at(src, n), 0x12345678));
    expect(vm.at(dst, n)).toEqual(vm.at(src, n));
  });

  it('crc32c and copyCrc pass the CRC operation flags 17 and 18: the check values of dsa-operations.md §12.3', async () => {
    const vm = await openVm(type, { portal });
    const src = vm.g.heap.alloc(64);
    const dst = vm.g.heap.alloc(64);
    vm.at(src, 9).set(new TextEncoder().encode('123456789'));
    const cases: [number, CrcOptions, number][] = [
      [0, {}, 0xe3069283],
      [0, { bypassInversion: true }, 0x045fc71a],
      [0x12345678, { bypassInversion: true }, 0xa1b203f2],
      [0, { bypassDataReflection: true }, 0xa8f022a0],
      [0, { bypassInversion: true, bypassDataReflection: true }, 0xc052a8c8],
    ];
    for (const [seed, options, want] of cases) {
      expect((await vm.g.crc32c(src, 9, seed, options)).crc, JSON.stringify(options)).toBe(want);
      vm.at(dst, 9).fill(0);
      expect((await vm.g.copyCrc(dst, src, 9, seed, options)).crc, JSON.stringify(options)).toBe(want);
      expect(vm.at(dst, 9)).toEqual(vm.at(src, 9));
    }
    // Chained with the same flags, and as batch items.
    const first = await vm.g.crc32c(src, 4, 0, { bypassInversion: true, bypassDataReflection: true });
    expect((await vm.g.crc32c(src + 4, 5, first.crc, { bypassInversion: true, bypassDataReflection: true })).crc).toBe(0xc052a8c8);
    const b = await vm.g.batch([
      { op: 'crc32c', src, size: 9, bypassDataReflection: true },
      { op: 'copyCrc', dst, src, size: 9, seed: 0x12345678, bypassInversion: true },
    ]);
    expect(b.results.map((r) => (r as CrcResult).crc)).toEqual([0xa8f022a0, 0xa1b203f2]);
  });

  it('dualcast writes both destinations', async () => {
    const vm = await openVm(type, { portal });
    const src = vm.g.heap.alloc(0x2000);
    new Prng(14).fill(vm.at(src, 0x2000));
    const d1 = vm.g.heap.alloc(0x2000, 0x1000);
    const d2 = vm.g.heap.alloc(0x2000, 0x1000);
    await vm.g.dualcast(d1 + 0x40, d2 + 0x40, src, 0x1fc0);
    expect(vm.at(d1 + 0x40, 0x1fc0)).toEqual(vm.at(src, 0x1fc0));
    expect(vm.at(d2 + 0x40, 0x1fc0)).toEqual(vm.at(src, 0x1fc0));
  });

  it('createDelta writes the reference record and applyDelta turns the original into the modified buffer', async () => {
    const vm = await openVm(type, { portal });
    const rnd = new Prng(15);
    const orig = vm.g.heap.alloc(0x2000);
    const mod = vm.g.heap.alloc(0x2000);
    const rec = vm.g.heap.alloc(0x1000);
    rnd.fill(vm.at(orig, 0x2000));
    vm.at(mod, 0x2000).set(vm.at(orig, 0x2000));
    for (let i = 0; i < 20; i++) flip(vm.mem.bytes, mod + rnd.below(0x2000), 0xff);
    const want = refDelta(vm.at(orig, 0x2000), vm.at(mod, 0x2000));
    const d: DeltaResult = await vm.g.createDelta(orig, mod, 0x2000, rec, 0x1000);
    expect([d.result, d.recordSize]).toEqual([1, want.length]);
    expect(vm.at(rec, d.recordSize)).toEqual(want);
    expect(await vm.g.createDelta(orig, orig, 0x2000, rec, 0x1000)).toMatchObject({ result: 0, recordSize: 0 });
    await vm.g.applyDelta(orig, rec, d.recordSize, 0x2000);
    expect(vm.at(orig, 0x2000)).toEqual(vm.at(mod, 0x2000));
  });

  it('difInsert, difCheck, difStrip and difUpdate produce and accept the reference T10-DIF stream', async () => {
    const vm = await openVm(type, { portal });
    const rnd = new Prng(16);
    const blocks = 6;
    const data = vm.g.heap.alloc(blocks * 512);
    const prot = vm.g.heap.alloc(blocks * 520);
    const upd = vm.g.heap.alloc(blocks * 520);
    const back = vm.g.heap.alloc(blocks * 512);
    rnd.fill(vm.at(data, blocks * 512));
    const tags = { refTag: rnd.u32(), appTag: rnd.below(0x10000) };
    const ins: DifResult = await vm.g.difInsert(prot, data, blocks * 512, tags);
    expect([ins.ok, ins.blocks]).toEqual([true, blocks]);
    expect(vm.at(prot, blocks * 520)).toEqual(refDifInsert(vm.at(data, blocks * 512), 512, tags.refTag, tags.appTag));
    expect(await vm.g.difCheck(prot, blocks * 520, tags)).toMatchObject({ ok: true, difStatus: 0, failedBlock: -1, blocks });
    expect(await vm.g.difStrip(back, prot, blocks * 520, tags)).toMatchObject({ ok: true });
    expect(vm.at(back, blocks * 512)).toEqual(vm.at(data, blocks * 512));
    const next = { refTag: 7, appTag: 0x4242 };
    expect(await vm.g.difUpdate(upd, prot, blocks * 520, tags, next)).toMatchObject({ ok: true });
    expect(vm.at(upd, blocks * 520)).toEqual(refDifInsert(vm.at(data, blocks * 512), 512, next.refTag, next.appTag));
    const bad = rnd.below(blocks);
    flip(vm.mem.bytes, prot + bad * 520 + 516, 0x01);
    expect(await vm.g.difCheck(prot, blocks * 520, tags)).toMatchObject({ ok: false, status: 0x09, difStatus: 0x04, failedBlock: bad, blocks: bad });
    expect(await vm.g.difCheck(prot, blocks * 520, { ...tags, refTagCheck: false })).toMatchObject({ ok: true });
  });

  it('batch runs every kind of item and reports each result in order', async () => {
    const vm = await openVm(type, { portal });
    const rnd = new Prng(17);
    const src = vm.g.heap.alloc(0x1000);
    rnd.fill(vm.at(src, 0x1000));
    const [m, f, d1, d2, c, p] = [0, 1, 2, 3, 4, 5].map(() => vm.g.heap.alloc(0x1000, 0x1000)) as [number, number, number, number, number, number];
    const r = await vm.g.batch([
      { op: 'memmove', dst: m, src, size: 0x1000 },
      { op: 'fill', dst: f, size: 0x1000, pattern: 0x1111222233334444n },
      { op: 'dualcast', dst1: d1, dst2: d2, src, size: 0x800 },
      { op: 'copyCrc', dst: c, src, size: 0x1000 },
      { op: 'compare', src1: src, src2: m, size: 0x1000, fence: true },
      { op: 'comparePattern', src: f, size: 0x1000, pattern: 0x1111222233334444n },
      { op: 'crc32c', src, size: 0x1000 },
      { op: 'difInsert', dst: p, src, size: 512, dif: { refTag: 9 } },
    ]);
    expect([r.status, r.succeeded, r.results.length]).toEqual([1, 8, 8]);
    expect(vm.at(m, 0x1000)).toEqual(vm.at(src, 0x1000));
    expect(vm.at(f, 0x1000)).toEqual(refFill(0x1000, 0x1111222233334444n));
    expect(vm.at(d2, 0x800)).toEqual(vm.at(src, 0x800));
    expect((r.results[3] as CrcResult).crc).toBe(refCrc32c(vm.at(src, 0x1000)));
    expect((r.results[4] as CompareResult).equal).toBe(true);
    expect((r.results[5] as CompareResult).equal).toBe(true);
    expect((r.results[6] as CrcResult).crc).toBe(refCrc32c(vm.at(src, 0x1000)));
    expect(vm.at(p, 520)).toEqual(refDifInsert(vm.at(src, 512), 512, 9, 0));
    expect(vm.g.stats.ops.batch).toMatchObject({ count: 1, submissions: 1 });
  });
});

describe('the guest\'s own allocator', () => {
  it('hands out aligned, disjoint blocks and takes them back', async () => {
    const vm = await openVm(VARIANTS[0][1]);
    const before = vm.g.heap.available;
    const a = vm.g.heap.alloc(100, 32);
    const b = vm.g.heap.alloc(0x1000, 0x1000);
    expect([a % 32, b % 0x1000]).toEqual([0, 0]);
    expect(a + 100 <= b || b + 0x1000 <= a).toBe(true);
    vm.g.heap.free(a);
    vm.g.heap.free(b);
    expect(vm.g.heap.available).toBe(before);
    expect(() => vm.g.heap.alloc(2 * vm.g.heap.size)).toThrow(/no .* free bytes/);
  });
});
