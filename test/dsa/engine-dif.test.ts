import { describe, expect, it } from 'vitest';
import { Cr, crc16T10Dif, Desc, DifStatus, Opcode } from '../../src/dsa/index.js';
import { Prng } from '../util/prng.js';
import { DATA, Harness, pat, ramp } from './harness.js';
import { flip } from '../util/bytes.js';

const BS = [512, 520, 4096, 4104];
const SRC = DATA;
const DST = DATA + 0x100000;

interface Tags { ref: number; app: number; mask?: number; refFixed?: boolean; appInc?: boolean; seedInv?: boolean; resInv?: boolean }

/** Reference protected stream: each block followed by {guard, app & ~mask, ref} big-endian. */
function protect(data: Uint8Array, bs: number, t: Tags): Uint8Array {
  const n = data.length / bs;
  const out = new Uint8Array(n * (bs + 8));
  for (let i = 0; i < n; i++) {
    const blk = data.subarray(i * bs, (i + 1) * bs);
    out.set(blk, i * (bs + 8));
    const g = crc16T10Dif(blk, t.seedInv ?? false, t.resInv ?? false);
    const app = ((t.appInc ? t.app + i : t.app) & 0xffff) & ~(t.mask ?? 0) & 0xffff;
    const ref = (t.refFixed ? t.ref : t.ref + i) >>> 0;
    const v = new DataView(out.buffer, i * (bs + 8) + bs, 8);
    v.setUint16(0, g);
    v.setUint16(2, app);
    v.setUint32(4, ref);
  }
  return out;
}

const difFlags = (bsIndex: number, seedInv = false, resInv = false): number => bsIndex | (seedInv ? 4 : 0) | (resInv ? 8 : 0);

function difIns(h: Harness, n: number, bsIndex: number, dstFlags: number, ref: number, app: number, mask = 0, df = difFlags(bsIndex)): number {
  return h.start(Opcode.DIF_INS).addr(Desc.SRC, SRC).addr(Desc.DST, DST).size(n).u8(Desc.DIF_FLAGS, df).u8(Desc.DST_DIF_FLAGS, dstFlags)
    .u32(Desc.DST_REF_SEED, ref).u16(Desc.DST_APP_MASK, mask).u16(Desc.DST_APP_SEED, app).exec();
}
function difCheck(h: Harness, op: number, n: number, bsIndex: number, srcFlags: number, ref: number, app: number, mask = 0, df = difFlags(bsIndex)): number {
  h.start(op).addr(Desc.SRC, SRC).size(n).u8(Desc.DIF_FLAGS, df).u8(Desc.SRC_DIF_FLAGS, srcFlags)
    .u32(Desc.SRC_REF_SEED, ref).u16(Desc.SRC_APP_MASK, mask).u16(Desc.SRC_APP_SEED, app);
  if (op !== Opcode.DIF_CHECK) h.addr(Desc.DST, DST);
  return h.exec();
}

describe('DIF_INS (§7.15)', () => {
  it('produces the tuples of §12.3 (ramp(1024), BS 512, ref 0x12345678 incrementing, app 0xABCD)', () => {
    const h = new Harness();
    h.put(SRC, ramp(1024));
    expect(difIns(h, 1024, 0, 0, 0x12345678, 0xabcd)).toBe(1);
    expect([...h.at(DST + 512, 8)]).toEqual([0x4f, 0x10, 0xab, 0xcd, 0x12, 0x34, 0x56, 0x78]);
    expect([...h.at(DST + 1032, 8)]).toEqual([0x4f, 0x10, 0xab, 0xcd, 0x12, 0x34, 0x56, 0x79]);
    expect(h.at(DST + 520, 512)).toEqual(ramp(1024).subarray(512));
    const cr = h.cr();
    expect([cr.u32(16), cr.u32(20), cr.u32(Cr.DST_REF_TAG), cr.u16(Cr.DST_APP_MASK), cr.u16(Cr.DST_APP_TAG)]).toEqual([0, 0, 0x1234567a, 0, 0xabcd]);
  });

  it('produces the other tuple examples: pat(512), masked app tag, ref wrap', () => {
    const h = new Harness();
    h.put(SRC, pat(512));
    expect(difIns(h, 512, 0, 0, 0xabba, 0xface)).toBe(1);
    expect([...h.at(DST + 512, 8)]).toEqual([0x03, 0xc7, 0xfa, 0xce, 0x00, 0x00, 0xab, 0xba]);
    expect(difIns(h, 512, 0, 0, 0, 0x1234, 0xff00)).toBe(1);
    expect([...h.at(DST + 514, 2)]).toEqual([0x00, 0x34]);
    expect(h.cr().u16(Cr.DST_APP_TAG)).toBe(0x1234); // reported before masking, with the mask
    expect(h.cr().u16(Cr.DST_APP_MASK)).toBe(0xff00);
    h.put(SRC, ramp(1024));
    expect(difIns(h, 1024, 0, 0, 0xffffffff, 0)).toBe(1);
    expect([...h.at(DST + 1036, 4)]).toEqual([0, 0, 0, 0]);
  });

  it('matches the reference for every block size, tag type and guard inversion', () => {
    const prng = new Prng(0xd1f);
    const h = new Harness();
    for (let bi = 0; bi < 4; bi++) {
      for (const [refFixed, appInc, seedInv, resInv] of [[false, false, false, false], [true, true, true, false], [false, true, false, true], [true, false, true, true]] as const) {
        const bs = BS[bi]!;
        const data = prng.bytes(bs * 3);
        h.put(SRC, data);
        const t = { ref: prng.u32(), app: prng.below(0x10000), mask: prng.below(0x10000), refFixed, appInc, seedInv, resInv };
        const dstFlags = (refFixed ? 0x80 : 0) | (appInc ? 0x10 : 0) | 0x68; // pass-through bits are ignored by DIF_INS
        expect(difIns(h, bs * 3, bi, dstFlags, t.ref, t.app, t.mask, difFlags(bi, seedInv, resInv))).toBe(1);
        expect(h.at(DST, (bs + 8) * 3)).toEqual(protect(data, bs, t));
      }
    }
  });

  it('faults with BC = BS·M and dst holding (BS+8)·M bytes; tags of block M in the CR', () => {
    const h = new Harness();
    const data = ramp(16 * 512);
    h.put(SRC, data);
    h.hole(DST + 0x1000);
    // dst block 7 spans [3640, 4160): it straddles the hole, so blocks 0–6 complete.
    expect(difIns(h, 16 * 512, 0, 0, 100, 7)).toBe(0x83);
    const cr = h.cr();
    expect([cr.bc, cr.u32(Cr.DST_REF_TAG), cr.u16(Cr.DST_APP_TAG), cr.faultAddr]).toEqual([7 * 512, 107, 7, DST + 0x1000]);
    expect(h.at(DST, 7 * 520)).toEqual(protect(data.subarray(0, 7 * 512), 512, { ref: 100, app: 7 }));
    expect(h.at(DST + 7 * 520, 4096 - 7 * 520).every((x) => x === 0)).toBe(true);
  });
});

describe('DIF_CHECK (§7.14) and DIF_STRP (§7.16)', () => {
  it('accepts correct streams for all block sizes and reports the tags of block N', () => {
    const h = new Harness();
    const prng = new Prng(0xc4ec);
    for (let bi = 0; bi < 4; bi++) {
      const bs = BS[bi]!;
      const data = prng.bytes(bs * 2);
      h.put(SRC, protect(data, bs, { ref: 0x1000, app: 0x55aa, appInc: true }));
      expect(difCheck(h, Opcode.DIF_CHECK, (bs + 8) * 2, bi, 0x10, 0x1000, 0x55aa)).toBe(1);
      expect([h.cr().result, h.cr().u32(Cr.SRC_REF_TAG), h.cr().u16(Cr.SRC_APP_TAG)]).toEqual([0, 0x1002, 0x55ac]);
      expect(difCheck(h, Opcode.DIF_STRP, (bs + 8) * 2, bi, 0x10, 0x1000, 0x55aa)).toBe(1);
      expect(h.at(DST, bs * 2)).toEqual(data);
    }
  });

  it('sets DIF status bits 0x01 guard, 0x02 app, 0x04 ref and stops at the failing block', () => {
    const h = new Harness();
    const good = protect(ramp(2048), 512, { ref: 5, app: 9 });
    const run = (mutate: (b: Uint8Array) => void, mask = 0): [number, number, number, number] => {
      const b = good.slice(0);
      mutate(b);
      h.put(SRC, b);
      const st = difCheck(h, Opcode.DIF_CHECK, 520 * 4, 0, 0, 5, 9, mask);
      const cr = h.cr();
      return [st, cr.result, cr.bc, cr.u32(Cr.SRC_REF_TAG)];
    };
    expect(run((b) => flip(b, 520 * 2 + 3, 1))).toEqual([9, DifStatus.GUARD, 1040, 7]);
    expect(run((b) => flip(b, 520 * 2 + 512 + 3, 1))).toEqual([9, DifStatus.APP_TAG, 1040, 7]);
    expect(run((b) => flip(b, 520 * 2 + 512 + 3, 1), 0x0001)).toEqual([1, 0, 0, 9]); // masked bit
    expect(run((b) => flip(b, 520 * 2 + 512 + 3, 1), 0xffff)).toEqual([1, 0, 0, 9]); // app check disabled
    expect(run((b) => flip(b, 520 * 3 + 512 + 7, 1))).toEqual([9, DifStatus.REF_TAG, 1560, 8]);
    expect(run((b) => { flip(b, 520 + 1, 1); flip(b, 520 + 512 + 7, 1); flip(b, 520 + 512 + 2, 1); })).toEqual([9, 7, 520, 6]);
  });

  it('honours guard- and ref-check disable', () => {
    const h = new Harness();
    const b = protect(ramp(1024), 512, { ref: 5, app: 9 });
    flip(b, 3, 1);
    flip(b, 512 + 7, 1);
    h.put(SRC, b);
    expect(difCheck(h, Opcode.DIF_CHECK, 1040, 0, 0x20 | 0x40, 5, 9)).toBe(1);
    expect(difCheck(h, Opcode.DIF_CHECK, 1040, 0, 0x20, 5, 9)).toBe(9);
    expect(h.cr().result).toBe(DifStatus.REF_TAG);
  });

  it('skips blocks by F-detect and reports all-F as 0x08 with the error flag', () => {
    const h = new Harness();
    const b = protect(ramp(1024), 512, { ref: 5, app: 9 });
    b.fill(0x12, 520, 520 + 512); // block 1 data garbage
    const setTuple = (g: number, app: number, ref: number): void => {
      const v = new DataView(b.buffer, 520 + 512, 8);
      v.setUint16(0, g);
      v.setUint16(2, app);
      v.setUint32(4, ref);
    };
    setTuple(0x1234, 0xffff, 0x77);
    h.put(SRC, b);
    expect(difCheck(h, Opcode.DIF_CHECK, 1040, 0, 0x04, 5, 9)).toBe(1); // app F-detect
    expect(difCheck(h, Opcode.DIF_CHECK, 1040, 0, 0x08, 5, 9)).toBe(9); // app+ref F-detect needs ref = all ones
    setTuple(0x1234, 0xffff, 0xffffffff);
    h.put(SRC, b);
    expect(difCheck(h, Opcode.DIF_CHECK, 1040, 0, 0x08, 5, 9)).toBe(1);
    expect(difCheck(h, Opcode.DIF_CHECK, 1040, 0, 0x02, 5, 9)).toBe(9); // all-F needs guard all ones too
    setTuple(0xffff, 0xffff, 0xffffffff);
    h.put(SRC, b);
    expect(difCheck(h, Opcode.DIF_CHECK, 1040, 0, 0x02, 5, 9)).toBe(1);
    expect(difCheck(h, Opcode.DIF_CHECK, 1040, 0, 0x03, 5, 9)).toBe(9);
    expect([h.cr().result, h.cr().bc]).toEqual([DifStatus.ALL_F, 520]);
    expect(difCheck(h, Opcode.DIF_CHECK, 1040, 0, 0x01, 5, 9)).toBe(9); // bit 0 alone: no detection
  });

  it('advances the tag sequences over skipped blocks; fixed ref and incrementing app follow their flags', () => {
    const h = new Harness();
    const b = protect(ramp(1536), 512, { ref: 0xabc, app: 0xfffe, refFixed: true, appInc: true });
    h.put(SRC, b);
    expect(difCheck(h, Opcode.DIF_CHECK, 1560, 0, 0x80 | 0x10 | 0x04, 0xabc, 0xfffe)).toBe(1);
    expect([h.cr().u32(Cr.SRC_REF_TAG), h.cr().u16(Cr.SRC_APP_TAG)]).toEqual([0xabc, 0x0001]);
  });

  it('DIF_STRP faults with BC = (BS+8)·M and dst holding BS·M bytes', () => {
    const h = new Harness();
    const data = ramp(10 * 512);
    h.put(SRC, protect(data, 512, { ref: 0, app: 0 }));
    h.hole(DST + 0x1000);
    expect(difCheck(h, Opcode.DIF_STRP, 10 * 520, 0, 0, 0, 0)).toBe(0x83);
    expect([h.cr().bc, h.cr().u32(Cr.SRC_REF_TAG), h.cr().faultAddr]).toEqual([8 * 520, 8, DST + 0x1000]);
    expect(h.at(DST, 8 * 512)).toEqual(data.subarray(0, 8 * 512));
  });
});

describe('DIF_UPDT (§7.17)', () => {
  function update(h: Harness, n: number, srcFlags: number, dstFlags: number, s: [number, number, number], d: [number, number, number]): number {
    return h.start(Opcode.DIF_UPDT).addr(Desc.SRC, SRC).addr(Desc.DST, DST).size(n).u8(Desc.DIF_FLAGS, 0)
      .u8(Desc.SRC_DIF_FLAGS, srcFlags).u8(Desc.DST_DIF_FLAGS, dstFlags)
      .u32(Desc.SRC_REF_SEED, s[0]).u16(Desc.SRC_APP_MASK, s[1]).u16(Desc.SRC_APP_SEED, s[2])
      .u32(Desc.DST_REF_SEED, d[0]).u16(Desc.DST_APP_MASK, d[1]).u16(Desc.DST_APP_SEED, d[2]).exec();
  }

  it('re-tags a protected stream and reports source and destination tags', () => {
    const h = new Harness();
    const data = ramp(1024, 3);
    h.put(SRC, protect(data, 512, { ref: 10, app: 1 }));
    expect(update(h, 1040, 0, 0x10, [10, 0, 1], [500, 0, 40])).toBe(1);
    expect(h.at(DST, 1040)).toEqual(protect(data, 512, { ref: 500, app: 40, appInc: true }));
    const cr = h.cr();
    expect([cr.u32(16), cr.u16(20), cr.u16(22), cr.u32(24), cr.u16(28), cr.u16(30)]).toEqual([12, 0, 1, 502, 0, 42]);
  });

  it('passes guard, app and ref through when asked', () => {
    const h = new Harness();
    const src = protect(ramp(512), 512, { ref: 10, app: 1 });
    h.put(SRC, src);
    expect(update(h, 520, 0, 0x20 | 0x08 | 0x40, [10, 0, 1], [500, 0, 40])).toBe(1);
    expect(h.at(DST, 520)).toEqual(src);
  });

  it('stops at a failing source block with 0x09 and writes nothing of it', () => {
    const h = new Harness();
    const src = protect(ramp(1024), 512, { ref: 10, app: 1 });
    flip(src, 520 + 512 + 7, 1);
    h.put(SRC, src);
    expect(update(h, 1040, 0, 0, [10, 0, 1], [0, 0, 0])).toBe(9);
    expect([h.cr().result, h.cr().bc, h.cr().u32(16), h.cr().u32(24)]).toEqual([DifStatus.REF_TAG, 520, 11, 1]);
    expect(h.at(DST + 520, 520).every((x) => x === 0)).toBe(true);
  });
});
