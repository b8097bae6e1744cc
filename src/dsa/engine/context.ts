/**
 * The execution context of a submission and the embedder's sinks and hooks (dsa-operations.md §4,
 * §6, §9.4, §11). The context is long-lived: the submitter (a WQ) mutates it per submission.
 */
import type { AddressSpace } from '../../memory/index.js';

/** Completion-interrupt delivery (§4.3). */
export interface InterruptSink {
  /**
   * Check #6: is `handle` valid for a descriptor submitted through an IMS (`ims`) or MSI-X portal,
   * from a WQ with PASID enable `pasidEnabled` and effective PASID `pasid`? False gives status 0x19.
   */
  validate(handle: number, ims: boolean, pasidEnabled: boolean, pasid: number): boolean;
  /** Raises the completion interrupt `handle` (called strictly after the CR write). */
  raise(handle: number, ims: boolean): void;
}

/**
 * One software error with every field of the SWERROR register (§11.2). The engine reuses one
 * instance: a sink must copy what it keeps before returning.
 */
export class SoftwareError {
  /** Error code (status code of §10 without the R/W bit, or §11.1). */
  code = 0;
  /** Descriptor Valid: opcode, priv, PASID and batch fields are meaningful. */
  descValid = false;
  /** WQ Index Valid. */
  wqIndexValid = false;
  /** The error concerns an element of a batch. */
  batchMember = false;
  /** R/W of a faulting access (1 = write). */
  rw = false;
  /** Priv of the descriptor. */
  priv = false;
  /** Error Information Valid (rev 3.0 bit 7). */
  errorInfoValid = false;
  /** Opcode of the descriptor. */
  opcode = 0;
  /** Effective PASID. */
  pasid = 0;
  /** WQ index. */
  wqIndex = 0;
  /** Element index when `batchMember`. */
  batchIndex = 0;
  /** SWERROR qword 1 bits 63:32: invalid flags (0x11), interrupt handle (0x19), operand id << 29 (faults, 2.0). */
  errorInfo = 0;
  /** Faulting address (for 0x1A the CR address), low dword. */
  addressLo = 0;
  /** Faulting address, high dword. */
  addressHi = 0;

  /** Resets every field to 0 / false. */
  clear(): void {
    this.code = 0;
    this.descValid = false;
    this.wqIndexValid = false;
    this.batchMember = false;
    this.rw = false;
    this.priv = false;
    this.errorInfoValid = false;
    this.opcode = 0;
    this.pasid = 0;
    this.wqIndex = 0;
    this.batchIndex = 0;
    this.errorInfo = 0;
    this.addressLo = 0;
    this.addressHi = 0;
  }
}

/** Receives errors that do not reach a completion record (§4.4). */
export interface SoftwareErrorSink {
  /** Reports one error; `err` is reused after the call returns. */
  report(err: SoftwareError): void;
}

/**
 * The embedder's page-request service (§6.2, §6.3): may map the page and return true (resolved:
 * the engine translates again) or return false (refused: status 0x04, or 0x1A/0x06/0x1F).
 */
export type PageRequestHandler = (pasid: number, iova: number, write: boolean) => boolean;

/** Called after a fully successful operation whose cache-control encoding requests a destination readback. */
export type ReadbackHook = (pasid: number, opcode: number) => void;

/** An interrupt sink that accepts every handle and delivers nothing. */
export const NULL_INTERRUPTS: InterruptSink = {
  validate: () => true,
  raise: () => {},
};

/** A software-error sink that drops every report. */
export const NULL_ERRORS: SoftwareErrorSink = { report: () => {} };

/** Per-submission state the engine executes a descriptor with. */
export class ExecContext {
  /** Address space of the effective PASID (null: every access faults). */
  space: AddressSpace | null = null;
  /** Effective PASID (§9.4). */
  pasid = 0;
  /** WQCFG.pasid_en of the submission WQ. */
  pasidEnabled = false;
  /** Effective Priv. */
  priv = false;
  /** Submitted to a shared WQ (check #3 applies). */
  shared = false;
  /** Index of the submission WQ. */
  wqIndex = 0;
  /** WQCFG.max_xfer_shift. */
  maxXferShift = 31;
  /** WQCFG.max_batch_shift. */
  maxBatchShift = 10;
  /** WQCFG.bof: the BOF flag is allowed. */
  wqBlockOnFault = false;
  /** Submitted through an IMS portal (else MSI-X). */
  ims = false;
  /** PCI PASID capability Privileged Mode Enable. */
  privModeEnabled = false;
  /** GENCFG.user_int_en. */
  userInterruptsEnabled = false;
  /** Page requests are enabled (PCIe PRI); with `faults` non-null the page-request path is used. */
  prsEnabled = false;
  /** Completion interrupts. */
  interrupts: InterruptSink = NULL_INTERRUPTS;
  /** Software errors. */
  errors: SoftwareErrorSink = NULL_ERRORS;
  /** Page-request service, or null. */
  faults: PageRequestHandler | null = null;
  /** Destination-readback hook, or null. */
  readback: ReadbackHook | null = null;
  /**
   * Set while a descriptor runs with this context when a callback it made (an interrupt, a software
   * error, a page request, a readback) abandoned it — an abort, a WQ disable or a reset covering it:
   * the engine stops it at its next check (between batch elements, after every call out), so nothing
   * more of it is read, written, raised or reported once that call returns. Cleared by the device
   * around each run.
   */
  cancelled = false;
}
