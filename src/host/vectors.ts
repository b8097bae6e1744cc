/**
 * The host driver's MSI-X plumbing: the table programmed at probe (one message per vector), the
 * completion handlers of vectors 1.., and MSIX_PERM (which PASID may use a vector). Vector 0 (errors,
 * halt) stays with the driver.
 */
import { MSIX_PERM, MSIX_PERM_SIZE, packRegister } from '../dsa/index.js';
import { HostError } from './errors.js';
import type { MsixInfo } from './pci.js';
import type { RegisterAccess } from './probe.js';

/** A completion-interrupt handler. */
export type CompletionHandler = () => void;

/** The message address the driver programs into every MSI-X entry (and interrupt-handle entry). */
export const MSI_ADDRESS = 0xfee00000;

/** The MSI-X vectors of one probed device. */
export class HostVectors {
  private readonly mmio: RegisterAccess;
  private readonly count: number;
  private readonly msixPerm: number;
  private readonly handlers: (CompletionHandler | null)[];

  /** Programs the `msix.vectors` table entries (message data = vector number, unmasked); `msixPerm` is the MSIX_PERM table's offset. */
  constructor(mmio: RegisterAccess, msix: MsixInfo, msixPerm: number) {
    this.mmio = mmio;
    this.count = msix.vectors;
    this.msixPerm = msixPerm;
    this.handlers = new Array<CompletionHandler | null>(msix.vectors).fill(null);
    for (let v = 0; v < msix.vectors; v++) {
      const at = msix.tableOffset + 16 * v;
      mmio.write32(at, MSI_ADDRESS);
      mmio.write32(at + 4, 0);
      mmio.write32(at + 8, v);
      mmio.write32(at + 12, 0);
    }
  }

  /** Programs MSIX_PERM of `vector`: PASID check for `pasid`, or none (null). */
  setPasid(vector: number, pasid: number | null): void {
    const v = packRegister(MSIX_PERM, pasid === null ? {} : { pasidEn: 1, pasid });
    this.mmio.write32(this.msixPerm + vector * MSIX_PERM_SIZE, v[0] as number);
  }

  /** Installs (null: removes) the handler of completion vector `vector`. Throws `HostError` EINVAL for vector 0 or one the device lacks. */
  setHandler(vector: number, handler: CompletionHandler | null): void {
    if (vector <= 0 || vector >= this.count) throw new HostError('EINVAL', `vector ${vector} is not a completion vector`);
    this.handlers[vector] = handler;
  }

  /** A message on completion vector `vector`: runs its handler; false when it has none. */
  deliver(vector: number): boolean {
    const h = this.handlers[vector];
    if (h === null || h === undefined) return false;
    h();
    return true;
  }
}
