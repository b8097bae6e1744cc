/** DUALCAST (§7.10): one source copied to two destinations in lockstep. */
import { copyBytes } from '../../../memory/index.js';
import { type Frame, FaultMode } from '../frame.js';
import { Slot } from '../op-table.js';
import { Status } from '../../spec/status.js';

function dualcastKernel(f: Frame, _pos: number, n: number): number {
  const s = f.runs[0]!;
  const d1 = f.runs[1]!;
  const d2 = f.runs[2]!;
  copyBytes(s.bytes, s.offset, d1.bytes, d1.offset, n);
  copyBytes(s.bytes, s.offset, d2.bytes, d2.offset, n);
  return n;
}

/** DUALCAST. */
export function execDualcast(f: Frame): number {
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  f.setWalk(3, Slot.A, false, Slot.B, true, Slot.C, true);
  const st = f.walk(0, f.size, dualcastKernel);
  return st !== 0 ? f.reportFault(f.done) : Status.SUCCESS;
}
