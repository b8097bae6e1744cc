/**
 * SWERR as the driver reports it (dsa-operations.md §11.2): the 32-byte register decoded into plain
 * fields, with the name of its error code.
 */
import { SWERR_REG } from '../dsa/spec/register-fields.js';
import { SoftwareErrorCode, STATUS_NAMES } from '../dsa/spec/status.js';
import { getField } from './fields.js';

/**
 * The software error a vidxd vdev logs for a shared-WQ descriptor whose guest PASID it has no
 * translation for (the vdev's `VdevErrorCode.PASID_REJECTED`; the DSA specification has no code for it).
 */
export const PASID_REJECTED = 0x55;

const SOFTWARE_ERROR_NAMES: Readonly<Record<number, string>> = {
  ...Object.fromEntries(Object.entries(SoftwareErrorCode).map(([n, c]) => [c, n])),
  [PASID_REJECTED]: 'PASID_REJECTED',
};

/** The name of a SWERR error code: a descriptor status name, a software error name, or `0x..`. */
export function swerrName(code: number): string {
  return SOFTWARE_ERROR_NAMES[code] ?? STATUS_NAMES[code] ?? `0x${code.toString(16).padStart(2, '0')}`;
}

/** One decoded SWERR report. */
export interface SoftwareErrorReport {
  /** Error code (bits 15:8). */
  readonly code: number;
  /** Its name (`DWQ_FULL`, `PAGE_FAULT_NOBOF`, `PCI_CFG`, …). */
  readonly name: string;
  /** Another error arrived while this one was logged (and was lost). */
  readonly overflow: boolean;
  /** The descriptor fields (opcode, PASID, priv, batch) are meaningful. */
  readonly descValid: boolean;
  /** Opcode of the descriptor. */
  readonly opcode: number;
  /** PASID of the descriptor. */
  readonly pasid: number;
  /** Priv of the descriptor. */
  readonly priv: boolean;
  /** WQ index, or −1 when not valid. */
  readonly wq: number;
  /** Batch element index, or −1 when the error does not concern a batch element. */
  readonly batchIndex: number;
  /** The faulting access was a write. */
  readonly write: boolean;
  /** Error information (invalid flags for 0x11, interrupt handle for 0x19). */
  readonly errorInfo: number;
  /**
   * Faulting address (page faults; the CR address for 0x1A), bits 31:0. SWERR holds any 64-bit
   * address a descriptor named, so it comes as two exact halves, as every 64-bit value of the API
   * that may exceed 2^53 does (docs/architecture.md, "64-bit values").
   */
  readonly addressLo: number;
  /** Faulting address, bits 63:32 (see {@link SoftwareErrorReport.addressLo}). */
  readonly addressHi: number;
}

/** Decodes the eight dwords of SWERR (valid or not). */
export function decodeSwerr(dw: ArrayLike<number>): SoftwareErrorReport {
  const f = SWERR_REG.bits;
  const code = getField(dw, f.error);
  return {
    code,
    name: swerrName(code),
    overflow: getField(dw, f.overflow) === 1,
    descValid: getField(dw, f.descValid) === 1,
    opcode: getField(dw, f.operation),
    pasid: getField(dw, f.pasid),
    priv: getField(dw, f.priv) === 1,
    wq: getField(dw, f.wqIdxValid) === 1 ? getField(dw, f.wqIdx) : -1,
    batchIndex: getField(dw, f.batch) === 1 ? getField(dw, f.batchIdx) : -1,
    write: getField(dw, f.faultRw) === 1,
    errorInfo: getField(dw, f.errorInfo),
    addressLo: (dw[f.faultAddr.lo >>> 5] ?? 0) >>> 0,
    addressHi: (dw[(f.faultAddr.lo >>> 5) + 1] ?? 0) >>> 0,
  };
}
