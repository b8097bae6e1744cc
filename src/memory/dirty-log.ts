/**
 * A log of the pages a device wrote (DMA logging, `vfio-uapi.md` §9.3): the IOVA ranges it covers and
 * one bit per 4 KiB page, kept in lazily allocated chunks so that a log of a large, sparsely written
 * range costs only what was written. An address space marks it on every device write inside a logged
 * range (`IoAddressSpace.addDirtyLog`); a report returns the bits at the granularity the caller asks
 * for and clears them.
 */
import { IOVA_LIMIT, PAGE_SIZE } from './address-space.js';

/** One logged IOVA range. */
export interface DirtyRange {
  /** First IOVA. */
  readonly iova: number;
  /** Length in bytes (non-zero). */
  readonly length: number;
}

/** Pages per bitmap chunk (128 MiB of IOVA, 4 KiB of bits). */
const CHUNK_SHIFT = 15;
const CHUNK_PAGES = 1 << CHUNK_SHIFT;
const CHUNK_WORDS = CHUNK_PAGES >>> 5;

/**
 * The dirty pages of a set of IOVA ranges. `mark` is called by the address space on device writes;
 * {@link report} is the DMA_LOGGING_REPORT of a device. Ranges are fixed at construction (sorted,
 * disjoint); a write outside them is not recorded.
 */
export class DirtyLog {
  /** The logged ranges, sorted by IOVA. */
  readonly ranges: readonly DirtyRange[];
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  private readonly chunks = new Map<number, Uint32Array>();

  /** A log of `ranges` (disjoint; the caller checked them). Throws `RangeError` for an empty, overlapping or out-of-range list. */
  constructor(ranges: readonly DirtyRange[]) {
    const sorted = [...ranges].sort((a, b) => a.iova - b.iova);
    this.starts = new Float64Array(sorted.length);
    this.ends = new Float64Array(sorted.length);
    let last = -1;
    sorted.forEach((r, i) => {
      if (!(r.iova >= 0) || !(r.length > 0) || r.iova + r.length > IOVA_LIMIT) throw new RangeError(`dirty range [${r.iova}, +${r.length}) is not inside [0, 2^53)`);
      if (r.iova < last) throw new RangeError('dirty ranges overlap');
      last = r.iova + r.length;
      this.starts[i] = r.iova;
      this.ends[i] = last;
    });
    this.ranges = Object.freeze(sorted.map((r) => Object.freeze({ iova: r.iova, length: r.length })));
  }

  /** Pages marked and not yet reported (for tests and reports). */
  get dirtyPages(): number {
    let n = 0;
    for (const c of this.chunks.values()) for (let i = 0; i < c.length; i++) n += popcount(c[i] as number);
    return n;
  }

  /** Records a device write of `[iova, iova + length)` (the parts inside the logged ranges). */
  mark(iova: number, length: number): void {
    if (!(length > 0)) return;
    const end = iova + length;
    const starts = this.starts;
    const ends = this.ends;
    // First range ending after iova.
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ends[mid] as number) <= iova) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < starts.length && (starts[i] as number) < end; i++) {
      const a = Math.max(iova, starts[i] as number);
      const b = Math.min(end, ends[i] as number);
      this.setPages(Math.floor(a / PAGE_SIZE), Math.floor((b - 1) / PAGE_SIZE));
    }
  }

  private setPages(first: number, last: number): void {
    for (let p = first; p <= last; ) {
      const key = Math.floor(p / CHUNK_PAGES);
      let c = this.chunks.get(key);
      if (c === undefined) {
        c = new Uint32Array(CHUNK_WORDS);
        this.chunks.set(key, c);
      }
      const base = key * CHUNK_PAGES;
      const stop = Math.min(last, base + CHUNK_PAGES - 1);
      for (; p <= stop; p++) {
        const k = p - base;
        c[k >>> 5] = ((c[k >>> 5] as number) | (1 << (k & 31))) >>> 0;
      }
    }
  }

  /**
   * DMA_LOGGING_REPORT: sets bit u of `bitmap` (little-endian 64-bit words, i.e. bit u % 8 of byte
   * u / 8) when a page overlapping `[iova + u·pageSize, + pageSize)` ∩ `[iova, iova + length)` was
   * written since the last report, and clears the pages that lie wholly inside `[iova, iova + length)`.
   * `bitmap` must hold `ceil(ceil(length / pageSize) / 64)` words; its first that many bytes are
   * written. The caller checked the arguments (`pageSize` a power of two ≥ 4096, the range inside
   * [0, 2^53), `length` > 0).
   */
  report(iova: number, length: number, pageSize: number, bitmap: Uint8Array): void {
    const units = Math.ceil(length / pageSize);
    bitmap.fill(0, 0, Math.ceil(units / 64) * 8);
    const end = iova + length;
    const firstPage = Math.floor(iova / PAGE_SIZE);
    const lastPage = Math.floor((end - 1) / PAGE_SIZE);
    for (const [key, c] of this.chunks) {
      const base = key * CHUNK_PAGES;
      if (base > lastPage || base + CHUNK_PAGES <= firstPage) continue;
      for (let w = 0; w < CHUNK_WORDS; w++) {
        let bits = c[w] as number;
        if (bits === 0) continue;
        let clear = 0;
        while (bits !== 0) {
          const b = 31 - Math.clz32(bits & -bits);
          bits &= ~(1 << b);
          const page = base + w * 32 + b;
          if (page < firstPage || page > lastPage) continue;
          const a = page * PAGE_SIZE;
          const from = Math.max(a, iova);
          const to = Math.min(a + PAGE_SIZE, end);
          const uLo = Math.floor((from - iova) / pageSize);
          const uHi = Math.floor((to - 1 - iova) / pageSize);
          for (let u = uLo; u <= uHi; u++) bitmap[u >>> 3] = (bitmap[u >>> 3] as number) | (1 << (u & 7));
          if (a >= iova && a + PAGE_SIZE <= end) clear |= 1 << b;
        }
        if (clear !== 0) c[w] = ((c[w] as number) & ~clear) >>> 0;
      }
    }
  }

  /** Forgets every mark. */
  clear(): void {
    this.chunks.clear();
  }
}

function popcount(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
