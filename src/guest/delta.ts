/**
 * CR_DELTA across resumptions (dsa-operations.md §6.4, §7.8). A resumed CR_DELTA writes a new
 * record whose offsets restart at 0, so after every submission the driver rebases the entries it
 * wrote to offsets of the whole buffer, and appends at the end of the caller's record. When less than
 * the 80 bytes the device requires as a maximum record size remain, the rest runs against an 80-byte
 * scratch record and only the entries that fit are copied back; one that does not fit is the overflow
 * (result 2) at its offset, exactly as one long descriptor would have reported it.
 */
import { Cr } from '../dsa/spec/completion-record.js';
import { Desc } from '../dsa/spec/descriptor.js';
import type { GuestHeap } from './heap.js';
import type { Request } from './request.js';
import { crBytes, crResult, crU32, type CrView } from './resume.js';

/** Bytes of one delta-record entry: u16 offset (8-byte words) and 8 data bytes. */
export const DELTA_ENTRY = 10;
/** Smallest maximum record size the device accepts (0x15 below it). */
export const DELTA_MIN_RECORD = 80;

/** Where the driver's memory is: guest memory, the IOVA of its byte 0, and the allocator. */
export interface DeltaMemory {
  /** Guest memory. */
  readonly mem: Uint8Array;
  /** A view of it. */
  readonly view: DataView;
  /** IOVA of `mem[0]`. */
  readonly iova: number;
  /** The allocator (scratch records). */
  readonly heap: GuestHeap;
}

/**
 * Accounts the entries submission `c` wrote (before {@link resume} advances the request): rebases
 * them, moves them out of the scratch record, and records an overflow. `final` = the descriptor
 * completed (not a fault). Returns true when the operation is over (overflow found).
 */
export function accountDelta(r: Request, c: CrView, m: DeltaMemory, final: boolean): boolean {
  const written = crU32(c, Cr.DELTA_SIZE);
  const at = r.addr(Desc.DELTA_ADDR) - m.iova;
  const baseWord = r.progress / 8;
  for (let e = 0; e < written; e += DELTA_ENTRY) m.view.setUint16(at + e, m.view.getUint16(at + e, true) + baseWord, true);
  if (r.deltaScratch < 0) {
    r.deltaUsed += written;
    // Result 2 of a completed descriptor: BC is the offset of the first word that did not fit.
    if (final && crResult(c) === 2) r.deltaOverflowAt = r.progress + crBytes(c);
    return r.deltaOverflowAt >= 0;
  }
  const fit = Math.floor((r.deltaMax - r.deltaUsed) / DELTA_ENTRY) * DELTA_ENTRY;
  const keep = Math.min(written, fit);
  const to = r.deltaBase + r.deltaUsed - m.iova;
  m.mem.copyWithin(to, at, at + keep);
  r.deltaUsed += keep;
  if (written > fit) r.deltaOverflowAt = m.view.getUint16(at + fit, true) * 8;
  return r.deltaOverflowAt >= 0;
}

/** Points the request's record at the rest of the caller's record, or at the scratch record when less than 80 bytes remain. */
export function retargetDelta(r: Request, m: DeltaMemory): void {
  const left = r.deltaMax - r.deltaUsed;
  if (left >= DELTA_MIN_RECORD) {
    r.setAddr(Desc.DELTA_ADDR, r.deltaBase + r.deltaUsed);
    r.setU32(Desc.MAX_DELTA_SIZE, left);
    return;
  }
  if (r.deltaScratch < 0) r.deltaScratch = m.heap.alloc(DELTA_MIN_RECORD, 8);
  r.setAddr(Desc.DELTA_ADDR, r.deltaScratch);
  r.setU32(Desc.MAX_DELTA_SIZE, DELTA_MIN_RECORD);
}

/** Returns the scratch record, if one was taken. */
export function releaseDelta(r: Request, m: DeltaMemory): void {
  if (r.deltaScratch >= 0) m.heap.free(r.deltaScratch);
  r.deltaScratch = -1;
}
