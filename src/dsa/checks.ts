/**
 * Descriptor checks #4–#14 of dsa-operations.md §5.1, in that order (checks #1–#3, which discard
 * the descriptor, are run by the engine before these). Driven by the compiled `OP_SPECS` rows.
 */
import { CONDITIONAL_FLAGS, Col, ROW_STRIDE, Special, cacheEncoding, cacheEncodingFlags } from './compiled-ops.js';
import { Desc } from './descriptor.js';
import { CACHE_CONTROL_FLAGS, DIF_BLOCK_SIZES, DIF_TUPLE_SIZE, Flag, OpFlag } from './flags.js';
import type { Frame } from './frame.js';
import { CacheRule, Len, SizeRule, SLOT_OFFSETS, Slot } from './op-table.js';
import { Status } from './status.js';

const TWO32 = 0x1_0000_0000;
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
function dependentFlags(f: Frame, flags: number, row: number): number {
  const ops = f.ops;
  const rows = ops.rows;
  let bad = 0;
  for (let i = rows[row + Col.NEEDS_START]!, e = rows[row + Col.NEEDS_END]!; i < e; i++) {
    const needy = ops.needsFlag[i]!;
    if ((flags & needy) !== 0 && (flags & ops.needsBits[i]!) === 0) bad |= needy;
  }
  const rule = rows[row + Col.CACHE]!;
  if ((flags & CACHE_CONTROL_FLAGS) !== 0 && rule !== CacheRule.NONE) {
    let e = cacheEncoding(flags);
    if ((e & 4) !== 0 && !f.caps.cacheControl3) e &= 3; // CC3 already reported as not allowed
    const valid = rule === CacheRule.CFLUSH ? ops.cacheFlushValid[e] : ops.cacheWriteValid[e];
    if (valid === 0) bad |= cacheEncodingFlags(e);
  }
  return bad;
}

/** Runs checks #4–#14; returns 0 when the descriptor may execute, else the status code. */
export function checkDescriptor(f: Frame): number {
  const ops = f.ops;
  const rows = ops.rows;
  const op = f.opcode;
  const row = op * ROW_STRIDE;
  const flags = f.flags;

  // #4 opcode
  if (rows[row + Col.ENABLED] === 0 || (f.inBatch && rows[row + Col.BATCHABLE] === 0)) return Status.BAD_OPCODE;

  // #5 flags
  let bad = flags & ~rows[row + Col.ALLOWED]!;
  if ((flags & (Flag.FENCE | Flag.BOF | Flag.RCI)) !== 0 || ((flags & Flag.CRAV) === 0 && (flags & CONDITIONAL_FLAGS) !== 0)) {
    bad |= conditionalFlags(f, flags);
  }
  if ((flags & (rows[row + Col.NEEDS_ANY]! | CACHE_CONTROL_FLAGS)) !== 0) bad |= dependentFlags(f, flags, row);
  bad |= rows[row + Col.REQUIRED]! & ~flags;
  const any = rows[row + Col.REQUIRED_ANY]!;
  if (any !== 0 && (flags & any) === 0) bad |= any;
  if (bad !== 0) {
    f.invalidFlags = bad;
    return Status.INVALID_FLAGS;
  }

  // #6 interrupt handle
  if ((flags & Flag.RCI) !== 0) {
    const ctx = f.ctx;
    f.epoch++;
    const ok = ctx.interrupts.validate(f.handle, ctx.ims, ctx.pasidEnabled, ctx.pasid);
    f.handleState = ok ? 1 : 2;
    if (!ok) return Status.INT_HANDLE_INVAL;
  }

  // #7 reserved fields
  const words = f.words;
  const wb = f.wbase;
  let nz = 0;
  for (let i = rows[row + Col.RES_START]!, e = rows[row + Col.RES_END]!; i < e; i++) {
    nz |= words[wb + ops.reservedWord[i]!]! & ops.reservedMask[i]!;
  }
  for (let i = rows[row + Col.COND_START]!, e = rows[row + Col.COND_END]!; i < e; i++) {
    if ((flags & ops.condMask[i]!) !== ops.condValue[i]) nz |= words[wb + ops.condWord[i]!]! & ops.condBits[i]!;
  }
  if ((flags & Flag.CRAV) === 0) nz |= words[wb + (Desc.CR_ADDR >> 2)]! | words[wb + (Desc.CR_ADDR >> 2) + 1]!;
  if ((flags & Flag.RCI) === 0) nz |= f.handle;
  if (nz !== 0) return Status.NOZERO_RESERVE;

  // #8 transfer size
  const size = f.size;
  const sizeRule = rows[row + Col.SIZE]!;
  let bs = 0;
  if (sizeRule !== SizeRule.NONE) {
    if (size === 0 || size > maxTransfer(f)) return Status.XFER_ERANGE;
    if (sizeRule === SizeRule.DELTA) {
      if (size > 0x80000) return Status.XFER_ERANGE;
    } else if (sizeRule === SizeRule.DIF_PLAIN || sizeRule === SizeRule.DIF_PROTECTED) {
      bs = DIF_BLOCK_SIZES[f.u8(Desc.DIF_FLAGS) & 3]!;
      if (size % (sizeRule === SizeRule.DIF_PLAIN ? bs : bs + DIF_TUPLE_SIZE) !== 0) return Status.XFER_ERANGE;
    }
  }

  // Decode the address operands (needed by #9–#14 and by the operation); lengths only for #14.
  const hasOverlapRule = rows[row + Col.OVERLAP_END]! > rows[row + Col.OVERLAP_START]!;
  for (let i = rows[row + Col.OPERAND_START]!, e = rows[row + Col.OPERAND_END]!; i < e; i++) {
    const when = ops.operandWhen[i]!;
    if (when !== 0 && (flags & when) === 0) continue;
    const slot = ops.operandSlot[i]!;
    f.setSlot(slot, SLOT_OFFSETS[slot]!);
    f.id[slot] = ops.operandId[i]!;
    f.len[slot] = hasOverlapRule ? operandLength(f, ops.operandLen[i]!, bs) : 0;
  }

  // #9–#13
  const special = rows[row + Col.SPECIAL]!;
  if (special !== Special.NONE) {
    const st = specialChecks(f, special, size);
    if (st !== 0) return st;
  }

  // #14 overlap
  for (let i = rows[row + Col.OVERLAP_START]!, e = rows[row + Col.OVERLAP_END]!; i < e; i++) {
    if (overlap(f, ops.overlapA[i]!, ops.overlapB[i]!)) return Status.OVERLAP_BUFFERS;
  }
  return 0;
}

/** Checks #9 (list alignment), #10 (batch count), #11 (delta sizes), #12 (alignment), #13 (dualcast). */
function specialChecks(f: Frame, special: number, size: number): number {
  const ctx = f.ctx;
  const caps = f.caps;
  switch (special) {
    case Special.BATCH: {
      if ((f.lo[Slot.A]! & 63) !== 0) return Status.DESCLIST_ALIGN;
      const maxBatch = POW2[Math.min(ctx.maxBatchShift, caps.maxBatchShift) & 63]!;
      if (size === 0 || (size === 1 && !caps.batch1) || size > maxBatch) return Status.DESC_CNT_ERANGE;
      return 0;
    }
    case Special.CR_DELTA: {
      const max = f.u32(Desc.MAX_DELTA_SIZE);
      if (max < 80 || max > maxTransfer(f)) return Status.DR_ERANGE;
      if (((f.lo[Slot.A]! | f.lo[Slot.B]! | size) & 7) !== 0) return Status.ADDR_ALIGN;
      return 0;
    }
    case Special.AP_DELTA: {
      const rs = f.u32(Desc.DELTA_SIZE);
      if (rs < 10 || rs > maxTransfer(f) || rs % 10 !== 0) return Status.DR_ERANGE;
      if (((f.lo[Slot.B]! | size) & 7) !== 0) return Status.ADDR_ALIGN;
      return 0;
    }
    case Special.CRC:
      if ((f.flags & OpFlag.CRC_SEED_ADDR) !== 0 && (f.lo[Slot.D]! & ((f.flags & OpFlag.CRC64) !== 0 ? 7 : 3)) !== 0) {
        return Status.ADDR_ALIGN;
      }
      return 0;
    case Special.DUALCAST:
      return ((f.lo[Slot.B]! ^ f.lo[Slot.C]!) & 0xfff) !== 0 ? Status.DCAST_ERR : 0;
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
  const la = f.len[a]!;
  const lb = f.len[b]!;
  if (la === 0 || lb === 0) return false;
  const d = (f.hi[b]! - f.hi[a]!) * TWO32 + (f.lo[b]! - f.lo[a]!);
  return d < la && -d < lb;
}
