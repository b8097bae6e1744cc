import { describe, expect, it } from 'vitest';
import { Desc, engineCaps, Flag, Opcode, OpFlag, Status } from '../../src/dsa/index.js';
import { DATA, Harness } from './harness.js';

const ALL_OPS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x20];
const REQUIRES_CR = new Set([0x05, 0x06, 0x07, 0x10, 0x11, 0x12]);

/** §5.4, transcribed independently: reserved bytes per operation (besides 8–15 and 36–37 rules). */
const RESERVED: Record<number, [number, number][]> = {
  0x00: [[16, 35], [38, 63]],
  0x01: [[24, 31], [38, 63]],
  0x02: [[32, 35], [38, 63], [16, 31]],
  0x03: [[38, 63]],
  0x04: [[38, 39], [48, 63], [40, 47]],
  0x05: [[38, 39], [41, 63]],
  0x06: [[38, 39], [41, 63]],
  0x07: [[38, 39], [52, 55], [57, 63]],
  0x08: [[38, 39], [44, 63]],
  0x09: [[38, 39], [48, 63]],
  0x10: [[24, 31], [38, 39], [56, 63], [44, 47], [48, 55]],
  0x11: [[38, 39], [56, 63], [44, 47], [48, 55]],
  0x12: [[24, 31], [38, 39], [41, 41], [43, 47], [56, 63]],
  0x13: [[38, 40], [43, 55]],
  0x14: [[38, 39], [41, 41], [43, 47], [56, 63]],
  0x15: [[38, 39], [43, 47]],
  0x20: [[16, 23], [38, 63]],
};

/** §5.3 columns BOF, CR(7), CC, SO(13), A1(9), A2(10), A3(11), transcribed independently. */
const ALLOWED: Record<number, number> = {
  0x00: 0,
  0x01: Flag.ADDR1_TCS,
  0x02: 0,
  0x03: Flag.BOF | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR1_TCS | Flag.ADDR2_TCS,
  0x04: Flag.BOF | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR2_TCS,
  0x05: Flag.BOF | Flag.CHECK_RESULT | Flag.ADDR1_TCS | Flag.ADDR2_TCS,
  0x06: Flag.BOF | Flag.CHECK_RESULT | Flag.ADDR1_TCS,
  0x07: Flag.BOF | Flag.CHECK_RESULT | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR1_TCS | Flag.ADDR2_TCS | Flag.ADDR3_TCS,
  0x08: Flag.BOF | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR1_TCS | Flag.ADDR2_TCS,
  0x09: Flag.BOF | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR1_TCS | Flag.ADDR2_TCS | Flag.ADDR3_TCS,
  0x10: Flag.BOF | Flag.ADDR1_TCS,
  0x11: Flag.BOF | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR1_TCS | Flag.ADDR2_TCS,
  0x12: Flag.BOF | Flag.ADDR1_TCS,
  0x13: Flag.BOF | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR1_TCS | Flag.ADDR2_TCS,
  0x14: Flag.BOF | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR1_TCS | Flag.ADDR2_TCS,
  0x15: Flag.BOF | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR1_TCS | Flag.ADDR2_TCS,
  0x20: Flag.BOF | Flag.CC1 | Flag.STRICT_ORDER | Flag.ADDR2_TCS, // CC1 = encoding 001, valid for CFLUSH in a 1.x profile
};
const OPTIONAL = [Flag.BOF, Flag.CHECK_RESULT, Flag.CC1, Flag.STRICT_ORDER, Flag.ADDR1_TCS, Flag.ADDR2_TCS, Flag.ADDR3_TCS];

function baseFlags(_op: number): number {
  return Flag.CRAV | Flag.RCR;
}

describe('check #4: opcode', () => {
  it('rejects every opcode outside the DSA 1.0 set with 0x10', () => {
    const h = new Harness();
    for (let op = 0; op < 256; op++) {
      if (ALL_OPS.includes(op)) continue;
      expect(h.start(op).exec(), `opcode ${op}`).toBe(Status.BAD_OPCODE);
    }
  });

  it('rejects an opcode disabled in OPCAP (strict SPR profile has no delta operations)', () => {
    const h = new Harness({ caps: engineCaps({ opcap: [0x003f027f, 1] }) });
    expect(h.start(Opcode.CR_DELTA).exec()).toBe(Status.BAD_OPCODE);
    expect(h.start(Opcode.AP_DELTA).exec()).toBe(Status.BAD_OPCODE);
    expect(h.start(Opcode.NOOP).exec()).toBe(Status.SUCCESS);
  });
});

describe('check #5: flags (§2, §5.2, §5.3)', () => {
  it('reserves bits 5, 6, 15 and undefined bits 23:16 for every operation', () => {
    const h = new Harness();
    h.ctx.wqBlockOnFault = true;
    for (const op of ALL_OPS) {
      for (const bit of [5, 6, 15, 20, 21, 22, 23]) {
        expect(h.start(op, baseFlags(op) | (1 << bit)).exec(), `op ${op} bit ${bit}`).toBe(0x11);
        expect(h.cr().invalidFlags & (1 << bit)).toBe(1 << bit);
      }
    }
  });

  it('rejects each optional generic flag exactly where §5.3 has no tick', () => {
    const h = new Harness({ caps: engineCaps({ drainReadback: true }) });
    h.ctx.wqBlockOnFault = true;
    for (const op of ALL_OPS) {
      for (const flag of OPTIONAL) {
        let flags = baseFlags(op) | flag;
        if (op === 0x02 && flag === Flag.ADDR1_TCS) flags |= OpFlag.DRAIN_READBACK1;
        if (op === 0x02 && flag === Flag.ADDR2_TCS) flags |= OpFlag.DRAIN_READBACK2;
        if ((op === 0x10 || op === 0x11) && flag === Flag.ADDR3_TCS) flags |= OpFlag.CRC_SEED_ADDR;
        const st = h.start(op, flags).exec();
        const allowed = (ALLOWED[op]! & flag) !== 0 || (op === 0x02 && (flag === Flag.ADDR1_TCS || flag === Flag.ADDR2_TCS)) || ((op === 0x10 || op === 0x11) && flag === Flag.ADDR3_TCS);
        if (allowed) expect(st, `op ${op} flag ${flag}`).not.toBe(0x11);
        else {
          expect(st, `op ${op} flag ${flag}`).toBe(0x11);
          expect(h.cr().invalidFlags).toBe(flag);
        }
      }
    }
  });

  it('reserves Fence outside a batch', () => {
    const h = new Harness();
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.FENCE).exec()).toBe(0x11);
    expect(h.cr().invalidFlags).toBe(Flag.FENCE);
  });

  it('reserves BOF when WQCFG.bof = 0 or GENCAP block-on-fault = 0', () => {
    const h = new Harness();
    h.start(Opcode.MEMMOVE, Flag.CRAV | Flag.RCR | Flag.BOF).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x1000).size(8);
    expect(h.exec()).toBe(0x11);
    expect(h.cr().invalidFlags).toBe(Flag.BOF);
    h.ctx.wqBlockOnFault = true;
    expect(h.exec()).toBe(1);
    const g = new Harness({ caps: engineCaps({ blockOnFault: false }) });
    g.ctx.wqBlockOnFault = true;
    g.start(Opcode.MEMMOVE, Flag.CRAV | Flag.RCR | Flag.BOF).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x1000).size(8);
    expect(g.exec()).toBe(0x11);
  });

  it('reserves RCR and CR-TCS without CRAV (reported in SWERROR)', () => {
    const h = new Harness();
    expect(h.start(Opcode.NOOP, Flag.RCR | Flag.CR_TCS).exec()).toBe(0x11);
    expect(h.errors.reports[0]).toMatchObject({ code: 0x11, errorInfo: Flag.RCR | Flag.CR_TCS });
  });

  it('reports a missing required flag by its bit (§5.2)', () => {
    const h = new Harness();
    for (const op of REQUIRES_CR) {
      h.errors.reports.length = 0;
      expect(h.start(op, Flag.CRAV).exec(), `op ${op}`).toBe(0x11);
      expect(h.cr().invalidFlags).toBe(Flag.RCR);
      expect(h.start(op, 0).exec()).toBe(0x11);
      expect(h.errors.reports[0]!.errorInfo).toBe(Flag.CRAV | Flag.RCR);
    }
    expect(h.start(Opcode.DRAIN, Flag.CRAV).exec()).toBe(0x11);
    expect(h.cr().invalidFlags).toBe(Flag.RCR | Flag.RCI);
    expect(h.start(Opcode.DRAIN, Flag.CRAV | Flag.RCR).exec()).toBe(1);
    expect(h.start(Opcode.DRAIN, Flag.RCI).exec()).toBe(1);
  });

  it('reports every offending bit at once', () => {
    const h = new Harness();
    expect(h.start(Opcode.COMPARE, Flag.CRAV | Flag.FENCE | Flag.CC1 | (1 << 16)).exec()).toBe(0x11);
    expect(h.cr().invalidFlags).toBe(Flag.FENCE | Flag.CC1 | (1 << 16) | Flag.RCR);
  });

  it('gates operation-specific flags by capability (§2.2)', () => {
    const base = new Harness();
    const cont = new Harness({ caps: engineCaps({ batchContinuation: true, fill16: true, crc64: true, drainReadback: true }) });
    for (const [op, flag] of [
      [Opcode.BATCH, OpFlag.BATCH_ERROR],
      [Opcode.FILL, OpFlag.FILL_PATTERN16],
      [Opcode.CRCGEN, OpFlag.CRC64],
      [Opcode.DRAIN, OpFlag.DRAIN_READBACK1],
      [Opcode.DRAIN, OpFlag.DRAIN_READBACK2],
    ] as const) {
      expect(base.start(op, Flag.CRAV | Flag.RCR | flag).exec(), `op ${op}`).toBe(0x11);
      expect(base.cr().invalidFlags).toBe(flag);
      expect(cont.start(op, Flag.CRAV | Flag.RCR | flag).exec(), `op ${op}`).not.toBe(0x11);
    }
    for (const flag of [OpFlag.DRAIN_SUPPRESS_TCA, OpFlag.DRAIN_SUPPRESS_TCB]) {
      expect(base.start(Opcode.DRAIN, Flag.CRAV | Flag.RCR | flag).exec()).toBe(1);
    }
    for (const flag of [OpFlag.CRC_BYPASS_INVERSION, OpFlag.CRC_BYPASS_DATA_REFLECTION]) {
      expect(base.start(Opcode.CRCGEN, Flag.CRAV | Flag.RCR | flag).addr(Desc.SRC, DATA).size(4).exec()).toBe(1);
    }
  });

  it('needs op flag 16/17 for A1/A2 TCS on DRAIN and op flag 16 for A3 TCS on CRC operations', () => {
    const h = new Harness({ caps: engineCaps({ drainReadback: true }) });
    expect(h.start(Opcode.DRAIN, Flag.CRAV | Flag.RCR | Flag.ADDR1_TCS).exec()).toBe(0x11);
    expect(h.cr().invalidFlags).toBe(Flag.ADDR1_TCS);
    expect(h.start(Opcode.DRAIN, Flag.CRAV | Flag.RCR | Flag.ADDR2_TCS | OpFlag.DRAIN_READBACK1).addr(Desc.SRC, DATA).exec()).toBe(0x11);
    expect(h.cr().invalidFlags).toBe(Flag.ADDR2_TCS);
    expect(h.start(Opcode.CRCGEN, Flag.CRAV | Flag.RCR | Flag.ADDR3_TCS).addr(Desc.SRC, DATA).size(4).exec()).toBe(0x11);
    expect(h.cr().invalidFlags).toBe(Flag.ADDR3_TCS);
  });

  it('validates cache-control encodings against the capabilities (§2.3)', () => {
    const mm = (h: Harness, flags: number): number =>
      h.start(Opcode.MEMMOVE, Flag.CRAV | Flag.RCR | flags).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x1000).size(8).exec();
    const spr = new Harness();
    expect(mm(spr, Flag.CC1)).toBe(1);
    expect(mm(spr, Flag.CC2)).toBe(1);
    expect(mm(spr, Flag.CC1 | Flag.CC2)).toBe(1);
    expect(mm(spr, Flag.CC3)).toBe(0x11);
    expect(spr.cr().invalidFlags).toBe(Flag.CC3);
    const none = new Harness({ caps: engineCaps({ cacheControl: false, destinationReadback: false }) });
    expect(mm(none, Flag.CC1)).toBe(0x11);
    expect(none.cr().invalidFlags).toBe(Flag.CC1);
    expect(mm(none, Flag.CC2)).toBe(0x11);
    expect(none.cr().invalidFlags).toBe(Flag.CC2);
    const v3 = new Harness({ caps: engineCaps({ cacheControl3: true, durableWrite: true }) });
    expect(mm(v3, Flag.CC3)).toBe(1);
    expect(mm(v3, Flag.CC3 | Flag.CC2)).toBe(1);
    expect(mm(v3, Flag.CC3 | Flag.CC1)).toBe(0x11);
    expect(v3.cr().invalidFlags).toBe(Flag.CC3 | Flag.CC1);
    // CFLUSH: 000, 010 and (1.x) 001 valid; 011 invalid; 001 invalid in a 3.0 profile.
    const cf = (h: Harness, flags: number): number => h.start(Opcode.CFLUSH, Flag.CRAV | Flag.RCR | flags).addr(Desc.DST, DATA).size(64).exec();
    expect(cf(spr, Flag.CC2)).toBe(1);
    expect(cf(spr, Flag.CC1)).toBe(1);
    expect(cf(spr, Flag.CC1 | Flag.CC2)).toBe(0x11);
    expect(cf(none, Flag.CC2)).toBe(1);
    expect(cf(v3, Flag.CC1)).toBe(0x11);
  });
});

describe('check #7: reserved fields (§5.4)', () => {
  it('rejects a non-zero byte in every reserved range of every operation, one byte at a time', () => {
    const h = new Harness();
    for (const op of ALL_OPS) {
      for (const [from, to] of RESERVED[op]!) {
        for (let b = from; b <= to; b++) {
          expect(h.start(op).u8(b, 0x40).exec(), `op ${op} byte ${b}`).toBe(Status.NOZERO_RESERVE);
        }
      }
    }
  });

  it('accepts bytes that §5.4 does not reserve (no 0x12 from them)', () => {
    const h = new Harness();
    for (const op of ALL_OPS) {
      const reserved = new Set<number>();
      for (const [from, to] of RESERVED[op]!) for (let b = from; b <= to; b++) reserved.add(b);
      for (let b = 16; b < 64; b++) {
        if (reserved.has(b) || (b >= 36 && b <= 37) || b === 40 || b === 41 || b === 42) continue;
        expect(h.start(op).u8(b, 0x40).exec(), `op ${op} byte ${b}`).not.toBe(Status.NOZERO_RESERVE);
      }
    }
  });

  it('reserves bytes 8–15 without CRAV and 36–37 without RCI', () => {
    const h = new Harness();
    expect(h.start(Opcode.NOOP, 0).u8(12, 1).exec()).toBe(0x12);
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR).u8(37, 1).exec()).toBe(0x12);
    expect(h.start(Opcode.NOOP, Flag.CRAV | Flag.RCR | Flag.RCI).u8(37, 0).u8(36, 5).exec()).toBe(1);
  });

  it('uses the conditional ranges of DRAIN, FILL and the CRC operations', () => {
    const h = new Harness({ caps: engineCaps({ drainReadback: true, fill16: true, crc64: true }) });
    expect(h.start(Opcode.DRAIN, Flag.CRAV | Flag.RCR | OpFlag.DRAIN_READBACK1).addr(Desc.SRC, DATA).exec()).toBe(1);
    expect(h.start(Opcode.DRAIN, Flag.CRAV | Flag.RCR | OpFlag.DRAIN_READBACK1).addr(Desc.SRC, DATA).addr(Desc.DST, DATA).exec()).toBe(0x12);
    expect(h.start(Opcode.FILL, Flag.CRAV | Flag.RCR | OpFlag.FILL_PATTERN16).addr(Desc.DST, DATA).size(16).u8(44, 1).exec()).toBe(1);
    const crc = (flags: number, byte: number): number => {
      h.start(Opcode.CRCGEN, Flag.CRAV | Flag.RCR | flags).addr(Desc.SRC, DATA).size(4);
      if ((flags & OpFlag.CRC_SEED_ADDR) !== 0) h.addr(Desc.CRC_SEED_ADDR, DATA + 0x100);
      return h.u8(byte, 1).exec();
    };
    // Seed address (48–55) only with flag 16; seed field (40–43) only without it.
    h.start(Opcode.CRCGEN).addr(Desc.SRC, DATA).size(4).u8(48, 1);
    expect(h.exec()).toBe(0x12);
    expect(crc(OpFlag.CRC_SEED_ADDR, 40)).toBe(0x12);
    expect(crc(OpFlag.CRC_SEED_ADDR, 44)).toBe(0x12);
    expect(crc(OpFlag.CRC64, 44)).not.toBe(0x12);
    expect(crc(OpFlag.CRC64 | OpFlag.CRC_SEED_ADDR, 44)).toBe(0x12);
  });

  it('reserves DIF Flags bits 7:4 and destination DIF flags bits 2:0', () => {
    const h = new Harness();
    for (const op of [Opcode.DIF_CHECK, Opcode.DIF_INS, Opcode.DIF_STRP, Opcode.DIF_UPDT]) {
      expect(h.start(op).u8(Desc.DIF_FLAGS, 0x10).exec(), `op ${op}`).toBe(0x12);
    }
    for (const op of [Opcode.DIF_INS, Opcode.DIF_UPDT]) {
      expect(h.start(op).u8(Desc.DST_DIF_FLAGS, 0x01).exec(), `op ${op}`).toBe(0x12);
    }
  });
});

describe('checks #8–#14', () => {
  it('#8: transfer size 0 or above 2^max_xfer_shift (WQCFG or GENCAP, the smaller)', () => {
    const h = new Harness();
    h.ctx.maxXferShift = 12;
    const mm = (n: number): number => h.start(Opcode.MEMMOVE).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x10000).size(n).exec();
    expect(mm(0)).toBe(0x13);
    expect(mm(4096)).toBe(1);
    expect(mm(4097)).toBe(0x13);
    const g = new Harness({ caps: engineCaps({ maxTransferShift: 10 }) });
    expect(g.start(Opcode.FILL).addr(Desc.DST, DATA).size(1025).exec()).toBe(0x13);
  });

  it('#8: delta operations are limited to 0x80000, DIF sizes to whole blocks', () => {
    const h = new Harness();
    expect(h.start(Opcode.CR_DELTA).addr(Desc.SRC, DATA).addr(Desc.DST, DATA).addr(Desc.DELTA_ADDR, DATA).u32(Desc.MAX_DELTA_SIZE, 80).size(0x80008).exec()).toBe(0x13);
    expect(h.start(Opcode.AP_DELTA).addr(Desc.DST, DATA).u32(Desc.DELTA_SIZE, 10).size(0x80008).exec()).toBe(0x13);
    expect(h.start(Opcode.DIF_CHECK).addr(Desc.SRC, DATA).size(512).exec()).toBe(0x13);
    expect(h.start(Opcode.DIF_INS).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x10000).size(520).exec()).toBe(0x13);
    expect(h.start(Opcode.DIF_INS).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x10000).u8(Desc.DIF_FLAGS, 1).size(520).exec()).toBe(1);
  });

  it('#9/#10: batch list alignment and count', () => {
    const h = new Harness();
    h.ctx.maxBatchShift = 3;
    expect(h.start(Opcode.BATCH).addr(Desc.SRC, DATA + 32).size(2).exec()).toBe(0x18);
    expect(h.start(Opcode.BATCH).addr(Desc.SRC, DATA).size(0).exec()).toBe(0x14);
    expect(h.start(Opcode.BATCH).addr(Desc.SRC, DATA).size(1).exec()).toBe(0x14);
    expect(h.start(Opcode.BATCH).addr(Desc.SRC, DATA).size(9).exec()).toBe(0x14);
    expect(h.start(Opcode.BATCH).addr(Desc.SRC, DATA + 32).size(0).exec()).toBe(0x18);
    const b1 = new Harness({ caps: engineCaps({ batch1: true }) });
    expect(b1.start(Opcode.BATCH).addr(Desc.SRC, DATA).size(1).exec()).not.toBe(0x14);
  });

  it('#11/#12: delta record sizes and alignment', () => {
    const h = new Harness();
    const cr = (max: number, s1: number, s2: number, size: number): number =>
      h.start(Opcode.CR_DELTA).addr(Desc.SRC, s1).addr(Desc.DST, s2).addr(Desc.DELTA_ADDR, DATA + 0x100000).u32(Desc.MAX_DELTA_SIZE, max).size(size).exec();
    expect(cr(79, DATA, DATA + 0x1000, 64)).toBe(0x15);
    expect(cr(80, DATA + 4, DATA + 0x1000, 64)).toBe(0x1c);
    expect(cr(80, DATA, DATA + 0x1004, 64)).toBe(0x1c);
    expect(cr(80, DATA, DATA + 0x1000, 60)).toBe(0x1c);
    expect(cr(80, DATA + 4, DATA + 0x1000, 60)).toBe(0x1c);
    expect(cr(79, DATA + 4, DATA + 0x1000, 60)).toBe(0x15);
    const ap = (rs: number, dst: number, size: number): number => h.start(Opcode.AP_DELTA).addr(Desc.SRC, DATA).addr(Desc.DST, dst).u32(Desc.DELTA_SIZE, rs).size(size).exec();
    expect(ap(9, DATA + 0x1000, 64)).toBe(0x15);
    expect(ap(15, DATA + 0x1000, 64)).toBe(0x15);
    expect(ap(10, DATA + 0x1004, 64)).toBe(0x1c);
    expect(ap(10, DATA + 0x1000, 12)).toBe(0x1c);
    h.ctx.maxXferShift = 6;
    expect(ap(70, DATA + 0x1000, 64)).toBe(0x15);
    expect(cr(80, DATA, DATA + 0x1000, 64)).toBe(0x15);
  });

  it('#12: CRC seed address alignment (4, or 8 with CRC-64)', () => {
    const h = new Harness({ caps: engineCaps({ crc64: true }) });
    const crc = (flags: number, seed: number): number =>
      h.start(Opcode.CRCGEN, Flag.CRAV | Flag.RCR | OpFlag.CRC_SEED_ADDR | flags).addr(Desc.SRC, DATA).addr(Desc.CRC_SEED_ADDR, seed).size(4).exec();
    expect(crc(0, DATA + 0x102)).toBe(0x1c);
    expect(crc(0, DATA + 0x104)).toBe(1);
    expect(crc(OpFlag.CRC64, DATA + 0x104)).toBe(0x1c);
    expect(crc(OpFlag.CRC64, DATA + 0x108)).toBe(1);
  });

  it('#13: DUALCAST destinations must agree in bits 11:0', () => {
    const h = new Harness();
    expect(h.start(Opcode.DUALCAST).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x10010).addr(Desc.DST2, DATA + 0x20020).size(16).exec()).toBe(0x17);
    expect(h.start(Opcode.DUALCAST).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x10010).addr(Desc.DST2, DATA + 0x20010).size(16).exec()).toBe(1);
  });

  it('#14: overlap rules of §5.5, exact for 64-bit addresses', () => {
    const h = new Harness({ caps: engineCaps({ overlapCopy: false }) });
    const mm = (src: number, dst: number, n: number): number => h.start(Opcode.MEMMOVE).addr(Desc.SRC, src).addr(Desc.DST, dst).size(n).exec();
    expect(mm(DATA, DATA + 100, 100)).toBe(1);
    expect(mm(DATA, DATA + 99, 100)).toBe(0x16);
    expect(mm(DATA + 99, DATA, 100)).toBe(0x16);
    expect(mm(DATA + 100, DATA, 100)).toBe(1);
    // Two addresses above 2^53 one byte apart overlap (and are not rounded together).
    h.start(Opcode.MEMMOVE).u64(Desc.SRC, 0x1, 0xfff00000).u64(Desc.DST, 0x2, 0xfff00000).size(2);
    expect(h.exec()).toBe(0x16);
    h.start(Opcode.MEMMOVE).u64(Desc.SRC, 0x1, 0xfff00000).u64(Desc.DST, 0x3, 0xfff00000).size(2);
    expect(h.exec()).toBe(0x03);
    const g = new Harness();
    expect(g.start(Opcode.COPY_CRC).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 8).size(16).exec()).toBe(0x16);
    expect(g.start(Opcode.DUALCAST).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x1000).addr(Desc.DST2, DATA + 0x1000).size(16).exec()).toBe(0x16);
    expect(g.start(Opcode.CR_DELTA).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 0x1000).addr(Desc.DELTA_ADDR, DATA + 0x1040 - 8).u32(Desc.MAX_DELTA_SIZE, 80).size(64).exec()).toBe(0x16);
    expect(g.start(Opcode.AP_DELTA).addr(Desc.SRC, DATA + 0x1000 - 5).addr(Desc.DST, DATA + 0x1000).u32(Desc.DELTA_SIZE, 10).size(64).exec()).toBe(0x16);
    // DIF_INS: src [BS·N], dst [(BS+8)·N]; DIF_STRP: src [(BS+8)·N], dst [BS·N].
    expect(g.start(Opcode.DIF_INS).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 511).size(512).exec()).toBe(0x16);
    expect(g.start(Opcode.DIF_INS).addr(Desc.SRC, DATA + 519).addr(Desc.DST, DATA).size(512).exec()).toBe(0x16);
    expect(g.start(Opcode.DIF_INS).addr(Desc.SRC, DATA + 520).addr(Desc.DST, DATA).size(512).exec()).not.toBe(0x16);
    expect(g.start(Opcode.DIF_STRP).addr(Desc.SRC, DATA + 511).addr(Desc.DST, DATA).size(520).exec()).toBe(0x16);
    expect(g.start(Opcode.DIF_STRP).addr(Desc.SRC, DATA + 512).addr(Desc.DST, DATA).size(520).exec()).not.toBe(0x16);
    expect(g.start(Opcode.COMPARE).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 1).size(16).exec()).toBe(1);
  });
});

describe('check ordering (§5.1: the first failure wins)', () => {
  it('walks CR_DELTA through #4 -> #5 -> #6 -> #7 -> #8 -> #11 -> #12 -> #14 -> success', () => {
    const off = new Harness({ caps: engineCaps({ opcap: [0x003f027f, 1] }) });
    const h = new Harness();
    const build = (g: Harness, stage: number): number => {
      let flags = Flag.CRAV | Flag.RCR | Flag.RCI;
      if (stage <= 1) flags |= Flag.FENCE;
      g.start(Opcode.CR_DELTA, flags);
      g.u16(Desc.INT_HANDLE, stage <= 2 ? 999 : 1);
      if (stage <= 3) g.u8(60, 1);
      g.size(stage <= 4 ? 0x80008 : 64);
      g.u32(Desc.MAX_DELTA_SIZE, stage <= 5 ? 70 : 80);
      g.addr(Desc.SRC, stage <= 6 ? DATA + 4 : DATA);
      g.addr(Desc.DST, DATA + 0x1000);
      g.addr(Desc.DELTA_ADDR, stage <= 7 ? DATA + 0x20 : DATA + 0x2000);
      return g.exec();
    };
    expect(build(off, 0)).toBe(0x10);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((s) => build(h, s))).toEqual([0x11, 0x19, 0x12, 0x13, 0x15, 0x1c, 0x16, 0x01]);
  });

  it('walks BATCH through #9 -> #10 and DUALCAST through #13 -> #14', () => {
    const h = new Harness();
    expect(h.start(Opcode.BATCH).addr(Desc.SRC, DATA + 8).size(0).exec()).toBe(0x18);
    expect(h.start(Opcode.BATCH).addr(Desc.SRC, DATA).size(0).exec()).toBe(0x14);
    expect(h.start(Opcode.DUALCAST).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 4).addr(Desc.DST2, DATA + 8).size(16).exec()).toBe(0x17);
    expect(h.start(Opcode.DUALCAST).addr(Desc.SRC, DATA).addr(Desc.DST, DATA + 4).addr(Desc.DST2, DATA + 0x1004).size(16).exec()).toBe(0x16);
  });

  it('checks the CR address before the opcode', () => {
    const h = new Harness();
    h.crIova = 0x1010;
    expect(h.start(0xff).exec()).toBe(0x1b);
  });
});
