/**
 * The operation table compiled for one capability set into flat typed arrays indexed by opcode,
 * so the descriptor checks are a few table look-ups with no allocation. `OP_SPECS` stays the
 * only place where the rules are written.
 */
import { type EngineCaps, opcapHas } from './caps.js';
import { ALWAYS_RESERVED_FLAGS, Flag } from './flags.js';
import { CacheRule, OP_SPECS } from './op-table.js';
import { Opcode } from './opcodes.js';

/** Column offsets of a compiled row (`CompiledOps.rows`, `ROW_STRIDE` entries per opcode). */
export const Col = {
  /** 1 when the opcode is implemented and enabled in OPCAP. */
  ENABLED: 0,
  /** 1 when the opcode may be a batch element. */
  BATCHABLE: 1,
  /** Flags allowed for the opcode before the conditional rules (§2.1 conditions, needs, cache encodings). */
  ALLOWED: 2,
  /** `CacheRule`. */
  CACHE: 3,
  /** Required flags (all). */
  REQUIRED: 4,
  /** Required flags (any one; 0 = no rule). */
  REQUIRED_ANY: 5,
  /** `SizeRule`. */
  SIZE: 6,
  /** 1 when the operation writes memory. */
  WRITES: 7,
  /** Range of the static reserved words. */
  RES_START: 8,
  /** End of that range. */
  RES_END: 9,
  /** Range of the conditional reserved words. */
  COND_START: 10,
  /** End of that range. */
  COND_END: 11,
  /** Range of the flag-needs entries. */
  NEEDS_START: 12,
  /** End of that range. */
  NEEDS_END: 13,
  /** Range of the operands. */
  OPERAND_START: 14,
  /** End of that range. */
  OPERAND_END: 15,
  /** Range of the overlap pairs. */
  OVERLAP_START: 16,
  /** End of that range. */
  OVERLAP_END: 17,
  /** Union of the flags that need another flag. */
  NEEDS_ANY: 18,
  /** `Special` check group of checks #9–#13. */
  SPECIAL: 19,
} as const;

/** Number of columns per row. */
export const ROW_STRIDE = 20;

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

/** A little-endian u32 mask re-read as a native-order i32 (the same bytes). */
function nativeOrder(leMask: number): number {
  const v = new DataView(new ArrayBuffer(4));
  v.setUint32(0, leMask >>> 0, true);
  return new Int32Array(v.buffer)[0] as number;
}

/** Compiled per-opcode rules. */
export class CompiledOps {
  /** One row of `ROW_STRIDE` columns (`Col`) per opcode. */
  readonly rows = new Int32Array(256 * ROW_STRIDE);
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
  /** Operand slot. */
  readonly operandSlot: Uint8Array;
  /** `Len` kind. */
  readonly operandLen: Uint8Array;
  /** Fault-info operand id. */
  readonly operandId: Uint8Array;
  /** Op flag the operand depends on (0 = always present). */
  readonly operandWhen: Int32Array;
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
    const words: [number, number][] = [];
    const conds: [number, number, number, number][] = [];
    const needs: [number, number][] = [];
    const operands: [number, number, number, number][] = [];
    const overlaps: [number, number][] = [];
    const gate = { batchContinuation: caps.batchContinuation, drainReadback: caps.drainReadback, fill16: caps.fill16, crc64: caps.crc64 };
    const byOpcode = new Map(OP_SPECS.map((s) => [s.opcode, s]));
    const rows = this.rows;
    for (let o = 0; o < 256; o++) {
      const r = o * ROW_STRIDE;
      const s = byOpcode.get(o);
      rows[r + Col.RES_START] = words.length;
      rows[r + Col.COND_START] = conds.length;
      rows[r + Col.NEEDS_START] = needs.length;
      rows[r + Col.OPERAND_START] = operands.length;
      rows[r + Col.OVERLAP_START] = overlaps.length;
      if (s !== undefined) {
        rows[r + Col.ENABLED] = opcapHas(caps, o) ? 1 : 0;
        rows[r + Col.BATCHABLE] = s.batchable ? 1 : 0;
        let allowed = Flag.CRAV | Flag.FENCE | Flag.RCR | Flag.RCI | Flag.CR_TCS | s.allowed;
        for (const f of s.opFlags) if (f.gate === null || gate[f.gate]) allowed |= f.flag;
        if (s.cache !== CacheRule.NONE) allowed |= Flag.CC1 | Flag.CC2 | (caps.cacheControl3 ? Flag.CC3 : 0);
        rows[r + Col.ALLOWED] = allowed & ~ALWAYS_RESERVED_FLAGS;
        rows[r + Col.CACHE] = s.cache;
        rows[r + Col.REQUIRED] = s.required;
        rows[r + Col.REQUIRED_ANY] = s.requiredAny;
        rows[r + Col.SIZE] = s.size;
        rows[r + Col.WRITES] = s.writesMemory ? 1 : 0;
        rows[r + Col.SPECIAL] = SPECIAL_OF.get(o) ?? Special.NONE;
        const masks = new Array<number>(16).fill(0);
        for (const [from, to] of s.reserved) for (let b = from; b <= to; b++) masks[b >> 2]! |= 0xff << ((b & 3) * 8);
        for (const x of s.reservedBits) masks[x.byte >> 2]! |= x.bits << ((x.byte & 3) * 8);
        masks.forEach((m, w) => {
          if (m !== 0) words.push([w, nativeOrder(m)]);
        });
        for (const c of s.reservedUnless) {
          for (let w = c.from >> 2; w <= c.to >> 2; w++) {
            let bits = 0;
            for (let b = Math.max(c.from, w * 4); b <= Math.min(c.to, w * 4 + 3); b++) bits |= 0xff << ((b & 3) * 8);
            conds.push([w, nativeOrder(bits), c.mask, c.value]);
          }
        }
        let needsAny = 0;
        for (const n of s.flagNeeds) {
          needs.push([n.flag, n.needs]);
          needsAny |= n.flag;
        }
        rows[r + Col.NEEDS_ANY] = needsAny;
        for (const p of s.operands) operands.push([p.slot, p.length, p.id, p.when]);
        const overlapLifted = s.overlapGate !== undefined && caps[s.overlapGate];
        if (!overlapLifted) for (const [a, b] of s.overlaps) overlaps.push([a, b]);
      }
      rows[r + Col.RES_END] = words.length;
      rows[r + Col.COND_END] = conds.length;
      rows[r + Col.NEEDS_END] = needs.length;
      rows[r + Col.OPERAND_END] = operands.length;
      rows[r + Col.OVERLAP_END] = overlaps.length;
    }
    this.reservedWord = Uint8Array.from(words, (x) => x[0]);
    this.reservedMask = Int32Array.from(words, (x) => x[1]);
    this.condWord = Uint8Array.from(conds, (c) => c[0]);
    this.condBits = Int32Array.from(conds, (c) => c[1]);
    this.condMask = Int32Array.from(conds, (c) => c[2]);
    this.condValue = Int32Array.from(conds, (c) => c[3]);
    this.needsFlag = Int32Array.from(needs, (n) => n[0]);
    this.needsBits = Int32Array.from(needs, (n) => n[1]);
    this.operandSlot = Uint8Array.from(operands, (p) => p[0]);
    this.operandLen = Uint8Array.from(operands, (p) => p[1]);
    this.operandId = Uint8Array.from(operands, (p) => p[2]);
    this.operandWhen = Int32Array.from(operands, (p) => p[3]);
    this.overlapA = Uint8Array.from(overlaps, (p) => p[0]);
    this.overlapB = Uint8Array.from(overlaps, (p) => p[1]);
    // §2.3 encodings (CC3 CC2 CC1). Without a rev 3.0 profile CC3 is a reserved bit (never in ALLOWED).
    const cc = caps.cacheControl;
    const rb = caps.destinationReadback;
    const table: readonly boolean[] = [true, cc, rb, cc && rb, caps.durableWrite, false, rb, false];
    for (let e = 0; e < 8; e++) this.cacheWriteValid[e] = table[e] ? 1 : 0;
    this.cacheFlushValid[0] = 1;
    this.cacheFlushValid[2] = 1;
    this.cacheFlushValid[1] = caps.cflushKeepLines && !caps.cacheControl3 ? 1 : 0;
  }

  /** Whether `opcode` writes memory (destination readback applies). */
  writesMemory(opcode: number): boolean {
    return this.rows[opcode * ROW_STRIDE + Col.WRITES] === 1;
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
