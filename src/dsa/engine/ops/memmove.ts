/** MEMMOVE (§7.4): ascending or, for an overlapping destination above the source, descending copy. */
import { copyBytes, PAGE_MASK } from '../../../memory/index.js';
import { Cr } from '../../spec/completion-record.js';
import { type Frame, FaultMode, PAGE_REQUEST_ROUNDS, translateRaw } from '../frame.js';
import { Slot } from '../op-table.js';
import { Status } from '../../spec/status.js';

const TWO32 = 0x1_0000_0000;
// Module-local copies for the hot path (V8 folds a module's own `const` into optimized code but
// re-reads an imported binding at every use).
const SRC = Slot.A;
const DST = Slot.B;
const { REPORT, REQUEST } = FaultMode;
const SUCCESS = Status.SUCCESS;

function copyKernel(f: Frame, _pos: number, n: number): number {
  const s = f.runs[0]!;
  const d = f.runs[1]!;
  copyBytes(s.bytes, s.offset, d.bytes, d.offset, n);
  return n;
}

/** MEMMOVE. */
export function execMemmove(f: Frame): number {
  const size = f.size;
  f.faultMode = f.wantsBlockOnFault() ? REQUEST : REPORT;
  const srcNum = f.num(SRC);
  const dstNum = f.num(DST);
  if (f.caps.overlapCopy === true) {
    // dst − src (exact from the numbers when both are below 2^53, else from the halves).
    const d = srcNum >= 0 && dstNum >= 0 ? dstNum - srcNum : (f.hi(DST) - f.hi(SRC)) * TWO32 + (f.lo(DST) - f.lo(SRC));
    if (d > 0 && d < size) return descending(f, size);
  }
  // One run per operand (the common case): a single native copy, no walk — when the step's work
  // budget takes it whole and the copy is not a continuation (see Frame.resumeAt).
  const s = f.runs[0]!;
  const d = f.runs[1]!;
  if (size <= f.budgetLeft && f.resumeAt < 0 && srcNum >= 0 && dstNum >= 0 && translateRaw(f.ctx.space, srcNum, size, false, s) === size && translateRaw(f.ctx.space, dstNum, size, true, d) === size) {
    copyBytes(s.bytes, s.offset, d.bytes, d.offset, size);
    f.budgetLeft -= size;
    return SUCCESS;
  }
  return ascending(f, size);
}

/**
 * `execMemmove` from the point where its single-run attempt failed (an ascending copy whose source or
 * destination is not one whole run): the fault mode, then the walk. The engine's MEMMOVE lane hands
 * over here after making that attempt itself.
 */
export function memmoveWalk(f: Frame): number {
  f.faultMode = f.wantsBlockOnFault() ? REQUEST : REPORT;
  return ascending(f, f.size);
}

/** Ascending copy run by run (an operand spans several runs, or a fault). */
function ascending(f: Frame, size: number): number {
  f.setWalk(2, SRC, false, DST, true);
  const st = f.walk(0, size, copyKernel);
  return st !== 0 ? f.reportFault(f.done) : SUCCESS;
}

/**
 * Descending copy, chunk by chunk from the top; a chunk never crosses a 4 KiB boundary of either
 * operand. When both whole buffers are one run each, one overlap-safe native copy does it all.
 */
function descending(f: Frame, size: number): number {
  const space = f.ctx.space;
  const s = f.runs[0]!;
  const d = f.runs[1]!;
  const srcNum = f.num(Slot.A);
  const dstNum = f.num(Slot.B);
  if (size <= f.budgetLeft && f.resumeAt < 0 && srcNum >= 0 && dstNum >= 0 && translateRaw(space, srcNum, size, false, s) === size && translateRaw(space, dstNum, size, true, d) === size) {
    copyBytes(s.bytes, s.offset, d.bytes, d.offset, size);
    f.budgetLeft -= size;
    return Status.SUCCESS;
  }
  const loA = f.lo(Slot.A);
  const loB = f.lo(Slot.B);
  // Resume point: the chunk boundary `end` (everything above it is copied).
  let end = f.resumeFrom(size);
  let again = 0;
  while (end > 0) {
    if (f.budgetLeft <= 0) f.yieldAt(end);
    const last = end - 1;
    const inA = (loA + last) & PAGE_MASK;
    const inB = (loB + last) & PAGE_MASK;
    const start = Math.max(0, last - Math.min(inA, inB));
    const n = end - start;
    let g = f.xlate(Slot.A, start, n, false, s);
    if (g > 0 && g < n) g = f.fault(Slot.A, start, false, Status.PAGE_FAULT_NOBOF);
    if (g > 0) {
      const epoch = f.epoch;
      g = f.xlate(Slot.B, start, n, true, d);
      if (g > 0 && g < n) g = f.fault(Slot.B, start, true, Status.PAGE_FAULT_NOBOF);
      if (g > 0 && f.epoch !== epoch) {
        // The page-request service ran for the destination and may have removed the source's
        // mapping: translate the chunk again (as Frame.walk does; 0x04 for a service that keeps at it).
        if (++again <= PAGE_REQUEST_ROUNDS) continue;
        g = f.fault(Slot.A, start, false, Status.PAGE_FAULT_IR);
      }
    }
    again = 0;
    if (g === 0) {
      f.cr[Cr.RESULT] = 1;
      return f.reportFault(size - end);
    }
    copyBytes(s.bytes, s.offset, d.bytes, d.offset, n);
    f.budgetLeft -= n;
    end = start;
  }
  return Status.SUCCESS;
}
