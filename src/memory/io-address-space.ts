import { type AddressSpace, type DmaRun, IOVA_LIMIT, PAGE_SIZE, Perm } from './address-space.js';
import type { DirtyLog } from './dirty-log.js';
import type { GuestMemory } from './guest-memory.js';
import type { MappingPlace } from './mapping-place.js';
import type { RemoteRegion } from './remote.js';

/** One mapping of an `IoAddressSpace`, as reported by `IoAddressSpace.extents()`. */
export interface Extent {
  /** First IOVA of the extent (4 KiB aligned). */
  readonly iova: number;
  /** Length in bytes (multiple of 4 KiB). */
  readonly size: number;
  /** Backing memory (null for memory reached only by messages, see `remote`). */
  readonly memory: GuestMemory | null;
  /** Byte offset in `memory` that `iova` maps to (0 for remote memory). */
  readonly memOffset: number;
  /** Permission bits (`Perm`). */
  readonly perm: number;
  /** The region reached through a port, for memory reached only by messages (absent otherwise). */
  readonly remote?: RemoteRegion;
}

const NO_BYTES = new Uint8Array(0);

/**
 * The bytes `bytes` (a whole-buffer view, as every backing is) covers now: its buffer's byte length.
 * Read from the buffer, not the view's `length`, which optimized code may cache after a detach or a
 * resize (seen on Node 20).
 */
function liveLength(bytes: Uint8Array): number {
  return bytes.buffer.byteLength;
}

/** The whole pages of `live` bytes (a page only partly left is gone). */
function wholePages(live: number): number {
  return live - (live % PAGE_SIZE);
}

/**
 * How many of the `n` bytes from offset `at` guest memory `bytes` still backs with whole pages: `n`
 * while the buffer is whole; fewer (up to a page boundary: mappings are page aligned in memory and
 * IOVA alike) or 0 when its ArrayBuffer was detached (transferred) or a resizable one shrank below
 * the mapping. Memory that no longer exists translates as unmapped (a page fault), never as a
 * success or a TypeError.
 */
function backed(bytes: Uint8Array, at: number, n: number): number {
  const have = wholePages(liveLength(bytes)) - at;
  if (have >= n) return n;
  return have > 0 ? have : 0;
}
// Module-local copies for `translate` (V8 folds a module's own `const` into optimized code but
// re-reads an imported binding at every use).
const READ = Perm.READ;
const WRITE = Perm.WRITE;

function checkPageArg(name: string, value: number, limit: number): void {
  if (!Number.isSafeInteger(value) || value < 0 || value > limit) {
    throw new RangeError(`${name} ${value} is not an integer in [0, ${limit}]`);
  }
  if (value % PAGE_SIZE !== 0) {
    throw new RangeError(`${name} 0x${value.toString(16)} is not 4 KiB aligned`);
  }
}

/**
 * The library's `AddressSpace`: IOVA pages (4 KiB) mapped onto guest memory with read/write
 * permission. Mappings are kept as sorted, non-overlapping extents; neighbours that are contiguous
 * in IOVA and in backing memory and have equal permissions are merged, so translating a large
 * physically contiguous range is one lookup (binary search, plus a last-hit cache).
 *
 * Extents may also be memory reached only by messages ({@link mapRemote}: a {@link RemoteRegion} and
 * its port). While the space holds one, every translation goes through the run's `DmaSession` (see
 * `DmaTransaction`): remote pages are fetched into it and every write — to ordinary memory too — is
 * kept in it until the descriptor commits, so a descriptor that must wait for a page can be run again
 * from the start. A space without remote memory translates exactly as before (the last-hit cache).
 *
 * Dirty logs ({@link addDirtyLog}) are marked on every device write, whatever path wrote: a direct
 * write when it is translated (the device writes what it translated before anything else can run), a
 * transaction's writes when they reach the memory (`DmaTransaction` commit). While no log is
 * installed a write costs nothing more: the last-hit cache then keeps the WRITE permission, and it
 * drops it while a log is installed, so every write translation takes the miss path, which marks.
 *
 * `map`/`unmap` are host API: bad arguments throw `RangeError`. `translate` never throws.
 */
export class IoAddressSpace implements AddressSpace {
  private starts: number[] = [];
  private ends: number[] = [];
  private memories: (GuestMemory | null)[] = [];
  private backing: Uint8Array[] = [];
  private offsets: number[] = [];
  private perms: number[] = [];
  private remotes: (RemoteRegion | null)[] = [];
  /** Remote extents held: while non-zero, translation goes through the session (and the last-hit cache stays empty). */
  private remoteCount = 0;
  // The last-hit extent as scalars, so a repeated hit is two compares and no array look-up.
  // An empty cache (start > end) matches no IOVA; every map/unmap/clear empties it.
  private hitStart = 1;
  private hitEnd = 0;
  private hitPerm = 0;
  private hitBytes: Uint8Array = NO_BYTES;
  /**
   * The length of `hitBytes` when the hit was cached (`hitEnd` then stops where its whole pages end, so
   * a hit needs only this one compare to know the memory is still there: a detached buffer's view reads
   * 0). Memory in a resizable buffer is never cached: its view's length is not trusted in optimized
   * code, every translation reads the buffer's byte length.
   */
  private hitLive = -1;
  private hitDelta = 0;
  /** The dirty logs installed (null: none, the common case). */
  private logs: DirtyLog[] | null = null;

  /** Number of extents (after merging). */
  get extentCount(): number {
    return this.starts.length;
  }

  /** Total number of mapped bytes. */
  get mappedBytes(): number {
    let total = 0;
    for (let i = 0; i < this.starts.length; i++) total += (this.ends[i] as number) - (this.starts[i] as number);
    return total;
  }

  /**
   * Maps `[iova, iova + size)` onto `memory` at `memOffset` with permission `perm` (`Perm.READ`,
   * `Perm.WRITE` or `Perm.RW`). All of `iova`, `size`, `memOffset` must be 4 KiB aligned, `size > 0`,
   * the range must lie below 2^53, inside `memory`, and must not overlap an existing mapping.
   */
  map(iova: number, size: number, memory: GuestMemory, memOffset: number, perm: number): void {
    checkPageArg('iova', iova, IOVA_LIMIT);
    checkPageArg('size', size, IOVA_LIMIT);
    checkPageArg('memOffset', memOffset, memory.size);
    if (size === 0) throw new RangeError('size must not be 0');
    if (iova + size > IOVA_LIMIT) throw new RangeError('mapping reaches beyond 2^53');
    if (memOffset + size > memory.size) {
      throw new RangeError(`mapping [0x${memOffset.toString(16)}, +0x${size.toString(16)}) exceeds guest memory of ${memory.size} bytes`);
    }
    if (perm !== Perm.READ && perm !== Perm.WRITE && perm !== Perm.RW) {
      throw new RangeError(`permission ${perm} is not READ, WRITE or RW`);
    }
    const end = iova + size;
    const i = this.upperBound(iova); // first extent starting after iova
    if (i > 0 && (this.ends[i - 1] as number) > iova) throw new RangeError(`IOVA 0x${iova.toString(16)} is already mapped`);
    if (i < this.starts.length && (this.starts[i] as number) < end) {
      throw new RangeError(`IOVA range [0x${iova.toString(16)}, 0x${end.toString(16)}) overlaps an existing mapping`);
    }
    this.insertAt(i, iova, end, memory, memOffset, perm, null);
    // Merge with the successor first so index i stays valid, then with the predecessor.
    if (i + 1 < this.starts.length && this.contiguous(i, i + 1)) this.mergeInto(i, i + 1);
    if (i > 0 && this.contiguous(i - 1, i)) this.mergeInto(i - 1, i);
    this.forgetHit();
  }

  /**
   * Maps `[region.iova, + region.size)` as memory reached only through `region.port`, with the region's
   * permission. The same rules as {@link map} (aligned, below 2^53, no overlap); never merged with a
   * neighbour.
   */
  mapRemote(region: RemoteRegion): void {
    const { iova, size, perm } = region;
    checkPageArg('iova', iova, IOVA_LIMIT);
    checkPageArg('size', size, IOVA_LIMIT);
    if (size === 0) throw new RangeError('size must not be 0');
    if (iova + size > IOVA_LIMIT) throw new RangeError('mapping reaches beyond 2^53');
    if (perm !== Perm.READ && perm !== Perm.WRITE && perm !== Perm.RW) {
      throw new RangeError(`permission ${perm} is not READ, WRITE or RW`);
    }
    const end = iova + size;
    const i = this.upperBound(iova);
    if (i > 0 && (this.ends[i - 1] as number) > iova) throw new RangeError(`IOVA 0x${iova.toString(16)} is already mapped`);
    if (i < this.starts.length && (this.starts[i] as number) < end) {
      throw new RangeError(`IOVA range [0x${iova.toString(16)}, 0x${end.toString(16)}) overlaps an existing mapping`);
    }
    this.insertAt(i, iova, end, null, 0, perm, region);
    this.forgetHit();
  }

  /**
   * Where `iova` is mapped with the access `write` needs: fills `out` (region or backing bytes and
   * delta, extent end) and returns true, or returns false (unmapped, or no permission).
   */
  locate(iova: number, write: boolean, out: MappingPlace): boolean {
    const i = this.upperBound(iova) - 1;
    if (i < 0 || (this.ends[i] as number) <= iova || ((this.perms[i] as number) & (write ? WRITE : READ)) === 0) return false;
    out.region = this.remotes[i] as RemoteRegion | null;
    out.backing = this.backing[i] as Uint8Array;
    out.delta = (this.offsets[i] as number) - (this.starts[i] as number);
    out.end = this.ends[i] as number;
    return true;
  }

  /** See `AddressSpace.prefetch`: fetches the remote pages of the range the run's transaction lacks. */
  prefetch(iova: number, length: number, out: DmaRun): void {
    const session = out.session;
    if (this.remoteCount === 0 || session === null || session === undefined || !(iova >= 0) || !(length > 0)) return;
    const end = Math.min(iova + length, IOVA_LIMIT);
    let a = iova;
    let i = this.upperBound(a) - 1;
    if (i < 0 || (this.ends[i] as number) <= a) i++;
    for (; i < this.starts.length && a < end; i++) {
      const s = this.starts[i] as number;
      if (s >= end) return;
      if (s > a) a = s;
      const stop = Math.min(this.ends[i] as number, end);
      const region = this.remotes[i] as RemoteRegion | null;
      if (region !== null) (session.tx ?? session.begin()).prefetch(region, a, stop - a);
      a = stop;
    }
  }

  /** True while the space holds memory reached only by messages. */
  get hasRemote(): boolean {
    return this.remoteCount !== 0;
  }

  /**
   * Unmaps every mapped page of `[iova, iova + size)` (4 KiB aligned), splitting extents as needed.
   * Unmapped holes in the range are ignored. Returns the number of bytes that were mapped. Every
   * transaction holding pages of a remote extent in the range forgets them (`RemoteRegion.invalidate`).
   */
  unmap(iova: number, size: number): number {
    checkPageArg('iova', iova, IOVA_LIMIT);
    checkPageArg('size', size, IOVA_LIMIT);
    const end = Math.min(iova + size, IOVA_LIMIT);
    let removed = 0;
    let gone: [RemoteRegion, number, number][] | null = null;
    let i = this.upperBound(iova) - 1;
    if (i < 0) i = 0;
    while (i < this.starts.length && (this.starts[i] as number) < end) {
      const s = this.starts[i] as number;
      const e = this.ends[i] as number;
      if (e <= iova) {
        i++;
        continue;
      }
      const cutStart = Math.max(s, iova);
      const cutEnd = Math.min(e, end);
      removed += cutEnd - cutStart;
      const mem = this.memories[i] as GuestMemory | null;
      const off = this.offsets[i] as number;
      const perm = this.perms[i] as number;
      const remote = this.remotes[i] as RemoteRegion | null;
      this.removeAt(i);
      if (cutEnd < e) this.insertAt(i, cutEnd, e, mem, remote === null ? off + (cutEnd - s) : 0, perm, remote);
      if (s < cutStart) {
        this.insertAt(i, s, cutStart, mem, off, perm, remote);
        i++;
      }
      if (cutEnd < e) i++;
      if (remote !== null) (gone ??= []).push([remote, cutStart, cutEnd]);
    }
    this.forgetHit();
    // Once the space is whole again: a holder told now (which may run a descriptor again at once)
    // finds the range unmapped.
    if (gone !== null) for (const [r, from, to] of gone) r.invalidate(from, to);
    return removed;
  }

  /** Removes every mapping. */
  clear(): void {
    const gone: [RemoteRegion, number, number][] = [];
    for (let i = 0; i < this.starts.length; i++) {
      const r = this.remotes[i];
      if (r !== null && r !== undefined) gone.push([r, this.starts[i] as number, this.ends[i] as number]);
    }
    this.starts = [];
    this.ends = [];
    this.memories = [];
    this.backing = [];
    this.offsets = [];
    this.perms = [];
    this.remotes = [];
    this.remoteCount = 0;
    this.forgetHit();
    for (const [r, from, to] of gone) r.invalidate(from, to);
  }

  /** True when every byte of `[iova, iova + size)` is mapped with at least the permission bits `perm`. */
  isMapped(iova: number, size: number, perm: number = Perm.READ): boolean {
    if (!(iova >= 0) || !(size > 0) || iova + size > IOVA_LIMIT) return false;
    let a = iova;
    const end = iova + size;
    while (a < end) {
      const i = this.upperBound(a) - 1;
      if (i < 0 || (this.ends[i] as number) <= a || ((this.perms[i] as number) & perm) !== perm) return false;
      a = this.ends[i] as number;
    }
    return true;
  }

  /** The extents in IOVA order (a snapshot; not for hot paths). */
  extents(): Extent[] {
    const out: Extent[] = [];
    for (let i = 0; i < this.starts.length; i++) {
      const iova = this.starts[i] as number;
      const e: Extent = {
        iova,
        size: (this.ends[i] as number) - iova,
        memory: this.memories[i] as GuestMemory | null,
        memOffset: this.offsets[i] as number,
        perm: this.perms[i] as number,
      };
      const remote = this.remotes[i];
      out.push(remote === null || remote === undefined ? e : { ...e, remote });
    }
    return out;
  }

  /** See `AddressSpace.translate`. */
  translate(iova: number, length: number, write: boolean, out: DmaRun): number {
    // The last hit's extent (the common case: one large mapping), when the cache holds the permission
    // asked for (it lacks one on a fault, and WRITE while a dirty log is installed) and the buffer still
    // has the length it had (a detached buffer's view reads 0; resizable buffers are never cached).
    // One condition, one miss call: this function is inlined into the engine's hot path, and V8 stops
    // inlining when the path's bytecode grows.
    const bytes = this.hitBytes;
    if (iova < this.hitEnd && iova >= this.hitStart && (this.hitPerm & (write ? WRITE : READ)) !== 0 && bytes.length === this.hitLive) {
      const avail = this.hitEnd - iova;
      out.bytes = bytes;
      out.offset = this.hitDelta + iova;
      return avail < length ? avail : length;
    }
    return this.translateMiss(iova, length, write, out);
  }

  /** `translate` outside the last-hit extent: binary search, then remember the extent. */
  private translateMiss(iova: number, length: number, write: boolean, out: DmaRun): number {
    const starts = this.starts;
    const ends = this.ends;
    // Binary search: last extent with start <= iova.
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= iova) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    if (i < 0 || (ends[i] as number) <= iova) return 0;
    if (this.remoteCount !== 0) return this.translateMixed(i, iova, length, write, out);
    const start = starts[i] as number;
    const end = ends[i] as number;
    const perm = this.perms[i] as number;
    this.hitStart = start;
    this.hitEnd = end;
    // While a log is installed, writes must come back here to be marked.
    this.hitPerm = this.logs === null ? perm : perm & ~WRITE;
    this.hitBytes = this.backing[i] as Uint8Array;
    this.hitDelta = (this.offsets[i] as number) - start;
    this.hitLive = this.hitBytes.length;
    // The hit covers only memory that exists now (whole pages of the buffer as it is), and none of a
    // resizable buffer (see `hitLive`).
    const backedEnd = start + wholePages(liveLength(this.hitBytes)) - (this.offsets[i] as number);
    if (backedEnd < end) this.hitEnd = backedEnd;
    if ((this.hitBytes.buffer as { resizable?: boolean }).resizable === true) this.hitEnd = 0;
    if ((perm & (write ? WRITE : READ)) === 0) return 0;
    const at = this.hitDelta + iova;
    const avail = end - iova;
    const n = backed(this.hitBytes, at, avail < length ? avail : length);
    if (n === 0) return 0;
    out.bytes = this.hitBytes;
    out.offset = at;
    if (write && this.logs !== null) this.markDirty(iova, n);
    return n;
  }

  /**
   * `translate` in a space that holds remote memory (extent `i` holds `iova`): through the run's
   * session's transaction; without a session, ordinary memory directly and remote memory not at all.
   * The last-hit cache is not used (it would bypass the transaction).
   */
  private translateMixed(i: number, iova: number, length: number, write: boolean, out: DmaRun): number {
    if (((this.perms[i] as number) & (write ? WRITE : READ)) === 0) return 0;
    const end = this.ends[i] as number;
    const region = this.remotes[i] as RemoteRegion | null;
    const delta = (this.offsets[i] as number) - (this.starts[i] as number);
    const whole = end - iova < length ? end - iova : length;
    const n = region === null ? backed(this.backing[i] as Uint8Array, delta + iova, whole) : whole;
    if (n === 0) return 0;
    const session = out.session;
    if (session === null || session === undefined) {
      if (region !== null) return 0;
      out.bytes = this.backing[i] as Uint8Array;
      out.offset = delta + iova;
      if (write && this.logs !== null) this.markDirty(iova, n);
      return n;
    }
    const tx = session.tx ?? session.begin();
    if (tx.space !== this) tx.space = this;
    return region !== null
      ? tx.translateRemote(region, iova, n, write, out)
      : tx.translateLocal(this.backing[i] as Uint8Array, delta, iova, n, write, out);
  }

  // ---------------------------------------------------------------- dirty logging

  /**
   * Installs `log`: from now on every device write through this space inside the log's ranges marks
   * it, whatever path wrote (see the class comment). Installing a log twice is a no-op.
   */
  addDirtyLog(log: DirtyLog): void {
    const logs = this.logs ?? [];
    if (logs.includes(log)) return;
    this.logs = [...logs, log];
    this.forgetHit();
  }

  /** Removes `log` (no more marks); a log not installed is ignored. */
  removeDirtyLog(log: DirtyLog): void {
    if (this.logs === null) return;
    const rest = this.logs.filter((l) => l !== log);
    this.logs = rest.length === 0 ? null : rest;
    this.forgetHit();
  }

  /** True while a dirty log is installed. */
  get logging(): boolean {
    return this.logs !== null;
  }

  /** Marks `[iova, iova + length)` written in every installed log (a no-op without one). */
  markDirty(iova: number, length: number): void {
    const logs = this.logs;
    if (logs === null) return;
    for (let i = 0; i < logs.length; i++) (logs[i] as DirtyLog).mark(iova, length);
  }

  private forgetHit(): void {
    this.hitStart = 1;
    this.hitEnd = 0;
    this.hitPerm = 0;
    this.hitBytes = NO_BYTES;
    this.hitLive = -1;
    this.hitDelta = 0;
  }

  private upperBound(iova: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as number) <= iova) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private contiguous(a: number, b: number): boolean {
    return (
      this.remotes[a] === null &&
      this.remotes[b] === null &&
      this.ends[a] === this.starts[b] &&
      this.memories[a] === this.memories[b] &&
      this.perms[a] === this.perms[b] &&
      (this.offsets[a] as number) + ((this.ends[a] as number) - (this.starts[a] as number)) === this.offsets[b]
    );
  }

  private mergeInto(a: number, b: number): void {
    this.ends[a] = this.ends[b] as number;
    this.removeAt(b);
  }

  private insertAt(i: number, start: number, end: number, memory: GuestMemory | null, offset: number, perm: number, remote: RemoteRegion | null): void {
    this.starts.splice(i, 0, start);
    this.ends.splice(i, 0, end);
    this.memories.splice(i, 0, memory);
    this.backing.splice(i, 0, memory === null ? NO_BYTES : memory.bytes);
    this.offsets.splice(i, 0, offset);
    this.perms.splice(i, 0, perm);
    this.remotes.splice(i, 0, remote);
    if (remote !== null) this.remoteCount++;
  }

  private removeAt(i: number): void {
    if (this.remotes[i] !== null) this.remoteCount--;
    this.remotes.splice(i, 1);
    this.starts.splice(i, 1);
    this.ends.splice(i, 1);
    this.memories.splice(i, 1);
    this.backing.splice(i, 1);
    this.offsets.splice(i, 1);
    this.perms.splice(i, 1);
  }
}
