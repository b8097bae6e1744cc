/**
 * The vdev's emulated vector 0 and its SWERR (vidxd-device.md §8.1, §8.2; dsa-operations.md §11.2):
 * each cause is recorded in INTCAUSE before vector 0 is raised through the vdev's MSI-X capability,
 * which hands it to the open VFIO handle's trigger (nothing in the vdev's own table gates it; without
 * a trigger it is dropped); a software error fills SWERR when it is free, else sets overflow, then
 * interrupts when GENCTRL allows it.
 */
import { type FieldDef, fieldMask, logSoftwareError, type RegisterFile, SoftwareError } from '../dsa/index.js';
import type { MsixCapability } from '../pci/index.js';
import { VDEV_GENCTRL, VDEV_INTCAUSE } from './registers.js';

/** Software-error codes the vdev itself reports besides the DSA ones (dsa-operations.md §10, §11.1). */
export const VdevErrorCode = {
  /**
   * A descriptor submitted to a shared vdev's portal with a guest PASID the vdev has no translation
   * for: dropped at submission, never run (vidxd-device.md §7.2 "retry-free rejection reported through
   * SWERR"). The DSA specification has no code for it (on hardware the CPU's PASID translation would
   * fault the ENQCMD); the vdev uses the next free code of the "other software errors" family 0x51–0x54,
   * with the fields of a dropped descriptor (as 0x53): opcode, the rejected guest PASID, priv, WQ 0.
   */
  PASID_REJECTED: 0x55,
} as const;

/** Vector 0 and SWERR of one vdev. */
export class VdevInterrupts {
  /** A reusable record for the vdev's own and forwarded errors. */
  readonly scratch = new SoftwareError();
  private readonly regs: RegisterFile;
  private readonly msix: MsixCapability;
  private readonly causeDword: number;

  /** Records into `regs` and signals through `msix`. */
  constructor(regs: RegisterFile, msix: MsixCapability) {
    this.regs = regs;
    this.msix = msix;
    this.causeDword = regs.dwordIndex(VDEV_INTCAUSE);
  }

  /**
   * Migration: while true, vector 0 is not raised but remembered ({@link vector0Held}): a stopped
   * vdev raises no interrupt (vfio-uapi.md §8.1); the cause is in INTCAUSE all the same.
   */
  holding = false;
  /** Vector 0 was to be raised while {@link holding}: the vdev raises it when it runs again. */
  vector0Held = false;

  /** Records `cause` (an INTCAUSE field) and raises vector 0 (signalled to its SET_IRQS trigger; none: dropped). */
  raiseCause(cause: FieldDef): void {
    const v = this.regs.value;
    v[this.causeDword] = ((v[this.causeDword] as number) | fieldMask(cause)) >>> 0;
    if (this.holding) this.vector0Held = true;
    else this.msix.notify(0);
  }

  /** Ends {@link holding}; raises vector 0 once when it was held. */
  release(): void {
    this.holding = false;
    if (!this.vector0Held) return;
    this.vector0Held = false;
    this.msix.notify(0);
  }

  /** Raises completion vector `vector` (a handle's interrupt): signalled to its SET_IRQS trigger; none: dropped. */
  completion(vector: number): void {
    this.msix.notify(vector);
  }

  /**
   * Logs `e` in SWERR: a free SWERR is filled and marked valid, an occupied one only gets overflow
   * (the new error is lost); then, in both cases, the software-error interrupt if GENCTRL enables it
   * (vidxd-device.md §8.2 raises it after either branch, so a guest that missed the first interrupt
   * still learns of the overflow).
   */
  report(e: SoftwareError): void {
    logSoftwareError(this.regs, e);
    if (this.regs.flag(VDEV_GENCTRL, VDEV_GENCTRL.fields.softerrIntEn)) this.raiseCause(VDEV_INTCAUSE.fields.softwareError);
  }

  /** Logs an error of the vdev itself, without a descriptor (0x51 config change, 0x52 CMD while active). */
  reportDevice(code: number): void {
    const e = this.scratch;
    e.clear();
    e.code = code;
    this.report(e);
  }
}
