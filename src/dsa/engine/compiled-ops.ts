/**
 * The operation table compiled for one capability set: one `OpRow` per opcode (plain number
 * fields, one object shape, so the hot path reads a rule with one load and no bounds check) plus
 * flat typed arrays for the variable-length lists, so the descriptor checks are a few look-ups with
 * no allocation. `OP_SPECS` stays the only place where the rules are written; every field below,
 * including the fast pre-check, is derived from it.
 */
import { type EngineCaps, opcapHas } from '../spec/caps.js';
import { ALWAYS_RESERVED_FLAGS, CACHE_CONTROL_FLAGS, Flag } from '../spec/flags.js';
import { CacheRule, OP_SPECS, type OpSpec, SLOT_OFFSETS } from './op-table.js';
import { Opcode } from '../spec/opcodes.js';

/** Operation-specific check groups of #9–#13 (the rules themselves live in `checks.ts`). */
export const Special = {
  /** None. */
  NONE: 0,
  /** BATCH list alignment and count. */
  BATCH: 1,
  /** CR_DELTA record size and alignment. */
  CR_DELTA: 2,
  /** AP_DELTA record size and alignment. */
  AP_DELTA: 3,
  /** CRC seed-address alignment. */
  CRC: 4,
  /** DUALCAST destination bits 11:0. */
  DUALCAST: 5,
} as const;

const SPECIAL_OF: ReadonlyMap<number, number> = new Map([
  [Opcode.BATCH, Special.BATCH],
  [Opcode.CR_DELTA, Special.CR_DELTA],
  [Opcode.AP_DELTA, Special.AP_DELTA],
  [Opcode.CRCGEN, Special.CRC],
  [Opcode.COPY_CRC, Special.CRC],
  [Opcode.DUALCAST, Special.DUALCAST],
]);

/** Flags whose validity also depends on the submission or on CRAV (§2.1); checked separately. */
export const CONDITIONAL_FLAGS = Flag.FENCE | Flag.BOF | Flag.RCR | Flag.RCI | Flag.CR_TCS;

/** Flags the fast pre-check leaves to the conditional rules (their validity depends on the submission). */
export const SUBMISSION_FLAGS = Flag.FENCE | Flag.BOF | Flag.RCI;

/**
 * One address operand packed into a number (`CompiledOps.operands`): bits 1:0 slot, 4:2 fault-info id,
 * 7:5 `Len` kind, 13:8 descriptor byte offset of the address, 23:16 the op flag the operand
 * depends on (0 = always present), in place.
 */
export const Operand = {
  /** Slot: `p & SLOT`. */
  SLOT: 0x3,
  /** Fault-info id: `(p >>> ID_SHIFT) & 7`. */
  ID_SHIFT: 2,
  /** `Len` kind: `(p >>> LEN_SHIFT) & 7`. */
  LEN_SHIFT: 5,
  /** Descriptor byte offset: `(p >>> FIELD_SHIFT) & 63`. */
  FIELD_SHIFT: 8,
  /** The op flag it depends on: `p & WHEN`. */
  WHEN: 0xff0000,
} as const;

/** A little-endian u32 mask re-read as a native-order i32 (the same bytes). */
function nativeOrder(leMask: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setUint32(0, leMask >>> 0, true);
  return new Int32Array(v.buffer)[0] as number;
}

/**
 * The compiled rules of one opcode. Every field is a number (one object shape for all rows); list
 * fields are `[start, end)` ranges into the flat arrays of `CompiledOps`.
 */
export class OpRow {
  /** 1 when the opcode is implemented and enabled in OPCAP. */
  enabled = 0;
  /** 1 when the opcode may be a batch element. */
  batchable = 0;
  /** Flags allowed for the opcode before the conditional rules (§2.1 conditions, needs, cache encodings). */
  allowed = 0;
  /** `CacheRule`. */
  cache = 0;
  /** Required flags (all). */
  required = 0;
  /** Required flags (any one; 0 = no rule). */
  requiredAny = 0;
  /** Union of the flags that need another flag. */
  needsAny = 0;
  /** `SizeRule`. */
  size = 0;
  /** `Special` check group of checks #9–#13. */
  special = 0;
  /** 1 when the operation writes memory (destination readback applies). */
  writes = 0;
  /**
   * Fast pre-check of checks #4 and #5: `(flags & fastMask) === fastWant` proves that the opcode
   * is enabled, that every flag set is allowed for it whatever the other flags are (no flag-needs
   * rule or cache-control encoding can fail) and that the required flags are set. What it leaves
   * open: the conditional rules (Fence, BOF, RCI, and RCR/CR-TCS without CRAV) and, for a batch
   * element, `batchable`. `fastWant` is -1 (never matched) when it proves nothing.
   */
  fastMask = 0;
  /** See `fastMask`. */
  fastWant = -1;
  /** Check #7: mask of the reserved bits of the little-endian u32 at byte 16 (as an i32). */
  m4 = 0;
  /** Reserved bits of word 5 (bytes 20–23). */
  m5 = 0;
  /** Reserved bits of word 6 (bytes 24–27). */
  m6 = 0;
  /** Reserved bits of word 7 (bytes 28–31). */
  m7 = 0;
  /** Reserved bits of word 8 (bytes 32–35). */
  m8 = 0;
  /** Reserved bits of word 9 (bytes 36–39; 36–37 without RCI are checked on the decoded handle). */
  m9 = 0;
  /** Reserved bits of word 10 (bytes 40–43). */
  m10 = 0;
  /** Reserved bits of word 11 (bytes 44–47). */
  m11 = 0;
  /** Reserved bits of word 12 (bytes 48–51). */
  m12 = 0;
  /** Reserved bits of word 13 (bytes 52–55). */
  m13 = 0;
  /** Reserved bits of word 14 (bytes 56–59). */
  m14 = 0;
  /** Reserved bits of word 15 (bytes 60–63). */
  m15 = 0;
  /** 1 when any of `m4`–`m8` (bytes 16–35) is non-zero. */
  reservedLow = 0;
  /** Range of the static reserved words (`reservedWord`, `reservedMask`). */
  resStart = 0;
  /** End of that range. */
  resEnd = 0;
  /** Range of the conditional reserved words. */
  condStart = 0;
  /** End of that range. */
  condEnd = 0;
  /** Range of the flag-needs entries. */
  needsStart = 0;
  /** End of that range. */
  needsEnd = 0;
  /** Range of the address operands in `CompiledOps.operands` (translation order: sources first). */
  operandStart = 0;
  /** End of that range. */
  operandEnd = 0;
  /** Range of the overlap pairs. */
  overlapStart = 0;
  /** End of that range. */
  overlapEnd = 0;
}

/** Compiled per-opcode rules. */
export class CompiledOps {
  /** One row per opcode (256; an unimplemented opcode has `enabled = 0`). */
  readonly rows: readonly OpRow[];
  /** Word index (0–15) of a non-zero static reserved mask. */
  readonly reservedWord: Uint8Array;
  /** The mask of that word, in native byte order (for a zero test on native-order words). */
  readonly reservedMask: Int32Array;
  /** Word index (0–15) of each conditional reserved entry. */
  readonly condWord: Uint8Array;
  /** Bit mask within the word (native byte order). */
  readonly condBits: Int32Array;
  /** Flag mask of the condition. */
  readonly condMask: Int32Array;
  /** The word is in use when `(flags & condMask) === condValue`. */
  readonly condValue: Int32Array;
  /** The flag that needs another one. */
  readonly needsFlag: Int32Array;
  /** The flag it needs. */
  readonly needsBits: Int32Array;
  /** Address operands, packed (see `Operand`). */
  readonly operands: Int32Array;
  /** First slot of an overlap pair. */
  readonly overlapA: Uint8Array;
  /** Second slot of an overlap pair. */
  readonly overlapB: Uint8Array;
  /** Valid cache-control encodings (index CC3·4 + CC2·2 + CC1) for memory-writing operations. */
  readonly cacheWriteValid = new Uint8Array(8);
  /** Valid cache-control encodings for CFLUSH. */
  readonly cacheFlushValid = new Uint8Array(8);

  /** Builds the tables for `caps`. */
  constructor(caps: EngineCaps) {
    // §2.3 encodings (CC3 CC2 CC1). Without a rev 3.0 profile CC3 is a reserved bit (never in ALLOWED).
    const cc = caps.cacheControl;
    const rb = caps.destinationReadback;
    const table: readonly boolean[] = [true, cc, rb, cc && rb, caps.durableWrite, false, rb, false];
    for (let e = 0; e < 8; e++) this.cacheWriteValid[e] = table[e] ? 1 : 0;
    this.cacheFlushValid[0] = 1;
    this.cacheFlushValid[2] = 1;
    this.cacheFlushValid[1] = caps.cflushKeepLines && !caps.cacheControl3 ? 1 : 0;

    const words: [number, number][] = [];
    const conds: [number, number, number, number][] = [];
    const needs: [number, number][] = [];
    const overlaps: [number, number][] = [];
    const operands: number[] = [];
    const byOpcode = new Map(OP_SPECS.map((s) => [s.opcode, s]));
    const rows: OpRow[] = [];
    for (let o = 0; o < 256; o++) {
      const row = new OpRow();
      const s = byOpcode.get(o);
      row.resStart = words.length;
      row.condStart = conds.length;
      row.needsStart = needs.length;
      row.overlapStart = overlaps.length;
      row.operandStart = operands.length;
      if (s !== undefined) this.compileRow(row, o, s, caps, { words, conds, needs, overlaps, operands });
      row.resEnd = words.length;
      row.condEnd = conds.length;
      row.needsEnd = needs.length;
      row.overlapEnd = overlaps.length;
      row.operandEnd = operands.length;
      rows.push(row);
    }
    this.rows = rows;
    this.reservedWord = Uint8Array.from(words, (x) => x[0]);
    this.reservedMask = Int32Array.from(words, (x) => x[1]);
    this.condWord = Uint8Array.from(conds, (c) => c[0]);
    this.condBits = Int32Array.from(conds, (c) => c[1]);
    this.condMask = Int32Array.from(conds, (c) => c[2]);
    this.condValue = Int32Array.from(conds, (c) => c[3]);
    this.needsFlag = Int32Array.from(needs, (n) => n[0]);
    this.needsBits = Int32Array.from(needs, (n) => n[1]);
    this.operands = Int32Array.from(operands);
    this.overlapA = Uint8Array.from(overlaps, (p) => p[0]);
    this.overlapB = Uint8Array.from(overlaps, (p) => p[1]);
  }

  /** Whether `opcode` writes memory (destination readback applies). */
  writesMemory(opcode: number): boolean {
    return this.rows[opcode]!.writes === 1;
  }

  /** Compiles the rules of `s` into `row` and the list accumulators. */
  private compileRow(
    row: OpRow,
    o: number,
    s: OpSpec,
    caps: EngineCaps,
    lists: {
      words: [number, number][];
      conds: [number, number, number, number][];
      needs: [number, number][];
      overlaps: [number, number][];
      operands: number[];
    },
  ): void {
    const gate = { batchContinuation: caps.batchContinuation, drainReadback: caps.drainReadback, fill16: caps.fill16, crc64: caps.crc64 };
    row.enabled = opcapHas(caps, o) ? 1 : 0;
    row.batchable = s.batchable ? 1 : 0;
    let allowed = Flag.CRAV | Flag.FENCE | Flag.RCR | Flag.RCI | Flag.CR_TCS | s.allowed;
    for (const f of s.opFlags) if (f.gate === null || gate[f.gate]) allowed |= f.flag;
    if (s.cache !== CacheRule.NONE) allowed |= Flag.CC1 | Flag.CC2 | (caps.cacheControl3 ? Flag.CC3 : 0);
    row.allowed = allowed & ~ALWAYS_RESERVED_FLAGS;
    row.cache = s.cache;
    row.required = s.required;
    row.requiredAny = s.requiredAny;
    row.size = s.size;
    row.writes = s.writesMemory ? 1 : 0;
    row.special = SPECIAL_OF.get(o) ?? Special.NONE;

    // #7: static reserved bytes and bits, as per-word masks (a native-order list for the full
    // checker; the little-endian words 4–15 as row fields for the fast path).
    const masks = new Array<number>(16).fill(0);
    for (const [from, to] of s.reserved) for (let b = from; b <= to; b++) masks[b >> 2]! |= 0xff << ((b & 3) * 8);
    for (const x of s.reservedBits) masks[x.byte >> 2]! |= x.bits << ((x.byte & 3) * 8);
    // Bytes 0–15 (PASID, flags, opcode, CR address) are never statically reserved; the fast path relies on it.
    if (masks[0] !== 0 || masks[1] !== 0 || masks[2] !== 0 || masks[3] !== 0) throw new Error(`${s.name}: bytes 0-15 cannot be reserved`);
    masks.forEach((m, w) => {
      if (m !== 0) lists.words.push([w, nativeOrder(m)]);
    });
    row.m4 = masks[4]! | 0;
    row.m5 = masks[5]! | 0;
    row.m6 = masks[6]! | 0;
    row.m7 = masks[7]! | 0;
    row.m8 = masks[8]! | 0;
    row.m9 = masks[9]! | 0;
    row.m10 = masks[10]! | 0;
    row.m11 = masks[11]! | 0;
    row.m12 = masks[12]! | 0;
    row.m13 = masks[13]! | 0;
    row.m14 = masks[14]! | 0;
    row.m15 = masks[15]! | 0;
    row.reservedLow = masks.slice(4, 9).some((m) => m !== 0) ? 1 : 0;
    for (const c of s.reservedUnless) {
      for (let w = c.from >> 2; w <= c.to >> 2; w++) {
        let bits = 0;
        for (let b = Math.max(c.from, w * 4); b <= Math.min(c.to, w * 4 + 3); b++) bits |= 0xff << ((b & 3) * 8);
        lists.conds.push([w, nativeOrder(bits), c.mask, c.value]);
      }
    }
    let needsAny = 0;
    for (const n of s.flagNeeds) {
      lists.needs.push([n.flag, n.needs]);
      needsAny |= n.flag;
    }
    row.needsAny = needsAny;
    for (const p of s.operands) {
      if ((p.when & ~Operand.WHEN) !== 0 || p.slot > 3 || p.id > 7 || p.length > 7) throw new Error(`${s.name}: operand does not pack`);
      lists.operands.push(p.slot | (p.id << Operand.ID_SHIFT) | (p.length << Operand.LEN_SHIFT) | (SLOT_OFFSETS[p.slot]! << Operand.FIELD_SHIFT) | p.when);
    }
    const overlapLifted = s.overlapGate !== undefined && caps[s.overlapGate];
    if (!overlapLifted) for (const [a, b] of s.overlaps) lists.overlaps.push([a, b]);
    this.compileFast(row, caps);
  }

  /**
   * Derives the fast pre-check of `row` (see `OpRow.fastMask`). A flag is fast-allowed when it is
   * allowed and its validity depends on no other flag: not a flag that needs another one, and
   * cache-control bits only when every encoding they can form is valid for the opcode. An opcode
   * with an any-of requirement (DRAIN) or that is disabled gets no fast path.
   */
  private compileFast(row: OpRow, caps: EngineCaps): void {
    if (row.enabled === 0 || row.requiredAny !== 0) return;
    let fast = row.allowed & ~row.needsAny & ~CACHE_CONTROL_FLAGS;
    const cacheBits = row.allowed & CACHE_CONTROL_FLAGS & ~row.needsAny;
    if (cacheBits !== 0 && row.cache !== CacheRule.NONE) {
      const valid = row.cache === CacheRule.CFLUSH ? this.cacheFlushValid : this.cacheWriteValid;
      let all = true;
      for (let e = 0; e < 8; e++) {
        if ((cacheEncodingFlags(e) & ~cacheBits) !== 0) continue; // not formable from the fast bits
        const index = (e & 4) !== 0 && !caps.cacheControl3 ? e & 3 : e;
        if (valid[index] === 0) all = false;
      }
      if (all) fast |= cacheBits;
    }
    if ((row.required & ~fast) !== 0) return; // a required flag the fast path cannot accept
    row.fastMask = (~fast & 0xffffff) | row.required;
    row.fastWant = row.required;
  }
}

/** Index (CC3·4 + CC2·2 + CC1) of the cache-control encoding in `flags`. */
export function cacheEncoding(flags: number): number {
  return ((flags & Flag.CC3) >>> 3) | ((flags & Flag.CC2) >>> 13) | ((flags & Flag.CC1) >>> 8);
}

/** The flag bits of a cache-control encoding index. */
export function cacheEncodingFlags(e: number): number {
  return (e & 4 ? Flag.CC3 : 0) | (e & 2 ? Flag.CC2 : 0) | (e & 1 ? Flag.CC1 : 0);
}
