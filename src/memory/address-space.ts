/**
 * The pluggable address-space interface every DMA of the device model goes through.
 */
import type { DmaSession } from './session.js';

/** Size of a translation page (4 KiB). */
export const PAGE_SIZE = 4096;
/** `PAGE_SIZE - 1`, the in-page offset mask. */
export const PAGE_MASK = 4095;
/** First IOVA that can never be mapped (2^53): larger addresses are not exact JavaScript numbers. */
export const IOVA_LIMIT = 2 ** 53;

/** Access permission bits of a mapping. */
export const Perm = {
  /** No access. */
  NONE: 0,
  /** Device reads allowed. */
  READ: 1,
  /** Device writes allowed. */
  WRITE: 2,
  /** Reads and writes. */
  RW: 3,
} as const;

/**
 * A reusable translation result: the backing bytes of one contiguous run and the offset of the
 * translated IOVA inside them. Owned by the caller and overwritten by every `translate`.
 */
export class DmaRun {
  /** Backing store of the run (for `GuestMemory`, its `bytes`). */
  bytes: Uint8Array = EMPTY;
  /** Offset in `bytes` of the first translated byte. */
  offset = 0;
  /**
   * The DMA session the run's translations belong to. An address space with memory reached only by
   * messages serves such memory only to a run with a session (it fetches into the session's
   * transaction, and keeps that transaction's writes until it commits); without one that memory
   * faults. Ordinary memory ignores it. (Optional, so a plain `{ bytes, offset }` object still is a run.)
   */
  session?: DmaSession | null = null;
  /**
   * The owner of the run reports its writes itself (`DmaTransaction.published`) instead of the
   * translation counting as one: a completion record is translated for writing first and written last.
   */
  explicit?: boolean = false;
}

const EMPTY = new Uint8Array(0);

/**
 * What the DSA model does all DMA through. A simulator can implement it over its own page tables.
 *
 * Contract of `translate`: return how many bytes starting at `iova` (at most `length`, `length >= 1`)
 * are backed by one contiguous run of `out.bytes` with the needed permission, and set `out.bytes`
 * and `out.offset` to that run. Return 0 when the page holding `iova` is not mapped or lacks the
 * permission (a page fault at `iova`). A run ends only at `iova + length` or at a 4 KiB boundary.
 * Must not allocate and must not throw for any `iova` in [0, 2^53).
 */
export interface AddressSpace {
  /** Translates `[iova, iova + length)` as far as one contiguous run with the permission goes. */
  translate(iova: number, length: number, write: boolean, out: DmaRun): number;
  /**
   * Optional hint: `[iova, iova + length)` is about to be accessed through runs of `out.session`. A
   * space with memory reached only by messages starts fetching what the session's transaction does
   * not hold yet, so a descriptor waits for one round of answers rather than one per operand. Changes
   * nothing a translation returns; must not throw.
   */
  prefetch?(iova: number, length: number, out: DmaRun): void;
}
