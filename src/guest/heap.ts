/**
 * A small first-fit allocator over a range of IOVAs of guest memory: completion records, batch
 * lists and their element records, and (for the caller's convenience) data buffers. Blocks are
 * aligned as asked (completion records need 32 bytes, descriptor lists 64); freed blocks coalesce
 * with their neighbours.
 */
import { IdxdGuestError } from './errors.js';

/** First-fit allocator of guest-memory IOVA ranges. */
export class GuestHeap {
  /** First IOVA managed. */
  readonly base: number;
  /** Bytes managed. */
  readonly size: number;
  /** Free ranges, sorted by start, never adjacent. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly used = new Map<number, number>();

  /** Manages `[base, base + size)`. */
  constructor(base: number, size: number) {
    if (!Number.isSafeInteger(base) || !Number.isSafeInteger(size) || base < 0 || size <= 0) {
      throw new IdxdGuestError('argument', `heap range [${base}, +${size}) is not a positive range of integers`);
    }
    this.base = base;
    this.size = size;
    this.starts.push(base);
    this.ends.push(base + size);
  }

  /** Bytes not allocated (possibly fragmented). */
  get available(): number {
    let n = 0;
    for (let i = 0; i < this.starts.length; i++) n += (this.ends[i] as number) - (this.starts[i] as number);
    return n;
  }

  /** Allocates `size` bytes aligned to `align` (a power of two); returns the IOVA. */
  alloc(size: number, align = 64): number {
    if (!Number.isSafeInteger(size) || size <= 0) throw new IdxdGuestError('argument', `cannot allocate ${size} bytes`);
    if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0) {
      throw new IdxdGuestError('argument', `alignment ${align} is not a power of two`);
    }
    for (let i = 0; i < this.starts.length; i++) {
      const s = this.starts[i] as number;
      const e = this.ends[i] as number;
      const a = Math.ceil(s / align) * align;
      if (a + size > e) continue;
      // Carve [a, a + size) out of [s, e): keep the head [s, a) and the tail [a + size, e) when non-empty.
      const pieces: number[] = [];
      if (a > s) pieces.push(s, a);
      if (a + size < e) pieces.push(a + size, e);
      const starts = pieces.filter((_, k) => k % 2 === 0);
      const ends = pieces.filter((_, k) => k % 2 === 1);
      this.starts.splice(i, 1, ...starts);
      this.ends.splice(i, 1, ...ends);
      this.used.set(a, size);
      return a;
    }
    throw new IdxdGuestError('memory', `no ${size} free bytes aligned to ${align} in guest memory (${this.available} free)`);
  }

  /** Frees the block at `iova` (which `alloc` returned). */
  free(iova: number): void {
    const size = this.used.get(iova);
    if (size === undefined) throw new IdxdGuestError('argument', `0x${iova.toString(16)} is not an allocated block`);
    this.used.delete(iova);
    let i = 0;
    while (i < this.starts.length && (this.starts[i] as number) < iova) i++;
    let s = iova;
    let e = iova + size;
    // Merge with the previous range when it ends here, and with the next when it starts at the end.
    if (i > 0 && this.ends[i - 1] === s) {
      i--;
      s = this.starts[i] as number;
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    }
    if (i < this.starts.length && this.starts[i] === e) {
      e = this.ends[i] as number;
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    }
    this.starts.splice(i, 0, s);
    this.ends.splice(i, 0, e);
  }
}
