/**
 * Resuming an operation after a partial completion (status 0x03/0x04, dsa-operations.md §6.4): the
 * descriptor is edited in place so the next submission does exactly the rest, and what the caller will
 * be told (compare offsets, delta-record size) is accumulated. Each case is one row of the §6.4 table.
 */
import { Cr } from '../dsa/spec/completion-record.js';
import { Desc, DESC_SIZE } from '../dsa/spec/descriptor.js';
import { difBlockSize, type Request } from './request.js';

/** Reads of one completion record in guest memory. */
export interface CrView {
  /** Guest memory. */
  readonly mem: DataView;
  /** Offset of the record in it. */
  readonly at: number;
}

/** Bytes Completed. */
export function crBytes(c: CrView): number {
  return c.mem.getUint32(c.at + Cr.BYTES_COMPLETED, true);
}

/** Result byte. */
export function crResult(c: CrView): number {
  return c.mem.getUint8(c.at + Cr.RESULT);
}

/** A u32 at record byte `field`. */
export function crU32(c: CrView, field: number): number {
  return c.mem.getUint32(c.at + field, true);
}

/** Fault address (u64 at byte 8). */
export function crFaultAddress(c: CrView): number {
  return c.mem.getUint32(c.at + Cr.FAULT_ADDR + 4, true) * 0x1_0000_0000 + c.mem.getUint32(c.at + Cr.FAULT_ADDR, true);
}

/** Rotates the 8-byte pattern at descriptor byte `field` left by `n` bytes: byte i becomes byte (i + n) mod 8. */
function rotatePattern(r: Request, field: number, n: number): void {
  const k = n & 7;
  if (k === 0) return;
  const lo = r.u32(field);
  const hi = r.u32(field + 4);
  for (let i = 0; i < 8; i++) {
    const j = (i + k) & 7;
    r.desc[field + i] = j < 4 ? (lo >>> (8 * j)) & 0xff : (hi >>> (8 * (j - 4))) & 0xff;
  }
}

/** Adds `n` to the u64 address field `field`. */
function advance(r: Request, field: number, n: number): void {
  r.setAddr(field, r.addr(field) + n);
}

/** Copies the DIF tags of the record (ref u32, mask u16, app u16 at `from`) into the descriptor's seed fields at `to`. */
function tagsFromRecord(r: Request, c: CrView, from: number, to: number): void {
  r.setU32(to, crU32(c, from));
  r.setU32(to + 4, crU32(c, from + 4));
}

/**
 * Edits `r` after a partial completion recorded in `c` so that its next submission does the rest.
 * Returns the bytes that remain (0: nothing left to do). CR_DELTA's record bookkeeping is done by the
 * caller ({@link DeltaRecords}) before this.
 */
export function resume(r: Request, c: CrView): number {
  const bc = crBytes(c);
  switch (r.op) {
    case 'memmove':
      // Result 1: the copy ran descending and its top BC bytes are done; src and dst stay.
      if (crResult(c) === 0) {
        advance(r, Desc.SRC, bc);
        advance(r, Desc.DST, bc);
      }
      break;
    case 'fill':
      // The device applies the pattern from the descriptor's own dst: rotate it to stay in phase.
      advance(r, Desc.DST, bc);
      rotatePattern(r, Desc.SRC, bc);
      break;
    case 'compare':
      advance(r, Desc.SRC, bc);
      advance(r, Desc.DST, bc);
      break;
    case 'comparePattern':
      advance(r, Desc.SRC, bc);
      rotatePattern(r, Desc.DST, bc);
      break;
    case 'crc32c':
    case 'copyCrc':
      advance(r, Desc.SRC, bc);
      if (r.op === 'copyCrc') advance(r, Desc.DST, bc);
      // BC = 0 leaves the CRC value undefined: the old seed still holds.
      if (bc > 0) r.setU32(Desc.CRC_SEED, crU32(c, Cr.CRC));
      break;
    case 'dualcast':
      advance(r, Desc.SRC, bc);
      advance(r, Desc.DST, bc);
      advance(r, Desc.DST2, bc);
      break;
    case 'createDelta':
      advance(r, Desc.SRC, bc);
      advance(r, Desc.DST, bc);
      break;
    case 'applyDelta': {
      // BC counts delta-record bytes applied; dst and the transfer size stay.
      advance(r, Desc.SRC, bc);
      const left = r.u32(Desc.DELTA_SIZE) - bc;
      r.setU32(Desc.DELTA_SIZE, left);
      r.progress += bc;
      return left;
    }
    case 'difCheck':
      advance(r, Desc.SRC, bc);
      tagsFromRecord(r, c, Cr.SRC_REF_TAG, Desc.SRC_REF_SEED);
      break;
    case 'difStrip': {
      const bs = difBlockSize(r);
      advance(r, Desc.SRC, bc);
      advance(r, Desc.DST, (bc / (bs + 8)) * bs);
      tagsFromRecord(r, c, Cr.SRC_REF_TAG, Desc.SRC_REF_SEED);
      break;
    }
    case 'difInsert': {
      const bs = difBlockSize(r);
      advance(r, Desc.SRC, bc);
      advance(r, Desc.DST, (bc / bs) * (bs + 8));
      tagsFromRecord(r, c, Cr.DST_REF_TAG, Desc.DST_REF_SEED);
      break;
    }
    case 'batch':
      // BC counts descriptors: the list resumes at the first element not processed.
      advance(r, Desc.SRC, DESC_SIZE * bc);
      break;
    case 'difUpdate':
      advance(r, Desc.SRC, bc);
      advance(r, Desc.DST, bc);
      tagsFromRecord(r, c, Cr.SRC_REF_TAG, Desc.SRC_REF_SEED);
      tagsFromRecord(r, c, Cr.DST_REF_TAG, Desc.DST_REF_SEED);
      break;
  }
  r.progress += bc;
  r.xfer = r.xfer - bc;
  return r.xfer;
}
