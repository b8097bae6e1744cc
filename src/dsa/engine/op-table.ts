/**
 * The per-operation rule table (dsa-operations.md §1.2, §2.2, §5.2–§5.5): one declarative entry per
 * DSA 1.0 opcode. The engine compiles it once per capability set; no rule lives in a switch.
 */
import { OperandId } from '../spec/completion-record.js';
import { DifFlag, DstDifFlag, Flag, OpFlag } from '../spec/flags.js';
import { Opcode } from '../spec/opcodes.js';

/** Capability items that gate an operation-specific flag. */
export type FlagGate = 'batchContinuation' | 'drainReadback' | 'fill16' | 'crc64';

/** Address slots: the descriptor's four possible address fields. */
export const Slot = {
  /** Bytes 16–23. */
  A: 0,
  /** Bytes 24–31. */
  B: 1,
  /** Bytes 40–47. */
  C: 2,
  /** Bytes 48–55. */
  D: 3,
} as const;

/** Descriptor byte offset of each address slot. */
export const SLOT_OFFSETS: readonly number[] = [16, 24, 40, 48];

/** How long an operand's buffer is (for the overlap check of §5.5). */
export const Len = {
  /** The transfer size (bytes 32–35). */
  TRANSFER: 0,
  /** CR_DELTA maximum delta record size (bytes 48–51). */
  MAX_DELTA: 1,
  /** AP_DELTA delta record size (bytes 40–43). */
  DELTA: 2,
  /** DIF_INS output: (BS + 8) · N. */
  DIF_EXPANDED: 3,
  /** DIF_STRP output: BS · N. */
  DIF_STRIPPED: 4,
  /** CRC seed: 4 bytes (8 with CRC64). */
  SEED: 5,
  /** BATCH list: 64 · count. */
  LIST: 6,
  /** Drain readback: a zero-length read. */
  ZERO: 7,
} as const;

/** One address operand of an operation. */
export interface OperandSpec {
  /** Address slot. */
  readonly slot: number;
  /** Written (else read). */
  readonly write: boolean;
  /** Length kind (`Len`). */
  readonly length: number;
  /** Operand id for fault info (`OperandId`). */
  readonly id: number;
  /** Present only when this op flag is set (0: always). */
  readonly when: number;
}

/** Transfer-size rule of check #8. */
export const SizeRule = {
  /** No transfer size. */
  NONE: 0,
  /** 1 ≤ size ≤ 2^max_xfer_shift. */
  TRANSFER: 1,
  /** Also ≤ 0x80000 (delta operations). */
  DELTA: 2,
  /** Also a whole number of BS-byte blocks (DIF_INS). */
  DIF_PLAIN: 3,
  /** Also a whole number of (BS + 8)-byte blocks (DIF_CHECK, STRP, UPDT). */
  DIF_PROTECTED: 4,
} as const;

/** Cache-control rule (§2.3). */
export const CacheRule = {
  /** All cache-control bits reserved. */
  NONE: 0,
  /** The encodings of §2.3 for a memory-writing operation. */
  WRITE: 1,
  /** CFLUSH encodings. */
  CFLUSH: 2,
} as const;

/** Inclusive byte range `[from, to]` that must be zero. */
export type ByteRange = readonly [from: number, to: number];

/** Bytes reserved unless `(flags & mask) === value`. */
export interface ConditionalReserve {
  /** First byte. */
  readonly from: number;
  /** Last byte (inclusive). */
  readonly to: number;
  /** Flag mask of the condition. */
  readonly mask: number;
  /** The bytes are in use when the masked flags equal this. */
  readonly value: number;
}

/** Reserved bits inside a byte. */
export interface ReservedBits {
  /** Byte offset. */
  readonly byte: number;
  /** Bits that must be zero. */
  readonly bits: number;
}

/** The rules of one operation. */
export interface OpSpec {
  /** Opcode. */
  readonly opcode: number;
  /** Name. */
  readonly name: string;
  /** Allowed generic flags among BOF, CHECK_RESULT, STRICT_ORDER, ADDR1/2/3_TCS (§5.3). */
  readonly allowed: number;
  /** Cache-control rule. */
  readonly cache: number;
  /** Allowed operation-specific flags with their capability gate (null: always). */
  readonly opFlags: readonly { readonly flag: number; readonly gate: FlagGate | null }[];
  /** Flags that are only valid together with another flag (§2.1, e.g. A1 TCS on DRAIN needs op flag 16). */
  readonly flagNeeds: readonly { readonly flag: number; readonly needs: number }[];
  /** Every one of these flags must be set (§5.2). */
  readonly required: number;
  /** At least one of these flags must be set (§5.2; 0 = no rule). */
  readonly requiredAny: number;
  /** Reserved byte ranges (§5.4), besides 8–15 without CRAV and 36–37 without RCI. */
  readonly reserved: readonly ByteRange[];
  /** Conditionally reserved ranges. */
  readonly reservedUnless: readonly ConditionalReserve[];
  /** Reserved bits inside used bytes. */
  readonly reservedBits: readonly ReservedBits[];
  /** Transfer-size rule (check #8). */
  readonly size: number;
  /** Address operands, sources first (§6.1 translation order). */
  readonly operands: readonly OperandSpec[];
  /** Pairs of slots that must not overlap (check #14, §5.5). */
  readonly overlaps: readonly (readonly [number, number])[];
  /** A capability that lifts the overlap rule (MEMMOVE with overlapping-copy support). */
  readonly overlapGate?: 'overlapCopy';
  /** The operation writes memory (destination readback applies). */
  readonly writesMemory: boolean;
  /** The operation may be an element of a batch. */
  readonly batchable: boolean;
}

const { BOF, CHECK_RESULT: CHK, STRICT_ORDER: SO, ADDR1_TCS: A1, ADDR2_TCS: A2, ADDR3_TCS: A3, CRAV, RCR, RCI } = Flag;
const { A, B, C, D } = Slot;

function op(slot: number, when: number, write: boolean, length: number, id: number): OperandSpec {
  return { slot, write, length, id, when };
}
const src = (slot: number, length: number = Len.TRANSFER, id: number = OperandId.SRC1): OperandSpec => op(slot, 0, false, length, id);
const dst = (slot: number, length: number = Len.TRANSFER, id: number = OperandId.DST1): OperandSpec => op(slot, 0, true, length, id);

const CRC_FLAGS = [
  { flag: OpFlag.CRC_SEED_ADDR, gate: null },
  { flag: OpFlag.CRC_BYPASS_INVERSION, gate: null },
  { flag: OpFlag.CRC_BYPASS_DATA_REFLECTION, gate: null },
  { flag: OpFlag.CRC64, gate: 'crc64' as const },
];
const CRC_RESERVED_UNLESS: readonly ConditionalReserve[] = [
  // Seed field (40–43) unused when the seed comes from memory.
  { from: 40, to: 43, mask: OpFlag.CRC_SEED_ADDR, value: 0 },
  // Seed address (48–55) only with op flag 16.
  { from: 48, to: 55, mask: OpFlag.CRC_SEED_ADDR, value: OpFlag.CRC_SEED_ADDR },
  // Seed upper half (44–47) only for a CRC-64 seed given in the descriptor.
  { from: 44, to: 47, mask: OpFlag.CRC_SEED_ADDR | OpFlag.CRC64, value: OpFlag.CRC64 },
];
const SEED_OPERAND = op(D, OpFlag.CRC_SEED_ADDR, false, Len.SEED, OperandId.SRC2);
const DIF_FLAG_BITS: ReservedBits = { byte: 42, bits: DifFlag.RESERVED };
const DST_DIF_BITS: ReservedBits = { byte: 41, bits: DstDifFlag.RESERVED };

const base = {
  allowed: 0,
  cache: CacheRule.NONE,
  opFlags: [],
  flagNeeds: [],
  required: 0,
  requiredAny: 0,
  reservedUnless: [],
  reservedBits: [],
  size: SizeRule.TRANSFER,
  operands: [],
  overlaps: [],
  writesMemory: false,
  batchable: true,
} as const;

/** The DSA 1.0 operations. */
export const OP_SPECS: readonly OpSpec[] = [
  { ...base, opcode: Opcode.NOOP, name: 'NOOP', size: SizeRule.NONE, reserved: [[16, 35], [38, 63]] },
  {
    ...base, opcode: Opcode.BATCH, name: 'BATCH', allowed: A1, batchable: false, size: SizeRule.NONE,
    opFlags: [{ flag: OpFlag.BATCH_ERROR, gate: 'batchContinuation' }],
    reserved: [[24, 31], [38, 63]],
    operands: [src(A, Len.LIST)],
  },
  {
    ...base, opcode: Opcode.DRAIN, name: 'DRAIN', allowed: A1 | A2, batchable: false, size: SizeRule.NONE,
    opFlags: [
      { flag: OpFlag.DRAIN_READBACK1, gate: 'drainReadback' },
      { flag: OpFlag.DRAIN_READBACK2, gate: 'drainReadback' },
      { flag: OpFlag.DRAIN_SUPPRESS_TCA, gate: null },
      { flag: OpFlag.DRAIN_SUPPRESS_TCB, gate: null },
    ],
    flagNeeds: [{ flag: A1, needs: OpFlag.DRAIN_READBACK1 }, { flag: A2, needs: OpFlag.DRAIN_READBACK2 }],
    requiredAny: RCR | RCI,
    reserved: [[32, 35], [38, 63]],
    reservedUnless: [
      { from: 16, to: 23, mask: OpFlag.DRAIN_READBACK1, value: OpFlag.DRAIN_READBACK1 },
      { from: 24, to: 31, mask: OpFlag.DRAIN_READBACK2, value: OpFlag.DRAIN_READBACK2 },
    ],
    operands: [
      op(A, OpFlag.DRAIN_READBACK1, false, Len.ZERO, OperandId.SRC1),
      op(B, OpFlag.DRAIN_READBACK2, false, Len.ZERO, OperandId.SRC2),
    ],
  },
  {
    ...base, opcode: Opcode.MEMMOVE, name: 'MEMMOVE', allowed: BOF | SO | A1 | A2, cache: CacheRule.WRITE,
    reserved: [[38, 63]], operands: [src(A), dst(B)], overlaps: [[A, B]], overlapGate: 'overlapCopy', writesMemory: true,
  },
  {
    ...base, opcode: Opcode.FILL, name: 'FILL', allowed: BOF | SO | A2, cache: CacheRule.WRITE,
    opFlags: [{ flag: OpFlag.FILL_PATTERN16, gate: 'fill16' }],
    reserved: [[38, 39], [48, 63]],
    reservedUnless: [{ from: 40, to: 47, mask: OpFlag.FILL_PATTERN16, value: OpFlag.FILL_PATTERN16 }],
    operands: [dst(B)], writesMemory: true,
  },
  {
    ...base, opcode: Opcode.COMPARE, name: 'COMPARE', allowed: BOF | CHK | A1 | A2, required: CRAV | RCR,
    reserved: [[38, 39], [41, 63]], operands: [src(A), src(B, Len.TRANSFER, OperandId.SRC2)],
  },
  {
    ...base, opcode: Opcode.COMPVAL, name: 'COMPVAL', allowed: BOF | CHK | A1, required: CRAV | RCR,
    reserved: [[38, 39], [41, 63]], operands: [src(A)],
  },
  {
    ...base, opcode: Opcode.CR_DELTA, name: 'CR_DELTA', allowed: BOF | CHK | SO | A1 | A2 | A3,
    cache: CacheRule.WRITE, required: CRAV | RCR, size: SizeRule.DELTA,
    reserved: [[38, 39], [52, 55], [57, 63]],
    operands: [src(A), src(B, Len.TRANSFER, OperandId.SRC2), dst(C, Len.MAX_DELTA, OperandId.DST1)],
    overlaps: [[C, A], [C, B]], writesMemory: true,
  },
  {
    ...base, opcode: Opcode.AP_DELTA, name: 'AP_DELTA', allowed: BOF | SO | A1 | A2, cache: CacheRule.WRITE,
    size: SizeRule.DELTA, reserved: [[38, 39], [44, 63]],
    operands: [src(A, Len.DELTA), dst(B)], overlaps: [[A, B]], writesMemory: true,
  },
  {
    ...base, opcode: Opcode.DUALCAST, name: 'DUALCAST', allowed: BOF | SO | A1 | A2 | A3, cache: CacheRule.WRITE,
    reserved: [[38, 39], [48, 63]],
    operands: [src(A), dst(B), dst(C, Len.TRANSFER, OperandId.DST2)],
    overlaps: [[A, B], [A, C], [B, C]], writesMemory: true,
  },
  {
    ...base, opcode: Opcode.CRCGEN, name: 'CRCGEN', allowed: BOF | A1 | A3, required: CRAV | RCR,
    opFlags: CRC_FLAGS, flagNeeds: [{ flag: A3, needs: OpFlag.CRC_SEED_ADDR }],
    reserved: [[24, 31], [38, 39], [56, 63]], reservedUnless: CRC_RESERVED_UNLESS,
    operands: [src(A), SEED_OPERAND],
  },
  {
    ...base, opcode: Opcode.COPY_CRC, name: 'COPY_CRC', allowed: BOF | SO | A1 | A2 | A3, cache: CacheRule.WRITE,
    required: CRAV | RCR, opFlags: CRC_FLAGS, flagNeeds: [{ flag: A3, needs: OpFlag.CRC_SEED_ADDR }],
    reserved: [[38, 39], [56, 63]], reservedUnless: CRC_RESERVED_UNLESS,
    operands: [src(A), SEED_OPERAND, dst(B)], overlaps: [[A, B]], writesMemory: true,
  },
  {
    ...base, opcode: Opcode.DIF_CHECK, name: 'DIF_CHECK', allowed: BOF | A1, required: CRAV | RCR,
    size: SizeRule.DIF_PROTECTED, reserved: [[24, 31], [38, 39], [41, 41], [43, 47], [56, 63]],
    reservedBits: [DIF_FLAG_BITS], operands: [src(A)],
  },
  {
    ...base, opcode: Opcode.DIF_INS, name: 'DIF_INS', allowed: BOF | SO | A1 | A2, cache: CacheRule.WRITE,
    size: SizeRule.DIF_PLAIN, reserved: [[38, 40], [43, 55]], reservedBits: [DIF_FLAG_BITS, DST_DIF_BITS],
    operands: [src(A), dst(B, Len.DIF_EXPANDED)], overlaps: [[A, B]], writesMemory: true,
  },
  {
    ...base, opcode: Opcode.DIF_STRP, name: 'DIF_STRP', allowed: BOF | SO | A1 | A2, cache: CacheRule.WRITE,
    size: SizeRule.DIF_PROTECTED, reserved: [[38, 39], [41, 41], [43, 47], [56, 63]], reservedBits: [DIF_FLAG_BITS],
    operands: [src(A), dst(B, Len.DIF_STRIPPED)], overlaps: [[A, B]], writesMemory: true,
  },
  {
    ...base, opcode: Opcode.DIF_UPDT, name: 'DIF_UPDT', allowed: BOF | SO | A1 | A2, cache: CacheRule.WRITE,
    size: SizeRule.DIF_PROTECTED, reserved: [[38, 39], [43, 47]], reservedBits: [DIF_FLAG_BITS, DST_DIF_BITS],
    operands: [src(A), dst(B)], overlaps: [[A, B]], writesMemory: true,
  },
  {
    ...base, opcode: Opcode.CFLUSH, name: 'CFLUSH', allowed: BOF | SO | A2, cache: CacheRule.CFLUSH,
    reserved: [[16, 23], [38, 63]], operands: [op(B, 0, false, Len.TRANSFER, OperandId.DST1)],
  },
];

/** The rule entry of `opcode`, or undefined for an opcode the model does not implement. */
export function opSpec(opcode: number): OpSpec | undefined {
  return OP_SPECS.find((s) => s.opcode === opcode);
}
