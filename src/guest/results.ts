/**
 * What a completed operation resolves to, read from its final completion record plus what the
 * driver accumulated across resumptions.
 */
import { Cr } from '../dsa/spec/completion-record.js';
import { Status } from '../dsa/spec/status.js';
import type { DifResult, OpResult } from './ops.js';
import { difBlockSize, type Request } from './request.js';
import { crBytes, crResult, crU32, type CrView } from './resume.js';

/** Statuses that complete an operation with a result rather than an error. */
export function isOutcome(r: Request, status: number): boolean {
  if (status === Status.SUCCESS) return true;
  // A DIF check failure is the answer to the question the operation asked, not a driver error.
  return status === Status.DIF_ERR && (r.op === 'difCheck' || r.op === 'difStrip' || r.op === 'difUpdate');
}

function dif(r: Request, c: CrView, status: number, base: { status: number; submissions: number; faults: number }): DifResult {
  const bs = difBlockSize(r);
  // Source-side units: DIF_INS consumes BS bytes per block, the others BS + 8.
  const unit = r.op === 'difInsert' ? bs : bs + 8;
  if (status === Status.SUCCESS) return { ...base, ok: true, difStatus: 0, failedBlock: -1, blocks: r.size / unit };
  const done = (r.progress + crBytes(c)) / unit;
  return { ...base, ok: false, difStatus: crResult(c), failedBlock: done, blocks: done };
}

/** The result of `r`, completed with `status` (an outcome) in record `c`. */
export function resultOf(r: Request, c: CrView, status: number): OpResult {
  const base = { status, submissions: r.submissions, faults: r.faults };
  switch (r.op) {
    case 'compare':
    case 'comparePattern': {
      const equal = crResult(c) === 0;
      return { ...base, equal, offset: equal ? -1 : r.progress + crBytes(c) };
    }
    case 'crc32c':
    case 'copyCrc':
      return { ...base, crc: crU32(c, Cr.CRC) };
    case 'createDelta': {
      const overflow = r.deltaOverflowAt >= 0;
      return {
        ...base,
        result: overflow ? 2 : r.deltaUsed > 0 ? 1 : 0,
        recordSize: r.deltaUsed,
        bytesCompared: overflow ? r.deltaOverflowAt : r.size,
      };
    }
    case 'difCheck':
    case 'difInsert':
    case 'difStrip':
    case 'difUpdate':
      return dif(r, c, status, base);
    default:
      return base;
  }
}
