/** MEMMOVE (§7.4): ascending or, for an overlapping destination above the source, descending copy. */
import { copyBytes, PAGE_MASK } from '../../memory/index.js';
import { Cr } from '../completion-record.js';
import { type Frame, FaultMode, translateRaw } from '../frame.js';
import { Slot } from '../op-table.js';
import { Status } from '../status.js';

const TWO32 = 0x1_0000_0000;

function copyKernel(f: Frame, _pos: number, n: number): number {
  const s = f.runs[0]!;
  const d = f.runs[1]!;
  copyBytes(s.bytes, s.offset, d.bytes, d.offset, n);
  return n;
}

/** MEMMOVE. */
export function execMemmove(f: Frame): number {
  const size = f.size;
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  if (f.caps.overlapCopy) {
    const d = ((f.hi[Slot.B] as number) - (f.hi[Slot.A] as number)) * TWO32 + ((f.lo[Slot.B] as number) - (f.lo[Slot.A] as number));
    if (d > 0 && d < size) return descending(f, size);
  }
  // One run per operand (the common case): a single native copy, no walk.
  const s = f.runs[0]!;
  const d = f.runs[1]!;
  const srcNum = f.num[Slot.A]!;
  const dstNum = f.num[Slot.B]!;
  if (srcNum >= 0 && dstNum >= 0 && translateRaw(f.ctx.space, srcNum, size, false, s) === size && translateRaw(f.ctx.space, dstNum, size, true, d) === size) {
    copyBytes(s.bytes, s.offset, d.bytes, d.offset, size);
    return Status.SUCCESS;
  }
  f.setWalk(2, Slot.A, false, Slot.B, true);
  const st = f.walk(0, size, copyKernel);
  return st !== 0 ? f.reportFault(f.done) : Status.SUCCESS;
}

/**
 * Descending copy, chunk by chunk from the top; a chunk never crosses a 4 KiB boundary of either
 * operand. When both whole buffers are one run each, one overlap-safe native copy does it all.
 */
function descending(f: Frame, size: number): number {
  const space = f.ctx.space;
  const s = f.runs[0]!;
  const d = f.runs[1]!;
  const srcNum = f.num[Slot.A] as number;
  const dstNum = f.num[Slot.B] as number;
  if (srcNum >= 0 && dstNum >= 0 && translateRaw(space, srcNum, size, false, s) === size && translateRaw(space, dstNum, size, true, d) === size) {
    copyBytes(s.bytes, s.offset, d.bytes, d.offset, size);
    return Status.SUCCESS;
  }
  const loA = f.lo[Slot.A] as number;
  const loB = f.lo[Slot.B] as number;
  let end = size;
  while (end > 0) {
    const last = end - 1;
    const inA = (loA + last) & PAGE_MASK;
    const inB = (loB + last) & PAGE_MASK;
    const start = Math.max(0, last - Math.min(inA, inB));
    const n = end - start;
    let g = f.xlate(Slot.A, start, n, false, s);
    if (g > 0 && g < n) g = f.fault(Slot.A, start, false, Status.PAGE_FAULT_NOBOF);
    if (g > 0) {
      g = f.xlate(Slot.B, start, n, true, d);
      if (g > 0 && g < n) g = f.fault(Slot.B, start, true, Status.PAGE_FAULT_NOBOF);
    }
    if (g === 0) {
      f.cr[Cr.RESULT] = 1;
      return f.reportFault(size - end);
    }
    copyBytes(s.bytes, s.offset, d.bytes, d.offset, n);
    end = start;
  }
  return Status.SUCCESS;
}
