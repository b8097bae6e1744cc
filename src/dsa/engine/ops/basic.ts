/** NOOP (§7.1), DRAIN (§7.3) and CFLUSH (§7.18). */
import { Desc } from '../../spec/descriptor.js';
import { type Frame, FaultMode } from '../frame.js';
import { Slot } from '../op-table.js';
import { Status } from '../../spec/status.js';

const SUCCESS = Status.SUCCESS;

/** NOOP: nothing but the completion. */
export function execNoop(_f: Frame): number {
  return SUCCESS;
}

/**
 * DRAIN: completes at once here (waiting for earlier descriptors is the WQ's job). Explicit
 * readbacks translate each valid readback address for a read; a fault is 0x1F (page request
 * first when PRS is enabled).
 */
export function execDrain(f: Frame): number {
  f.faultMode = f.prsAvailable() ? FaultMode.REQUEST : FaultMode.REPORT;
  for (let slot = Slot.A; slot <= Slot.B; slot++) {
    if ((f.present & (1 << slot)) === 0) continue;
    if (f.xlate(slot, 0, 1, false, f.runs[4]!) === 0) {
      f.reportFault(0);
      return Status.PFAULT_RDBA;
    }
  }
  return Status.SUCCESS;
}

function flushKernel(_f: Frame, _pos: number, n: number): number {
  return n;
}

/** CFLUSH: no data changes; every page of the range is translated (read access, §7.18). */
export function execCflush(f: Frame): number {
  f.faultMode = f.wantsBlockOnFault() ? FaultMode.REQUEST : FaultMode.REPORT;
  f.setWalk(1, Slot.B, false);
  const st = f.walk(0, f.u32(Desc.XFER_SIZE), flushKernel);
  return st !== 0 ? f.reportFault(f.done) : Status.SUCCESS;
}
