/** FILL (§7.5): an 8-byte (or, with Fill16, 16-byte) pattern repeated from the descriptor's dst. */
import { Desc } from '../../spec/descriptor.js';
import { OpFlag } from '../../spec/flags.js';
import { type Frame, FaultMode } from '../frame.js';
import { Slot } from '../op-table.js';
import { Status } from '../../spec/status.js';

/** Writes `n` bytes of the repeating `pattern` (length `plen`) starting at pattern index `phase`. */
export function fillPattern(bytes: Uint8Array, off: number, n: number, pattern: Uint8Array, plen: number, phase: number): void {
  const first = n < plen ? n : plen;
  for (let i = 0; i < first; i++) bytes[off + i] = pattern[(phase + i) % plen] as number;
  let filled = first;
  while (filled < n) {
    const c = filled < n - filled ? filled : n - filled;
    bytes.copyWithin(off + filled, off, off + c);
    filled += c;
  }
}

function fillKernel(f: Frame, pos: number, n: number): number {
  const r = f.runs[0]!;
  fillPattern(r.bytes, r.offset, n, f.pattern, f.patternLen, pos % f.patternLen);
  return n;
}

/** FILL. */
export function execFill(f: Frame): number {
  const p = f.pattern;
  for (let i = 0; i < 8; i++) p[i] = f.u8(Desc.SRC + i);
  f.patternLen = 8;
  if (f.has(OpFlag.FILL_PATTERN16)) {
    for (let i = 0; i < 8; i++) p[8 + i] = f.u8(Desc.PATTERN_HI + i);
    f.patternLen = 16;
  }
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  f.setWalk(1, Slot.B, true);
  const st = f.walk(0, f.size, fillKernel);
  return st !== 0 ? f.reportFault(f.done) : Status.SUCCESS;
}
