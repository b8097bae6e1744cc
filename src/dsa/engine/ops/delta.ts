/** CR_DELTA (§7.8) and AP_DELTA (§7.9): 10-byte entries {u16 offset in 8-byte words, 8 data bytes}. */
import type { DmaRun } from '../../../memory/index.js';
import { Cr } from '../../spec/completion-record.js';
import { Desc } from '../../spec/descriptor.js';
import { Flag } from '../../spec/flags.js';
import { type Frame, FaultMode, PAGE_REQUEST_ROUNDS } from '../frame.js';
import { Slot } from '../op-table.js';
import { Status } from '../../spec/status.js';

/** Size of one delta record entry. */
export const DELTA_ENTRY_SIZE = 10;

/**
 * Translates the `len` bytes at `slot + pos` for writing into up to two runs (runs[2], runs[3]).
 * Returns the length of the first run, or 0 on a fault (recorded). When the page-request service
 * ran for the second run it may have removed the first: the first is translated again (a service
 * that keeps doing so ends it with 0x04, as a request answered too often).
 */
function translateSplit(f: Frame, slot: number, pos: number, len: number, write: boolean): number {
  for (let round = 0; round <= PAGE_REQUEST_ROUNDS; round++) {
    const g = f.xlate(slot, pos, len, write, f.runs[2]!);
    if (g === 0 || g === len) return g;
    const epoch = f.epoch;
    if (f.xlate(slot, pos + g, len - g, write, f.runs[3]!) !== len - g) return 0;
    if (f.epoch === epoch) return g;
  }
  return f.fault(slot, pos, write, Status.PAGE_FAULT_IR);
}

/** Byte `i` (0 ≤ i < len) of a split translation whose first run holds `first` bytes. */
function splitRun(f: Frame, i: number, first: number): DmaRun {
  return i < first ? f.runs[2]! : f.runs[3]!;
}

function splitIndex(f: Frame, i: number, first: number): number {
  return i < first ? f.runs[2]!.offset + i : f.runs[3]!.offset + (i - first);
}

function deltaKernel(f: Frame, pos: number, n: number): number {
  const a = f.runs[0]!;
  const b = f.runs[1]!;
  const x = a.bytes;
  const y = b.bytes;
  const words = n >>> 3;
  for (let k = 0; k < words; k++) {
    const xo = a.offset + k * 8;
    const yo = b.offset + k * 8;
    if (
      x[xo] === y[yo] && x[xo + 1] === y[yo + 1] && x[xo + 2] === y[yo + 2] && x[xo + 3] === y[yo + 3] &&
      x[xo + 4] === y[yo + 4] && x[xo + 5] === y[yo + 5] && x[xo + 6] === y[yo + 6] && x[xo + 7] === y[yo + 7]
    ) {
      continue;
    }
    const used = f.a;
    if (used + DELTA_ENTRY_SIZE > f.b) {
      f.c = 2; // overflow
      return k * 8;
    }
    const first = translateSplit(f, Slot.C, used, DELTA_ENTRY_SIZE, true);
    if (first === 0) {
      f.kernelFault = f.faultStatus;
      return k * 8;
    }
    const word = (pos >>> 3) + k;
    splitRun(f, 0, first).bytes[splitIndex(f, 0, first)] = word & 0xff;
    splitRun(f, 1, first).bytes[splitIndex(f, 1, first)] = word >>> 8;
    for (let j = 0; j < 8; j++) splitRun(f, 2 + j, first).bytes[splitIndex(f, 2 + j, first)] = y[yo + j] as number;
    f.a = used + DELTA_ENTRY_SIZE;
    if (f.epoch !== f.walkEpoch && (k + 1) * 8 < n) {
      // The page-request service ran for the record and may have removed a source's mapping: the
      // walk translates the sources of the rest of the chunk again (vfio-uapi.md §9.2).
      f.restart = true;
      return (k + 1) * 8;
    }
  }
  if ((n & 7) !== 0) {
    // A run that ends inside a word: only an address space that splits runs inside a page does this.
    f.fault(Slot.A, pos + words * 8, false, Status.PAGE_FAULT_NOBOF);
    f.kernelFault = f.faultStatus;
  }
  return words * 8;
}

/** CR_DELTA. */
export function execCrDelta(f: Frame): number {
  f.a = 0; // record bytes used
  f.b = f.u32(Desc.MAX_DELTA_SIZE);
  f.c = 0; // 2 = overflow
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  f.setWalk(2, Slot.A, false, Slot.B, false);
  const st = f.walk(0, f.size, deltaKernel);
  const used = f.a;
  f.crView.setUint32(Cr.DELTA_SIZE, used, true);
  if (st !== 0) {
    f.cr[Cr.RESULT] = used > 0 ? 1 : 0;
    return f.reportFault(f.done);
  }
  const result = f.c === 2 ? 2 : used > 0 ? 1 : 0;
  f.cr[Cr.RESULT] = result;
  if (result === 2) f.crView.setUint32(Cr.BYTES_COMPLETED, f.done, true);
  if (!f.has(Flag.CHECK_RESULT)) return Status.SUCCESS;
  return ((f.u8(Desc.EXPECTED_RESULT_MASK) >>> result) & 1) === 1 ? Status.SUCCESS : Status.SUCCESS_PRED;
}

/** AP_DELTA. */
export function execApDelta(f: Frame): number {
  const recordSize = f.u32(Desc.DELTA_SIZE);
  const size = f.size;
  const e = f.blockIn;
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  // Resume point: the entry offset, with the previous entry's word offset carried in `f.a`.
  f.a = -1;
  const from = f.resumeFrom(0);
  let prev = f.a;
  for (let p = from; p + DELTA_ENTRY_SIZE <= recordSize; p += DELTA_ENTRY_SIZE) {
    if (f.budgetLeft <= 0) {
      f.a = prev;
      f.yieldAt(p);
    }
    f.budgetLeft -= DELTA_ENTRY_SIZE + 8;
    const first = translateSplit(f, Slot.A, p, DELTA_ENTRY_SIZE, false);
    if (first === 0) return f.reportFault(p);
    for (let j = 0; j < DELTA_ENTRY_SIZE; j++) e[j] = splitRun(f, j, first).bytes[splitIndex(f, j, first)] as number;
    const o = (e[0] as number) | ((e[1] as number) << 8);
    if (prev >= 0 && o <= prev) {
      f.crView.setUint32(Cr.BYTES_COMPLETED, p, true);
      return Status.DR_OFFSET_NOINC;
    }
    if (o * 8 >= size) {
      f.crView.setUint32(Cr.BYTES_COMPLETED, p, true);
      return Status.DR_OFFSET_ERANGE;
    }
    const dFirst = translateSplit(f, Slot.B, o * 8, 8, true);
    if (dFirst === 0) return f.reportFault(p);
    for (let j = 0; j < 8; j++) splitRun(f, j, dFirst).bytes[splitIndex(f, j, dFirst)] = e[2 + j] as number;
    prev = o;
  }
  return Status.SUCCESS;
}
