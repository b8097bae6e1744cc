/**
 * Descriptor checks #4–#14 of dsa-operations.md §5.1, in that order (checks #1–#3, which discard
 * the descriptor, are run by the engine before these). Driven by the compiled `OP_SPECS` rows.
 *
 * `checkDescriptor` is the hot entry: a fast pre-check (one masked compare against the opcode's
 * compiled row, `OpRow.fastMask`) proves checks #4 and #5 pass for the common flag patterns, the
 * conditional flag rules are evaluated only when a flag they concern is set, and check #7 tests
 * the row's per-word masks without a loop. Whatever the pre-check cannot prove goes to
 * `checkDescriptorFull`, the rule-by-rule checker, so the first failure, its status and the
 * Invalid Flags are always the full checker's (test/dsa/engine-fastpath.test.ts compares the two).
 */
import { CONDITIONAL_FLAGS, Operand, type OpRow, SUBMISSION_FLAGS, Special, cacheEncoding, cacheEncodingFlags } from './compiled-ops.js';
import { Desc } from '../spec/descriptor.js';
import { CACHE_CONTROL_FLAGS, DIF_BLOCK_SIZES, DIF_TUPLE_SIZE, Flag, OpFlag } from '../spec/flags.js';
import { type Frame, SLOT_STRIDE, SlotField } from './frame.js';
import { CacheRule, Len, SizeRule, Slot } from './op-table.js';
import { Status } from '../spec/status.js';

const TWO32 = 0x1_0000_0000;

// Module-local copies of the constants the hot path uses (V8 folds a module's own `const`
// bindings into optimized code but re-reads an imported binding at every use).
const { CRAV, RCI } = Flag;
const OPEN_FLAGS = SUBMISSION_FLAGS;
const { NOZERO_RESERVE, INT_HANDLE_INVAL: HANDLE_INVALID, XFER_ERANGE, OVERLAP_BUFFERS } = Status;
const CR_ADDR = Desc.CR_ADDR;
const NO_SIZE = SizeRule.NONE;
const TRANSFER_SIZE = SizeRule.TRANSFER;
const NO_SPECIAL = Special.NONE;
const { LO: SLOT_LO, HI: SLOT_HI, NUM: SLOT_NUM, LEN: SLOT_LEN } = SlotField;
const { SLOT: OPERAND_SLOT, LEN_SHIFT: OPERAND_LEN_SHIFT, FIELD_SHIFT: OPERAND_FIELD_SHIFT, WHEN: OPERAND_WHEN } = Operand;
/** 2^n for n < 64 (a table: `2 ** n` is a slow call in V8 hot code). */
const POW2 = Float64Array.from({ length: 64 }, (_, n) => 2 ** n);

function maxTransfer(f: Frame): number {
  const a = f.ctx.maxXferShift;
  const b = f.caps.maxTransferShift;
  return POW2[(a < b ? a : b) & 63] as number;
}

/** Check #5 for the conditionally valid flags; returns the offending bits. */
function conditionalFlags(f: Frame, flags: number): number {
  const ctx = f.ctx;
  let bad = 0;
  if ((flags & Flag.FENCE) !== 0 && !f.inBatch) bad |= Flag.FENCE;
  if ((flags & Flag.BOF) !== 0 && !(ctx.wqBlockOnFault && f.caps.blockOnFault)) bad |= Flag.BOF;
  if ((flags & Flag.CRAV) === 0) bad |= flags & (Flag.RCR | Flag.CR_TCS);
  if ((flags & Flag.RCI) !== 0 && !ctx.userInterruptsEnabled && ctx.pasidEnabled && !ctx.priv) bad |= Flag.RCI;
  return bad;
}

/** Check #5 for flags that need another flag and for cache-control encodings. */
function dependentFlags(f: Frame, flags: number, row: OpRow): number {
  const ops = f.ops;
  let bad = 0;
  for (let i = row.needsStart, e = row.needsEnd; i < e; i++) {
    const needy = ops.needsFlag[i]!;
    if ((flags & needy) !== 0 && (flags & ops.needsBits[i]!) === 0) bad |= needy;
  }
  const rule = row.cache;
  if ((flags & CACHE_CONTROL_FLAGS) !== 0 && rule !== CacheRule.NONE) {
    let e = cacheEncoding(flags);
    if ((e & 4) !== 0 && !f.caps.cacheControl3) e &= 3; // CC3 already reported as not allowed
    const valid = rule === CacheRule.CFLUSH ? ops.cacheFlushValid[e] : ops.cacheWriteValid[e];
    if (valid === 0) bad |= cacheEncodingFlags(e);
  }
  return bad;
}

/**
 * Runs checks #4–#14; returns 0 when the descriptor may execute, else the status code (and, for
 * 0x11, `f.invalidFlags`). Same result and side effects as `checkDescriptorFull`.
 */
export function checkDescriptor(f: Frame): number {
  const row = f.ops.rows[f.opcode]!;
  const flags = f.flags;
  // #4, #5: the pre-check, then the conditional rules; anything else is the full checker's.
  if ((flags & row.fastMask) !== row.fastWant || (f.inBatch === true && row.batchable === 0)) return checkDescriptorFull(f);
  if (((flags & OPEN_FLAGS) !== 0 || (flags & CRAV) === 0) && conditionalFlags(f, flags) !== 0) return checkDescriptorFull(f);

  // #6 interrupt handle
  if ((flags & RCI) !== 0 && !validateHandle(f)) return HANDLE_INVALID;

  // #7 reserved fields, word by word against the row's masks (DataView reads: one data pointer and
  // one bounds compare per word). Bytes 36–63 are always tested (every operation reserves 38–39);
  // bytes 16–35 only when the operation reserves some of them.
  const v = f.view;
  const o = f.base;
  let nz =
    (v.getInt32(o + 36, true) & row.m9) |
    (v.getInt32(o + 40, true) & row.m10) |
    (v.getInt32(o + 44, true) & row.m11) |
    (v.getInt32(o + 48, true) & row.m12) |
    (v.getInt32(o + 52, true) & row.m13) |
    (v.getInt32(o + 56, true) & row.m14) |
    (v.getInt32(o + 60, true) & row.m15);
  if (row.reservedLow !== 0) {
    nz |=
      (v.getInt32(o + 16, true) & row.m4) |
      (v.getInt32(o + 20, true) & row.m5) |
      (v.getInt32(o + 24, true) & row.m6) |
      (v.getInt32(o + 28, true) & row.m7) |
      (v.getInt32(o + 32, true) & row.m8);
  }
  if ((flags & CRAV) === 0) nz |= v.getInt32(o + CR_ADDR, true) | v.getInt32(o + CR_ADDR + 4, true);
  if ((flags & RCI) === 0) nz |= f.handle;
  if (row.condEnd !== row.condStart) nz |= conditionalReserved(f, row, flags);
  if (nz !== 0) return NOZERO_RESERVE;

  return checkOperands(f, row);
}

/**
 * Runs checks #4–#14 rule by rule in the order of §5.1 (the reference the fast path of
 * `checkDescriptor` agrees with); returns 0 when the descriptor may execute, else the status.
 */
export function checkDescriptorFull(f: Frame): number {
  const ops = f.ops;
  const row = ops.rows[f.opcode]!;
  const flags = f.flags;

  // #4 opcode
  if (row.enabled === 0 || (f.inBatch && row.batchable === 0)) return Status.BAD_OPCODE;

  // #5 flags
  let bad = flags & ~row.allowed;
  if ((flags & (Flag.FENCE | Flag.BOF | Flag.RCI)) !== 0 || ((flags & Flag.CRAV) === 0 && (flags & CONDITIONAL_FLAGS) !== 0)) {
    bad |= conditionalFlags(f, flags);
  }
  if ((flags & (row.needsAny | CACHE_CONTROL_FLAGS)) !== 0) bad |= dependentFlags(f, flags, row);
  bad |= row.required & ~flags;
  const any = row.requiredAny;
  if (any !== 0 && (flags & any) === 0) bad |= any;
  if (bad !== 0) {
    f.invalidFlags = bad;
    return Status.INVALID_FLAGS;
  }

  // #6 interrupt handle
  if ((flags & Flag.RCI) !== 0 && !validateHandle(f)) return Status.INT_HANDLE_INVAL;

  // #7 reserved fields
  const words = f.words;
  const wb = f.wbase;
  let nz = 0;
  for (let i = row.resStart, e = row.resEnd; i < e; i++) {
    nz |= words[wb + ops.reservedWord[i]!]! & ops.reservedMask[i]!;
  }
  nz |= conditionalReserved(f, row, flags);
  if ((flags & Flag.CRAV) === 0) nz |= words[wb + (Desc.CR_ADDR >> 2)]! | words[wb + (Desc.CR_ADDR >> 2) + 1]!;
  if ((flags & Flag.RCI) === 0) nz |= f.handle;
  if (nz !== 0) return Status.NOZERO_RESERVE;

  return checkOperands(f, row);
}

/** Check #6: asks the interrupt sink once and records the answer in `f.handleState`. */
function validateHandle(f: Frame): boolean {
  const ctx = f.ctx;
  f.epoch++;
  const ok = ctx.interrupts.validate(f.handle, ctx.ims, ctx.pasidEnabled, ctx.pasid);
  f.handleState = ok ? 1 : 2;
  return ok;
}

/** Check #7 for the conditionally reserved ranges: non-zero when a range not in use holds a non-zero bit. */
function conditionalReserved(f: Frame, row: OpRow, flags: number): number {
  const ops = f.ops;
  const words = f.words;
  const wb = f.wbase;
  let nz = 0;
  for (let i = row.condStart, e = row.condEnd; i < e; i++) {
    if ((flags & ops.condMask[i]!) !== ops.condValue[i]) nz |= words[wb + ops.condWord[i]!]! & ops.condBits[i]!;
  }
  return nz;
}

/**
 * Checks #8–#14 (after #4–#7 passed) and the decoding of the address operands. The common path
 * is written out in one piece, small enough to be inlined into `checkDescriptor`, so that its
 * speed does not depend on which small helpers the compiler chooses to inline.
 */
function checkOperands(f: Frame, row: OpRow): number {
  const flags = f.flags;

  // #8 transfer size: 1 ≤ size ≤ 2^min(WQ max_xfer_shift, GENCAP max transfer shift), then the
  // operation's own rule.
  const size = f.size;
  const rule = row.size;
  if (rule !== NO_SIZE) {
    const a = f.ctx.maxXferShift;
    const b = f.caps.maxTransferShift;
    if (size === 0 || size > POW2[(a < b ? a : b) & 63]! || (rule !== TRANSFER_SIZE && blockSize(f, rule, size) < 0)) return XFER_ERANGE;
  }

  // Decode the address operands (needed by #9–#14 and by the operation). The fault-info id is
  // looked up in the compiled row when a fault is recorded (`Frame.id`); buffer lengths are set
  // by `operandChecks` for an operation with an overlap rule (their only reader).
  const operands = f.ops.operands;
  const v = f.view;
  const o = f.base;
  const slots = f.slots;
  let present = 0;
  for (let i = row.operandStart, e = row.operandEnd; i < e; i++) {
    const p = operands[i]!;
    const when = p & OPERAND_WHEN;
    if (when !== 0 && (flags & when) === 0) continue;
    const slot = p & OPERAND_SLOT;
    const field = o + ((p >>> OPERAND_FIELD_SHIFT) & 63);
    const lo = v.getUint32(field, true);
    const hi = v.getUint32(field + 4, true);
    const at = slot * SLOT_STRIDE;
    slots[at + SLOT_LO] = lo;
    slots[at + SLOT_HI] = hi;
    slots[at + SLOT_NUM] = hi < 0x200000 ? hi * TWO32 + lo : -1;
    present |= 1 << slot;
  }
  f.present = present;
  return row.special === NO_SPECIAL && row.overlapEnd === row.overlapStart ? 0 : operandChecks(f, row, size);
}

/**
 * Check #8 beyond the common range: the delta limit, or a whole number of DIF blocks. Returns the
 * DIF block size (0 for other operations), or -1 when the size is out of range.
 */
function blockSize(f: Frame, rule: number, size: number): number {
  if (rule === SizeRule.DELTA) return size > 0x80000 ? -1 : 0;
  if (rule === SizeRule.DIF_PLAIN || rule === SizeRule.DIF_PROTECTED) {
    const bs = DIF_BLOCK_SIZES[f.u8(Desc.DIF_FLAGS) & 3]!;
    return size % (rule === SizeRule.DIF_PLAIN ? bs : bs + DIF_TUPLE_SIZE) !== 0 ? -1 : bs;
  }
  return 0;
}

/** Checks #9–#13 (the operation's special group) and #14 (overlap) on the decoded operands. */
function operandChecks(f: Frame, row: OpRow, size: number): number {
  const special = row.special;
  if (special !== NO_SPECIAL) {
    const st = specialChecks(f, special, size);
    if (st !== 0) return st;
  }
  if (row.overlapEnd === row.overlapStart) return 0;
  // Buffer lengths of the operands present (§5.5), then the pairs.
  const ops = f.ops;
  const bs = row.size === NO_SIZE || row.size === TRANSFER_SIZE ? 0 : blockSize(f, row.size, size);
  for (let i = row.operandStart, e = row.operandEnd; i < e; i++) {
    const p = ops.operands[i]!;
    const when = p & OPERAND_WHEN;
    if (when !== 0 && (f.flags & when) === 0) continue;
    f.slots[(p & OPERAND_SLOT) * SLOT_STRIDE + SLOT_LEN] = operandLength(f, (p >>> OPERAND_LEN_SHIFT) & 7, bs);
  }
  for (let i = row.overlapStart, e = row.overlapEnd; i < e; i++) {
    if (overlap(f, ops.overlapA[i]!, ops.overlapB[i]!)) return OVERLAP_BUFFERS;
  }
  return 0;
}

/** Checks #9 (list alignment), #10 (batch count), #11 (delta sizes), #12 (alignment), #13 (dualcast). */
function specialChecks(f: Frame, special: number, size: number): number {
  const ctx = f.ctx;
  const caps = f.caps;
  switch (special) {
    case Special.BATCH: {
      if ((f.lo(Slot.A) & 63) !== 0) return Status.DESCLIST_ALIGN;
      const maxBatch = POW2[Math.min(ctx.maxBatchShift, caps.maxBatchShift) & 63]!;
      if (size === 0 || (size === 1 && !caps.batch1) || size > maxBatch) return Status.DESC_CNT_ERANGE;
      return 0;
    }
    case Special.CR_DELTA: {
      const max = f.u32(Desc.MAX_DELTA_SIZE);
      if (max < 80 || max > maxTransfer(f)) return Status.DR_ERANGE;
      if (((f.lo(Slot.A) | f.lo(Slot.B) | size) & 7) !== 0) return Status.ADDR_ALIGN;
      return 0;
    }
    case Special.AP_DELTA: {
      const rs = f.u32(Desc.DELTA_SIZE);
      if (rs < 10 || rs > maxTransfer(f) || rs % 10 !== 0) return Status.DR_ERANGE;
      if (((f.lo(Slot.B) | size) & 7) !== 0) return Status.ADDR_ALIGN;
      return 0;
    }
    case Special.CRC:
      if ((f.flags & OpFlag.CRC_SEED_ADDR) !== 0 && (f.lo(Slot.D) & ((f.flags & OpFlag.CRC64) !== 0 ? 7 : 3)) !== 0) {
        return Status.ADDR_ALIGN;
      }
      return 0;
    case Special.DUALCAST:
      return ((f.lo(Slot.B) ^ f.lo(Slot.C)) & 0xfff) !== 0 ? Status.DCAST_ERR : 0;
    default:
      return 0;
  }
}

function operandLength(f: Frame, kind: number, bs: number): number {
  switch (kind) {
    case Len.TRANSFER:
      return f.size;
    case Len.MAX_DELTA:
      return f.u32(Desc.MAX_DELTA_SIZE);
    case Len.DELTA:
      return f.u32(Desc.DELTA_SIZE);
    case Len.DIF_EXPANDED:
      return bs === 0 ? 0 : (f.size / bs) * (bs + DIF_TUPLE_SIZE);
    case Len.DIF_STRIPPED:
      return bs === 0 ? 0 : (f.size / (bs + DIF_TUPLE_SIZE)) * bs;
    case Len.SEED:
      return (f.flags & OpFlag.CRC64) !== 0 ? 8 : 4;
    case Len.LIST:
      return f.size * 64;
    default:
      return 0;
  }
}

/** True when the buffers of slots `a` and `b` share at least one byte (exact for 64-bit addresses). */
export function overlap(f: Frame, a: number, b: number): boolean {
  const la = f.len(a);
  const lb = f.len(b);
  if (la === 0 || lb === 0) return false;
  const d = (f.hi(b) - f.hi(a)) * TWO32 + (f.lo(b) - f.lo(a));
  return d < la && -d < lb;
}
