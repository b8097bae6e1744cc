/**
 * Page-fault property test (§6.2, §6.4): for every operation, a hole at a page inside the source or
 * the destination gives a partial completion; resuming as the spec says produces the same final
 * result as an unfaulted run. Seeded random sizes, offsets and fault pages.
 */
import { describe, expect, it } from 'vitest';
import { Cr, Desc, Opcode } from '../../src/dsa/index.js';
import { Prng } from '../util/prng.js';
import { DATA, Harness } from './harness.js';
import { flip } from '../util/bytes.js';

const A = DATA; // source region
const B = DATA + 0x100000; // destination region
const C = DATA + 0x200000; // third region (record, dst2)
const REGION = 0x100000;

/** Mutable parameters of one descriptor. */
interface P { [k: string]: number }

interface OpCase {
  name: string;
  /** Fills memory and returns the first descriptor's parameters. */
  setup(prng: Prng, h: Harness): P;
  /** Builds the descriptor from `p`. */
  build(h: Harness, p: P): void;
  /** IOVA ranges of the operands that may fault: [start, length, write]. */
  operands(p: P): [number, number, boolean][];
  /** Parameters of the continuation after a partial completion. */
  resume(p: P, cr: ReturnType<Harness['cr']>, acc: P): P;
  /** Observable result: memory bytes plus CR-derived values. */
  result(h: Harness, p0: P, last: ReturnType<Harness['cr']>, acc: P): unknown;
}

const pattern = (h: Harness, field: number, bytes: number[]): void => bytes.forEach((b, i) => h.u8(field + i, b));
const rot = (p: number[], k: number): number[] => p.map((_, i) => p[(i + k) % p.length]!);
const u8s = (h: Harness, iova: number, n: number): number[] => [...h.at(iova, n)];

function dif(kind: 'CHECK' | 'INS' | 'STRP' | 'UPDT'): OpCase {
  const op = { CHECK: Opcode.DIF_CHECK, INS: Opcode.DIF_INS, STRP: Opcode.DIF_STRP, UPDT: Opcode.DIF_UPDT }[kind];
  const protect = (h: Harness, prng: Prng, at: number, n: number, bs: number, ref: number, app: number): void => {
    // Produce a valid protected stream with DIF_INS itself (checked separately against the reference).
    h.put(at + REGION * 2, prng.bytes(n * bs));
    h.start(Opcode.DIF_INS).addr(Desc.SRC, at + REGION * 2).addr(Desc.DST, at).size(n * bs).u8(Desc.DIF_FLAGS, bsIndexOf(bs)).u32(Desc.DST_REF_SEED, ref).u16(Desc.DST_APP_SEED, app).u8(Desc.DST_DIF_FLAGS, 0x10);
    expect(h.exec()).toBe(1);
  };
  return {
    name: `DIF_${kind}`,
    setup(prng, h) {
      const bi = prng.below(4);
      const bs = [512, 520, 4096, 4104][bi]!;
      const n = 1 + prng.below(bs > 520 ? 4 : 12);
      const p: P = { bi, bs, n, src: A + prng.below(4096), dst: B + prng.below(4096), sref: prng.u32(), sapp: prng.below(0x10000), dref: prng.u32(), dapp: prng.below(0x10000) };
      if (kind === 'INS') h.put(p.src!, prng.bytes(n * bs));
      else protect(h, prng, p.src!, n, bs, p.sref!, p.sapp!);
      p.size = kind === 'INS' ? n * bs : n * (bs + 8);
      return p;
    },
    build(h, p) {
      h.start(op).addr(Desc.SRC, p.src!).size(p.size!).u8(Desc.DIF_FLAGS, p.bi!);
      if (kind !== 'CHECK') h.addr(Desc.DST, p.dst!);
      if (kind !== 'INS') h.u8(Desc.SRC_DIF_FLAGS, 0x10).u32(Desc.SRC_REF_SEED, p.sref!).u16(Desc.SRC_APP_SEED, p.sapp!);
      if (kind === 'INS' || kind === 'UPDT') h.u8(Desc.DST_DIF_FLAGS, 0x10).u32(Desc.DST_REF_SEED, p.dref!).u16(Desc.DST_APP_SEED, p.dapp!);
    },
    operands(p) {
      const bs = p.bs!;
      const blocks = kind === 'INS' ? p.size! / bs : p.size! / (bs + 8);
      const dlen = kind === 'INS' || kind === 'UPDT' ? blocks * (bs + 8) : kind === 'STRP' ? blocks * bs : 0;
      const ops: [number, number, boolean][] = [[p.src!, p.size!, false]];
      if (dlen > 0) ops.push([p.dst!, dlen, true]);
      return ops;
    },
    resume(p, cr) {
      const bs = p.bs!;
      const m = kind === 'INS' ? cr.bc / bs : cr.bc / (bs + 8);
      expect(Number.isInteger(m)).toBe(true);
      const q: P = { ...p, src: p.src! + cr.bc, size: p.size! - cr.bc };
      if (kind !== 'INS') Object.assign(q, { sref: cr.u32(Cr.SRC_REF_TAG), sapp: cr.u16(Cr.SRC_APP_TAG) });
      if (kind === 'INS' || kind === 'UPDT') Object.assign(q, { dref: cr.u32(Cr.DST_REF_TAG), dapp: cr.u16(Cr.DST_APP_TAG) });
      if (kind === 'INS' || kind === 'UPDT') q.dst = p.dst! + m * (bs + 8);
      if (kind === 'STRP') q.dst = p.dst! + m * bs;
      return q;
    },
    result(h, p0, last) {
      const ops = this.operands(p0);
      return { dst: ops[1] ? u8s(h, ops[1][0], ops[1][1]) : [], tags: [...last.raw.subarray(16, 32)] };
    },
  };
}
const bsIndexOf = (bs: number): number => [512, 520, 4096, 4104].indexOf(bs);

const CASES: OpCase[] = [
  {
    name: 'MEMMOVE',
    setup(prng, h) {
      const size = 1 + prng.below(5 * 4096);
      const overlap = prng.chance(0.3);
      const src = A + prng.below(4096);
      const dst = overlap ? src + prng.range(1, size) : B + prng.below(4096);
      h.put(A, prng.bytes(0x10000));
      return { src, dst, size };
    },
    build: (h, p) => void h.start(Opcode.MEMMOVE).addr(Desc.SRC, p.src!).addr(Desc.DST, p.dst!).size(p.size!),
    operands: (p) => [[p.src!, p.size!, false], [p.dst!, p.size!, true]],
    resume: (p, cr) => (cr.result === 1 ? { ...p, size: p.size! - cr.bc } : { ...p, src: p.src! + cr.bc, dst: p.dst! + cr.bc, size: p.size! - cr.bc }),
    result: (h, p0) => [u8s(h, A, 0x10000), u8s(h, p0.dst!, p0.size!)],
  },
  {
    name: 'FILL',
    setup: (prng) => ({ dst: B + prng.below(4096), size: 1 + prng.below(5 * 4096), rot: 0 }),
    build: (h, p) => {
      h.start(Opcode.FILL).addr(Desc.DST, p.dst!).size(p.size!);
      pattern(h, Desc.SRC, rot([1, 2, 3, 4, 5, 6, 7, 8], p.rot!));
    },
    operands: (p) => [[p.dst!, p.size!, true]],
    resume: (p, cr) => ({ ...p, dst: p.dst! + cr.bc, size: p.size! - cr.bc, rot: (p.rot! + cr.bc) % 8 }),
    result: (h, p0) => u8s(h, p0.dst!, p0.size!),
  },
  {
    name: 'COMPARE',
    setup(prng, h) {
      const size = 1 + prng.below(5 * 4096);
      const data = prng.bytes(size);
      const p: P = { a: A + prng.below(4096), b: B + prng.below(4096), size };
      h.put(p.a!, data);
      h.put(p.b!, data);
      if (prng.chance(0.6)) flip(h.mem.bytes, p.b! + prng.below(size), 0x10);
      return p;
    },
    build: (h, p) => void h.start(Opcode.COMPARE).addr(Desc.SRC, p.a!).addr(Desc.DST, p.b!).size(p.size!),
    operands: (p) => [[p.a!, p.size!, false], [p.b!, p.size!, false]],
    resume: (p, cr, acc) => {
      acc.off = (acc.off ?? 0) + cr.bc;
      return { ...p, a: p.a! + cr.bc, b: p.b! + cr.bc, size: p.size! - cr.bc };
    },
    result: (_h, _p, last, acc) => [last.result, last.result === 1 ? (acc.off ?? 0) + last.bc : 0],
  },
  {
    name: 'COMPVAL',
    setup(prng, h) {
      const size = 1 + prng.below(5 * 4096);
      const src = A + prng.below(4096);
      for (let i = 0; i < size; i++) h.mem.bytes[src + i] = [9, 8, 7, 6, 5, 4, 3, 2][i % 8]!;
      if (prng.chance(0.6)) flip(h.mem.bytes, src + prng.below(size), 0x10);
      return { src, size, rot: 0 };
    },
    build: (h, p) => {
      h.start(Opcode.COMPVAL).addr(Desc.SRC, p.src!).size(p.size!);
      pattern(h, Desc.DST, rot([9, 8, 7, 6, 5, 4, 3, 2], p.rot!));
    },
    operands: (p) => [[p.src!, p.size!, false]],
    resume: (p, cr, acc) => {
      acc.off = (acc.off ?? 0) + cr.bc;
      return { ...p, src: p.src! + cr.bc, size: p.size! - cr.bc, rot: (p.rot! + cr.bc) % 8 };
    },
    result: (_h, _p, last, acc) => [last.result, last.result === 1 ? (acc.off ?? 0) + last.bc : 0],
  },
  {
    name: 'CR_DELTA',
    setup(prng, h) {
      const size = 8 * (1 + prng.below(2048));
      const p: P = { a: A + 8 * prng.below(512), b: B + 8 * prng.below(512), rec: C + prng.below(4096), max: 0x80000, size };
      const d = prng.bytes(size);
      h.put(p.a!, d);
      h.put(p.b!, d);
      for (let k = prng.below(size / 8 + 1); k > 0; k--) flip(h.mem.bytes, p.b! + prng.below(size), 0x55);
      return p;
    },
    build: (h, p) => void h.start(Opcode.CR_DELTA).addr(Desc.SRC, p.a!).addr(Desc.DST, p.b!).addr(Desc.DELTA_ADDR, p.rec!).u32(Desc.MAX_DELTA_SIZE, p.max!).size(p.size!),
    operands: (p) => [[p.a!, p.size!, false], [p.b!, p.size!, false], [p.rec!, Math.min(p.max!, 2 * 4096), true]],
    resume: (p, cr, acc) => {
      const drs = cr.u32(Cr.DELTA_SIZE);
      (acc.parts ??= 0);
      acc[`part${acc.parts}`] = drs;
      acc[`shift${acc.parts}`] = (acc.words ?? 0);
      acc.parts += 1;
      acc.words = (acc.words ?? 0) + cr.bc / 8;
      return { ...p, a: p.a! + cr.bc, b: p.b! + cr.bc, size: p.size! - cr.bc, rec: p.rec! + drs, max: p.max! - drs };
    },
    result: (h, p0, last, acc) => {
      // Rebuild the absolute record: entries of part k have offsets relative to that part's start.
      const entries: number[] = [];
      let at = p0.rec!;
      const parts = acc.parts ?? 0;
      const sizes = [...Array(parts).keys()].map((k) => acc[`part${k}`]!);
      sizes.push(last.u32(Cr.DELTA_SIZE));
      const shifts = [...Array(parts).keys()].map((k) => acc[`shift${k}`]!);
      shifts.push(acc.words ?? 0);
      sizes.forEach((n, k) => {
        for (let e = 0; e < n; e += 10) {
          const off = h.mem.view.getUint16(at + e, true) + shifts[k]!;
          entries.push(off, ...u8s(h, at + e + 2, 8));
        }
        at += n;
      });
      return [entries, last.result === 0 && entries.length > 0 ? 1 : last.result];
    },
  },
  {
    name: 'AP_DELTA',
    setup(prng, h) {
      const size = 8 * (1 + prng.below(2048));
      const n = 1 + prng.below(Math.min(size / 8, 800));
      const offs = new Set<number>();
      while (offs.size < n) offs.add(prng.below(size / 8));
      const sorted = [...offs].sort((x, y) => x - y);
      const rec = A + prng.below(4096);
      sorted.forEach((o, j) => {
        h.mem.view.setUint16(rec + j * 10, o, true);
        h.put(rec + j * 10 + 2, prng.bytes(8));
      });
      return { rec, rs: n * 10, dst: B + 8 * prng.below(512), size };
    },
    build: (h, p) => void h.start(Opcode.AP_DELTA).addr(Desc.SRC, p.rec!).addr(Desc.DST, p.dst!).u32(Desc.DELTA_SIZE, p.rs!).size(p.size!),
    operands: (p) => [[p.rec!, p.rs!, false], [p.dst!, p.size!, true]],
    resume: (p, cr) => ({ ...p, rec: p.rec! + cr.bc, rs: p.rs! - cr.bc }),
    result: (h, p0) => u8s(h, p0.dst!, p0.size!),
  },
  {
    name: 'DUALCAST',
    setup(prng, h) {
      const size = 1 + prng.below(5 * 4096);
      const d1 = B + prng.below(4096);
      const p: P = { src: A + prng.below(4096), d1, d2: C + (d1 & 0xfff), size };
      h.put(p.src!, prng.bytes(size));
      return p;
    },
    build: (h, p) => void h.start(Opcode.DUALCAST).addr(Desc.SRC, p.src!).addr(Desc.DST, p.d1!).addr(Desc.DST2, p.d2!).size(p.size!),
    operands: (p) => [[p.src!, p.size!, false], [p.d1!, p.size!, true], [p.d2!, p.size!, true]],
    resume: (p, cr) => ({ ...p, src: p.src! + cr.bc, d1: p.d1! + cr.bc, d2: p.d2! + cr.bc, size: p.size! - cr.bc }),
    result: (h, p0) => [u8s(h, p0.d1!, p0.size!), u8s(h, p0.d2!, p0.size!)],
  },
  ...(['CRCGEN', 'COPY_CRC'] as const).map((name): OpCase => ({
    name,
    setup(prng, h) {
      const size = 1 + prng.below(5 * 4096);
      const p: P = { src: A + prng.below(4096), dst: B + prng.below(4096), size, seed: prng.u32(), flags: prng.below(4) << 17 };
      h.put(p.src!, prng.bytes(size));
      return p;
    },
    build(h, p) {
      h.start(name === 'CRCGEN' ? Opcode.CRCGEN : Opcode.COPY_CRC, 0x0c | p.flags!).addr(Desc.SRC, p.src!).u32(Desc.CRC_SEED, p.seed!).size(p.size!);
      if (name === 'COPY_CRC') h.addr(Desc.DST, p.dst!);
    },
    operands: (p) => (name === 'CRCGEN' ? [[p.src!, p.size!, false]] : [[p.src!, p.size!, false], [p.dst!, p.size!, true]]),
    resume: (p, cr) => ({ ...p, src: p.src! + cr.bc, dst: p.dst! + cr.bc, size: p.size! - cr.bc, seed: cr.bc === 0 ? p.seed! : cr.u32(Cr.CRC) }),
    result: (h, p0, last) => [last.u32(Cr.CRC), name === 'COPY_CRC' ? u8s(h, p0.dst!, p0.size!) : []],
  })),
  dif('CHECK'),
  dif('INS'),
  dif('STRP'),
  dif('UPDT'),
  {
    name: 'CFLUSH',
    setup: (prng) => ({ dst: B + prng.below(4096), size: 1 + prng.below(5 * 4096) }),
    build: (h, p) => void h.start(Opcode.CFLUSH).addr(Desc.DST, p.dst!).size(p.size!),
    operands: (p) => [[p.dst!, p.size!, false]],
    resume: (p, cr) => ({ ...p, dst: p.dst! + cr.bc, size: p.size! - cr.bc }),
    result: () => 0,
  },
];

describe('page faults: partial completion and resume (§6.2, §6.4)', () => {
  for (const c of CASES) {
    it(`${c.name}: the resumed run equals the unfaulted run for random sizes and fault pages`, () => {
      const prng = new Prng(0xfa17 ^ c.name.length * 7919 ^ c.name.charCodeAt(0) * 31);
      let faulted = 0;
      for (let iter = 0; iter < 40; iter++) {
        const seed = prng.u32();
        // Reference run.
        const ref = new Harness({ memSize: 4 << 20 });
        const p0 = c.setup(new Prng(seed), ref);
        c.build(ref, p0);
        const refStatus = ref.exec();
        const want = c.result(ref, p0, ref.cr(), {});
        // Faulted run: the same inputs, one hole in an operand.
        const h = new Harness({ memSize: 4 << 20 });
        c.setup(new Prng(seed), h);
        const ops = c.operands(p0);
        const [start, len, write] = ops[prng.below(ops.length)]!;
        const firstPage = Math.floor(start / 4096);
        const lastPage = Math.floor((start + len - 1) / 4096);
        const hole = (firstPage + prng.below(lastPage - firstPage + 1)) * 4096;
        h.hole(hole);
        let p = p0;
        const acc: P = {};
        c.build(h, p);
        let st = h.exec();
        let rounds = 0;
        while ((st & 0x7f) === 0x03) {
          faulted++;
          const cr = h.cr();
          expect(cr.faultAddr - (cr.faultAddr % 4096), `${c.name} fault page`).toBe(hole);
          // A page that is also inside a source may fault on the read first.
          const inSource = ops.some(([s0, l0, w0]) => !w0 && hole < s0 + l0 && hole + 4096 > s0);
          if (!inSource) expect(st & 0x80, `${c.name} R/W`).toBe(write ? 0x80 : 0);
          h.remap(hole);
          p = c.resume(p, cr, acc);
          c.build(h, p);
          st = h.exec();
          expect(++rounds).toBeLessThan(3);
        }
        expect(st, `${c.name} final status`).toBe(refStatus);
        expect(c.result(h, p0, h.cr(), acc), `${c.name} iteration ${iter}`).toEqual(want);
      }
      expect(faulted).toBeGreaterThan(5);
    });
  }
});
