/**
 * Where things sit in every memory the fuzzer hands to a device (each vdev's guest memory and the
 * parent's own memory), and the address pools descriptors draw from. The layout is what lets the
 * invariants stay exact without knowing which descriptor ran: completion records only ever land in
 * the CR page, descriptor data never reaches below the data area, and the tail is never mapped.
 *
 * ```
 *   0x0000 .. 0x1000   CR area: 128 completion-record slots (nothing but records is written here)
 *   0x1000 .. 0x3000   list area: batch descriptor lists written by the guest CPU
 *   0x3000 .. 0xC000   data area: every address a descriptor writes data to starts here
 *   0xC000 .. 0x10000  tail: never mapped by any IOAS (a canary inside every memory)
 * ```
 * IOVAs are identity-mapped (IOVA = offset in the memory) so a fault address is a memory offset.
 */
import type { Prng } from '../util/prng.js';

/** Size of each watched memory. */
export const MEM_SIZE = 0x10000;
/** Completion-record area. */
export const CR_BASE = 0x0000;
/** Bytes of the completion-record area. */
export const CR_BYTES = 0x1000;
/** Batch descriptor lists. */
export const LIST_BASE = 0x1000;
/** Bytes of the list area. */
export const LIST_BYTES = 0x2000;
/** Data area. */
export const DATA_BASE = 0x3000;
/** First byte after the data area (and first byte of the never-mapped tail). */
export const DATA_END = 0xc000;
/** The part of a memory an IOAS may map: CR, list and data areas. */
export const MAPPABLE_END = DATA_END;
/** Page size of IOAS mappings. */
export const PAGE = 0x1000;
/** A completion record's size and alignment. */
export const CR_SLOT = 32;

/** A CR address: mostly a slot of the CR area; sometimes misaligned, unmapped or unrepresentable. */
export function crAddress(r: Prng): number {
  const k = r.below(100);
  if (k < 90) return CR_BASE + r.below(CR_BYTES / CR_SLOT) * CR_SLOT;
  if (k < 94) return CR_BASE + r.below(CR_BYTES / CR_SLOT) * CR_SLOT + r.range(1, CR_SLOT - 1);
  if (k < 97) return DATA_END + r.below(0x4000 / CR_SLOT) * CR_SLOT;
  return 0x20_0000_0000_0000 + r.below(0x1000) * CR_SLOT;
}

/**
 * An address a descriptor may write `len` bytes to: inside the data area, or faulting (running off
 * its end into the tail, in the tail, beyond the memory, at or above 2^53). Never below
 * {@link DATA_BASE}: data must not reach the CR or list areas, so every byte there stays explainable.
 */
export function dataAddress(r: Prng, len: number): number {
  const k = r.below(100);
  const span = DATA_END - DATA_BASE;
  if (k < 82) return DATA_BASE + (len < span ? r.below(span - len + 1) : 0);
  if (k < 88) return DATA_END - r.range(1, Math.max(1, Math.min(len, PAGE)));
  if (k < 93) return DATA_END + r.below(MEM_SIZE - DATA_END);
  if (k < 97) return MEM_SIZE + r.below(0x10_0000);
  return 0x20_0000_0000_0000 + r.below(0x10_0000);
}

/** An address a descriptor only reads: any data address, plus the list and CR areas. */
export function readAddress(r: Prng, len: number): number {
  return r.chance(0.08) ? r.below(DATA_BASE) : dataAddress(r, len);
}

/** A 64-byte aligned list address for `count` elements inside the list area. */
export function listAddress(r: Prng, count: number): number {
  const slots = LIST_BYTES / 64;
  const n = Math.min(count, slots);
  return LIST_BASE + r.below(slots - n + 1) * 64;
}

/** True when a value in a written-address field stays out of the CR and list areas. */
export function safeWriteAddress(lo: number, hi: number): boolean {
  return hi !== 0 || lo >= DATA_BASE;
}
