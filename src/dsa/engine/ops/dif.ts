/**
 * DIF_CHECK (§7.14), DIF_INS (§7.15), DIF_STRP (§7.16), DIF_UPDT (§7.17) with the common rules of
 * §7.13. Whole blocks only: a block's source and destination are translated completely before any
 * of it is processed. Blocks that lie inside one run of each operand are processed in place;
 * a block that straddles runs is gathered into a scratch buffer and scattered back.
 */
import { copyBytes } from '../../../memory/index.js';
import { Cr } from '../../spec/completion-record.js';
import { crc16T10DifUpdate } from '../crc16.js';
import { Desc } from '../../spec/descriptor.js';
import { DIF_BLOCK_SIZES, DIF_TUPLE_SIZE, DifFlag, DifStatus, DstDifFlag, SrcDifFlag } from '../../spec/flags.js';
import { type Frame, FaultMode, PAGE_REQUEST_ROUNDS } from '../frame.js';
import { Slot } from '../op-table.js';
import { Status } from '../../spec/status.js';
import type { DifParams } from './dif-params.js';

/** DIF operation kinds. */
export const DifKind = {
  /** DIF_CHECK. */
  CHECK: 0,
  /** DIF_INS. */
  INSERT: 1,
  /** DIF_STRP. */
  STRIP: 2,
  /** DIF_UPDT. */
  UPDATE: 3,
} as const;

function srcRefAt(p: DifParams, i: number): number {
  return (p.srcFlags & SrcDifFlag.REF_FIXED) !== 0 ? p.srcRef : (p.srcRef + i) >>> 0;
}
function srcAppAt(p: DifParams, i: number): number {
  return (p.srcFlags & SrcDifFlag.APP_INCREMENT) !== 0 ? (p.srcApp + i) & 0xffff : p.srcApp;
}
function dstRefAt(p: DifParams, i: number): number {
  return (p.dstFlags & DstDifFlag.REF_FIXED) !== 0 ? p.dstRef : (p.dstRef + i) >>> 0;
}
function dstAppAt(p: DifParams, i: number): number {
  return (p.dstFlags & DstDifFlag.APP_INCREMENT) !== 0 ? (p.dstApp + i) & 0xffff : p.dstApp;
}

function guardOf(p: DifParams, bytes: Uint8Array, off: number): number {
  return crc16T10DifUpdate(p.guardInit, bytes, off, p.bs) ^ p.guardXor;
}

/** Checks the source block at `off` (data then tuple) as block `i`; returns the DIF status (0 = pass or skipped). */
function checkBlock(p: DifParams, bytes: Uint8Array, off: number, i: number): number {
  const t = off + p.bs;
  const g = ((bytes[t] as number) << 8) | (bytes[t + 1] as number);
  const a = ((bytes[t + 2] as number) << 8) | (bytes[t + 3] as number);
  const r = (((bytes[t + 4] as number) << 24) | ((bytes[t + 5] as number) << 16) | ((bytes[t + 6] as number) << 8) | (bytes[t + 7] as number)) >>> 0;
  p.tupleGuard = g;
  p.tupleApp = a;
  p.tupleRef = r;
  p.computedGuard = -1;
  const sf = p.srcFlags;
  const appF = a === 0xffff;
  const refF = r === 0xffffffff;
  if ((sf & SrcDifFlag.ALL_F_DETECT) !== 0 && appF && refF && g === 0xffff) {
    return (sf & SrcDifFlag.ALL_F_DETECT_ERROR) !== 0 ? DifStatus.ALL_F : 0;
  }
  if ((sf & SrcDifFlag.APP_REF_F_DETECT) !== 0 && appF && refF) return 0;
  if ((sf & SrcDifFlag.APP_F_DETECT) !== 0 && appF) return 0;
  let st = 0;
  if ((sf & SrcDifFlag.GUARD_CHECK_DISABLE) === 0) {
    const c = guardOf(p, bytes, off);
    p.computedGuard = c;
    if (c !== g) st |= DifStatus.GUARD;
  }
  if (p.srcMask !== 0xffff && ((a ^ srcAppAt(p, i)) & ~p.srcMask & 0xffff) !== 0) st |= DifStatus.APP_TAG;
  if ((sf & SrcDifFlag.REF_CHECK_DISABLE) === 0 && r !== srcRefAt(p, i)) st |= DifStatus.REF_TAG;
  return st;
}

function writeTuple(bytes: Uint8Array, t: number, g: number, a: number, r: number): void {
  bytes[t] = g >>> 8;
  bytes[t + 1] = g & 0xff;
  bytes[t + 2] = a >>> 8;
  bytes[t + 3] = a & 0xff;
  bytes[t + 4] = r >>> 24;
  bytes[t + 5] = (r >>> 16) & 0xff;
  bytes[t + 6] = (r >>> 8) & 0xff;
  bytes[t + 7] = r & 0xff;
}

/** Processes block `i` from `sb[so..]` to `db[dof..]`; returns the DIF status (0 = done). */
function processBlock(p: DifParams, kind: number, i: number, sb: Uint8Array, so: number, db: Uint8Array, dof: number): number {
  const bs = p.bs;
  if (kind === DifKind.INSERT) {
    copyBytes(sb, so, db, dof, bs);
    writeTuple(db, dof + bs, guardOf(p, sb, so), dstAppAt(p, i) & ~p.dstMask & 0xffff, dstRefAt(p, i));
    return 0;
  }
  const st = checkBlock(p, sb, so, i);
  if (st !== 0 || kind === DifKind.CHECK) return st;
  copyBytes(sb, so, db, dof, bs);
  if (kind === DifKind.UPDATE) {
    const df = p.dstFlags;
    const g =
      (df & DstDifFlag.GUARD_PASS_THROUGH) !== 0 ? p.tupleGuard : p.computedGuard >= 0 ? p.computedGuard : guardOf(p, sb, so);
    const a = (df & DstDifFlag.APP_PASS_THROUGH) !== 0 ? p.tupleApp : dstAppAt(p, i) & ~p.dstMask & 0xffff;
    const r = (df & DstDifFlag.REF_PASS_THROUGH) !== 0 ? p.tupleRef : dstRefAt(p, i);
    writeTuple(db, dof + bs, g, a, r);
  }
  return 0;
}

/** CR tag fields for block `m` (the first unfinished block, or N after success). */
function writeTags(f: Frame, kind: number, m: number): void {
  const p = f.dif;
  const v = f.crView;
  if (kind !== DifKind.INSERT) {
    v.setUint32(Cr.SRC_REF_TAG, srcRefAt(p, m), true);
    v.setUint16(Cr.SRC_APP_MASK, p.srcMask, true);
    v.setUint16(Cr.SRC_APP_TAG, srcAppAt(p, m), true);
  }
  if (kind === DifKind.INSERT || kind === DifKind.UPDATE) {
    v.setUint32(Cr.DST_REF_TAG, dstRefAt(p, m), true);
    v.setUint16(Cr.DST_APP_MASK, p.dstMask, true);
    v.setUint16(Cr.DST_APP_TAG, dstAppAt(p, m), true);
  }
}

/** Copies `len` bytes of `slot` at `pos` into `f.blockIn` (false on a fault, recorded). Byte loop: no views. */
function gather(f: Frame, slot: number, pos: number, len: number): boolean {
  const r = f.runs[4]!;
  const out = f.blockIn;
  for (let k = 0; k < len; ) {
    const g = f.xlate(slot, pos + k, len - k, false, r);
    if (g === 0) return false;
    const b = r.bytes;
    for (let j = 0; j < g; j++) out[k + j] = b[r.offset + j] as number;
    k += g;
  }
  return true;
}

/** Translates (probe) or writes (`write`) `len` bytes of `f.blockOut` to `slot` at `pos`. */
function scatter(f: Frame, slot: number, pos: number, len: number, write: boolean): boolean {
  const r = f.runs[4]!;
  const src = f.blockOut;
  for (let k = 0; k < len; ) {
    const g = f.xlate(slot, pos + k, len - k, true, r);
    if (g === 0) return false;
    if (write) {
      const b = r.bytes;
      for (let j = 0; j < g; j++) b[r.offset + j] = src[k + j] as number;
    }
    k += g;
  }
  return true;
}

function decode(f: Frame, kind: number): void {
  const p = f.dif;
  const difFlags = f.u8(Desc.DIF_FLAGS);
  p.bs = DIF_BLOCK_SIZES[difFlags & DifFlag.BLOCK_SIZE_MASK] as number;
  p.guardInit = (difFlags & DifFlag.INVERT_SEED) !== 0 ? 0xffff : 0;
  p.guardXor = (difFlags & DifFlag.INVERT_RESULT) !== 0 ? 0xffff : 0;
  const protectedSrc = kind !== DifKind.INSERT;
  p.srcStride = protectedSrc ? p.bs + DIF_TUPLE_SIZE : p.bs;
  p.dstStride = kind === DifKind.CHECK ? 0 : kind === DifKind.STRIP ? p.bs : p.bs + DIF_TUPLE_SIZE;
  if (protectedSrc) {
    p.srcFlags = f.u8(Desc.SRC_DIF_FLAGS);
    p.srcRef = f.u32(Desc.SRC_REF_SEED);
    p.srcMask = f.u16(Desc.SRC_APP_MASK);
    p.srcApp = f.u16(Desc.SRC_APP_SEED);
  }
  if (kind === DifKind.INSERT || kind === DifKind.UPDATE) {
    p.dstFlags = f.u8(Desc.DST_DIF_FLAGS);
    p.dstRef = f.u32(Desc.DST_REF_SEED);
    p.dstMask = f.u16(Desc.DST_APP_MASK);
    p.dstApp = f.u16(Desc.DST_APP_SEED);
  }
}

/** Executes a DIF operation of `kind`. */
export function execDif(f: Frame, kind: number): number {
  decode(f, kind);
  const p = f.dif;
  const size = f.size;
  const sbs = p.srcStride;
  const dbs = p.dstStride;
  const blocks = size / sbs;
  const dstTotal = blocks * dbs;
  const s = f.runs[0]!;
  const d = f.runs[1]!;
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  // Resume point: the block index (blocks before it are done; nothing else carries over).
  let i = f.resumeFrom(0);
  let again = 0;
  while (i < blocks) {
    if (f.budgetLeft <= 0) f.yieldAt(i);
    const sp = i * sbs;
    const gs = f.xlate(Slot.A, sp, size - sp, false, s);
    if (gs === 0) return faultAt(f, kind, i);
    let m = Math.floor(gs / sbs);
    if (m > 0 && dbs > 0) {
      const dp = i * dbs;
      const epoch = f.epoch;
      const gd = f.xlate(Slot.B, dp, dstTotal - dp, true, d);
      if (gd === 0) return faultAt(f, kind, i);
      if (f.epoch !== epoch) {
        // The page-request service ran for the destination and may have removed the source's
        // mapping: translate both again (as Frame.walk does; 0x04 for a service that keeps at it).
        if (++again <= PAGE_REQUEST_ROUNDS) continue;
        f.fault(Slot.A, sp, false, Status.PAGE_FAULT_IR);
        return faultAt(f, kind, i);
      }
      m = Math.min(m, Math.floor(gd / dbs));
    }
    again = 0;
    if (m > 0) {
      // At most the blocks the step's budget still takes (at least one).
      const fit = Math.floor(f.budgetLeft / sbs);
      if (m > fit) m = fit > 0 ? fit : 1;
      f.budgetLeft -= m * sbs;
      for (let j = 0; j < m; j++, i++) {
        const st = processBlock(p, kind, i, s.bytes, s.offset + j * sbs, d.bytes, d.offset + j * dbs);
        if (st !== 0) return difError(f, kind, i, st);
      }
      continue;
    }
    // The block straddles a run boundary of an operand.
    if (!gather(f, Slot.A, sp, sbs)) return faultAt(f, kind, i);
    if (dbs > 0 && !scatter(f, Slot.B, i * dbs, dbs, false)) return faultAt(f, kind, i);
    const st = processBlock(p, kind, i, f.blockIn, 0, f.blockOut, 0);
    if (st !== 0) return difError(f, kind, i, st);
    if (dbs > 0 && !scatter(f, Slot.B, i * dbs, dbs, true)) return faultAt(f, kind, i);
    f.budgetLeft -= sbs;
    i++;
  }
  writeTags(f, kind, blocks);
  return Status.SUCCESS;
}

function faultAt(f: Frame, kind: number, m: number): number {
  writeTags(f, kind, m);
  return f.reportFault(m * f.dif.srcStride);
}

function difError(f: Frame, kind: number, m: number, difStatus: number): number {
  writeTags(f, kind, m);
  f.cr[Cr.RESULT] = difStatus;
  f.crView.setUint32(Cr.BYTES_COMPLETED, m * f.dif.srcStride, true);
  return Status.DIF_ERR;
}

/** DIF_CHECK. */
export function execDifCheck(f: Frame): number {
  return execDif(f, DifKind.CHECK);
}
/** DIF_INS. */
export function execDifInsert(f: Frame): number {
  return execDif(f, DifKind.INSERT);
}
/** DIF_STRP. */
export function execDifStrip(f: Frame): number {
  return execDif(f, DifKind.STRIP);
}
/** DIF_UPDT. */
export function execDifUpdate(f: Frame): number {
  return execDif(f, DifKind.UPDATE);
}
