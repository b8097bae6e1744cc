/** COMPARE (§7.6) and COMPVAL (§7.7). */
import { Cr } from '../../spec/completion-record.js';
import { Desc } from '../../spec/descriptor.js';
import { Flag } from '../../spec/flags.js';
import { type Frame, FaultMode } from '../frame.js';
import { Slot } from '../op-table.js';
import { Status } from '../../spec/status.js';

function compareKernel(f: Frame, _pos: number, n: number): number {
  const a = f.runs[0]!;
  const b = f.runs[1]!;
  const x = a.bytes;
  const y = b.bytes;
  const xo = a.offset;
  const yo = b.offset;
  for (let i = 0; i < n; i++) if (x[xo + i] !== y[yo + i]) return i;
  return n;
}

function compvalKernel(f: Frame, pos: number, n: number): number {
  const a = f.runs[0]!;
  const x = a.bytes;
  const xo = a.offset;
  const p = f.pattern;
  for (let i = 0; i < n; i++) if (x[xo + i] !== p[(pos + i) & 7]) return i;
  return n;
}

/** Status of a check-result operation: 0x02 when Check Result is set and `matches` is false. */
export function predicateStatus(f: Frame, matches: boolean): number {
  return !f.has(Flag.CHECK_RESULT) || matches ? Status.SUCCESS : Status.SUCCESS_PRED;
}

function finish(f: Frame, st: number): number {
  if (st !== 0) return f.reportFault(f.done);
  const result = f.stopped ? 1 : 0;
  f.cr[Cr.RESULT] = result;
  if (result === 1) f.crView.setUint32(Cr.BYTES_COMPLETED, f.done, true);
  return predicateStatus(f, result === (f.u8(Desc.EXPECTED_RESULT) & 1));
}

/** COMPARE: Result 1 and BC = offset of the first difference. */
export function execCompare(f: Frame): number {
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  f.setWalk(2, Slot.A, false, Slot.B, false);
  return finish(f, f.walk(0, f.size, compareKernel));
}

/** COMPVAL: src byte i against pattern byte i mod 8 (exact first-difference offset). */
export function execCompval(f: Frame): number {
  for (let i = 0; i < 8; i++) f.pattern[i] = f.u8(Desc.DST + i);
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  f.setWalk(1, Slot.A, false);
  return finish(f, f.walk(0, f.size, compvalKernel));
}
