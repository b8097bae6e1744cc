/** SWERR as the host driver reads it: one decoded record per software error. */
import { SWERR, unpackField } from '../dsa/index.js';
import type { RegisterAccess } from './probe.js';
import { readRegister } from './probe.js';

/** A decoded SWERR (dsa-operations.md §11.2). */
export interface SoftwareErrorRecord {
  /** Error code. */
  readonly code: number;
  /** Another error was lost while this one was logged. */
  readonly overflow: boolean;
  /** Operation, priv, PASID and batch fields are meaningful. */
  readonly descValid: boolean;
  /** The WQ index is meaningful. */
  readonly wqIndexValid: boolean;
  /** The error concerns a batch element. */
  readonly batch: boolean;
  /** A faulting access was a write. */
  readonly write: boolean;
  /** Priv of the descriptor. */
  readonly priv: boolean;
  /** WQ index. */
  readonly wqIndex: number;
  /** Opcode. */
  readonly opcode: number;
  /** Effective PASID. */
  readonly pasid: number;
  /** Batch element index. */
  readonly batchIndex: number;
  /** Error information (invalid flags, interrupt handle). */
  readonly errorInfo: number;
  /** Faulting address, low dword. */
  readonly addressLo: number;
  /** Faulting address, high dword. */
  readonly addressHi: number;
}

/**
 * Reads SWERR; when valid, acknowledges it (writes valid and overflow back, RW1C) and returns the
 * record, else returns null.
 */
export function takeSoftwareError(mmio: RegisterAccess): SoftwareErrorRecord | null {
  const d = readRegister(mmio, SWERR);
  const f = SWERR.fields;
  if (unpackField(d, f.valid) === 0) return null;
  const ack = ((1 << f.valid.lo) | (1 << f.overflow.lo)) >>> 0;
  mmio.write32(SWERR.offset, ack);
  return Object.freeze({
    code: unpackField(d, f.error),
    overflow: unpackField(d, f.overflow) === 1,
    descValid: unpackField(d, f.descValid) === 1,
    wqIndexValid: unpackField(d, f.wqIdxValid) === 1,
    batch: unpackField(d, f.batch) === 1,
    write: unpackField(d, f.faultRw) === 1,
    priv: unpackField(d, f.priv) === 1,
    wqIndex: unpackField(d, f.wqIdx),
    opcode: unpackField(d, f.operation),
    pasid: unpackField(d, f.pasid),
    batchIndex: unpackField(d, f.batchIdx),
    errorInfo: unpackField(d, f.errorInfo),
    addressLo: d[f.faultAddr.lo >>> 5] as number,
    addressHi: d[(f.faultAddr.lo >>> 5) + 1] as number,
  });
}
