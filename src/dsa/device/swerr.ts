/**
 * The SWERR log (dsa-operations.md §11.2): the first error fills the register and sets valid (and
 * raises the software-error interrupt when GENCTRL allows it); an error arriving while valid is set
 * only sets overflow. Software clears valid/overflow by writing 1s (the register table's RW1C bits).
 */
import { SoftwareError, type SoftwareErrorSink } from '../engine/context.js';
import type { InterruptController } from './interrupts.js';
import type { RegisterFile } from './register-file.js';
import { GENCTRL, INTCAUSE, SWERR } from './registers.js';

/** Writes software errors into SWERR. */
export class SwerrLog implements SoftwareErrorSink {
  /** A reusable record for the device's own errors (0x51, 0x52, 0x53). */
  readonly scratch = new SoftwareError();
  private readonly regs: RegisterFile;
  private readonly irq: InterruptController;

  /** Logs into `regs` and interrupts through `irq`. */
  constructor(regs: RegisterFile, irq: InterruptController) {
    this.regs = regs;
    this.irq = irq;
  }

  /** {@inheritDoc SoftwareErrorSink.report} */
  report(e: SoftwareError): void {
    if (!logSoftwareError(this.regs, e)) return;
    if (this.regs.flag(GENCTRL, GENCTRL.fields.softerrIntEn)) this.irq.raiseCause(INTCAUSE.fields.softwareError);
  }

  /** Logs a device error without a descriptor (0x51 PCI config change, 0x52 CMD while active). */
  reportDevice(code: number): void {
    const e = this.scratch;
    e.clear();
    e.code = code;
    this.report(e);
  }
}

/**
 * The register half of a report, shared by every register file that carries {@link SWERR} (the
 * device's and a virtual device's): a free SWERR is filled from `e` and marked valid (returns true);
 * an occupied one only gets overflow, the new error is lost (returns false). Interrupting is the
 * caller's policy.
 */
export function logSoftwareError(r: RegisterFile, e: SoftwareError): boolean {
  const f = SWERR.fields;
  if (r.flag(SWERR, f.valid)) {
    r.set(SWERR, f.overflow, 0, 1);
    return false;
  }
  r.clear(SWERR);
  r.set(SWERR, f.descValid, 0, e.descValid ? 1 : 0);
  r.set(SWERR, f.wqIdxValid, 0, e.wqIndexValid ? 1 : 0);
  r.set(SWERR, f.batch, 0, e.batchMember ? 1 : 0);
  r.set(SWERR, f.faultRw, 0, e.rw ? 1 : 0);
  r.set(SWERR, f.priv, 0, e.priv ? 1 : 0);
  r.set(SWERR, f.errInfoValid, 0, e.errorInfoValid ? 1 : 0);
  r.set(SWERR, f.error, 0, e.code);
  r.set(SWERR, f.wqIdx, 0, e.wqIndex);
  r.set(SWERR, f.operation, 0, e.opcode);
  r.set(SWERR, f.pasid, 0, e.pasid);
  r.set(SWERR, f.batchIdx, 0, e.batchIndex);
  r.set(SWERR, f.errorInfo, 0, e.errorInfo);
  r.setWide(SWERR, f.faultAddr, 0, 0, e.addressLo);
  r.setWide(SWERR, f.faultAddr, 0, 1, e.addressHi);
  r.set(SWERR, f.valid, 0, 1);
  return true;
}
