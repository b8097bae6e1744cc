/**
 * A transaction over memory the device reaches only by messages: what one descriptor sees of an
 * address space that holds {@link RemoteRegion}s, kept apart from the memory until the descriptor
 * commits.
 *
 * The device model is synchronous and the port is not. A descriptor therefore runs in *attempts*: a
 * translation of a remote page the transaction does not hold starts one fetch of the whole run asked
 * for (coalesced, up to {@link FETCH_SPAN}) and reports "pending" through the run's `DmaSession` (session.ts);
 * the device unwinds the attempt, and runs it again from the start once every fetch has been answered.
 * An attempt leaves no effect behind: its writes land in the transaction (remote pages in their fetched
 * copy, whose pristine bytes are restored when the attempt is unwound; ordinary pages in a private
 * copy, dropped then), so re-running from the start is exact. Pages fetched by earlier attempts of the
 * same descriptor are kept; nothing is kept across descriptors (the guest may change its memory between
 * them).
 *
 * When the last attempt completes, {@link DmaTransaction.commit} writes back what it wrote, in the order
 * the device wrote it: ranges of one port are sent back to back (the port keeps them in order); before
 * anything goes to another port or to ordinary memory, every write already sent is acknowledged — so a
 * completion record (written last, status byte after the rest) never reaches the guest before the data
 * it reports. A remote page the port could not deliver, or one beyond {@link TRANSACTION_BUDGET}, is a
 * page fault, like an unmapped page.
 */
import type { DmaRun } from './address-space.js';
import { PAGE_SIZE } from './address-space.js';
import type { IoAddressSpace } from './io-address-space.js';
import { MappingPlace } from './mapping-place.js';
import { REMOTE_TRANSFER_LIMIT, type RemoteMemoryPort, type RemotePageHolder, type RemoteRegion } from './remote.js';

/** Most bytes one miss asks for (in {@link REMOTE_TRANSFER_LIMIT} pieces): the rest of the run, up to this. */
export const FETCH_SPAN = 8 << 20;
/**
 * Most bytes one transaction keeps (fetched pages and private copies of ordinary pages). A page beyond
 * faults, so a descriptor over more remote memory than this completes partially (Bytes Completed) and
 * the guest continues it, as after any page fault.
 */
export const TRANSACTION_BUDGET = 64 << 20;

const PAGE = PAGE_SIZE;
const LIMIT = REMOTE_TRANSFER_LIMIT;
const EMPTY = new Uint8Array(0);

/** Page states. */
const FETCHING = 0;
/** Fetched, as the port delivered it (or as the current attempt wrote it). */
const CLEAN = 1;
/** The port refused it, or the budget is spent: a fault. */
const GONE = 2;
/** A private copy of a page of ordinary memory the current attempt writes. */
const SHADOW = 3;

/** One fetch under way. */
class Fetch {
  /** Answered or cancelled: a later answer is ignored. */
  done = false;
  constructor(
    readonly gen: number,
    readonly region: RemoteRegion,
    readonly iova: number,
    readonly length: number,
  ) {}
}

/** One page the transaction holds. */
class Page {
  state = FETCHING;
  /** The remote region the page belongs to (null: ordinary memory). */
  region: RemoteRegion | null = null;
  /** Ordinary memory: its bytes, and the offset in them of the page's first byte. */
  backing: Uint8Array = EMPTY;
  memOffset = 0;
  /** Where the page's 4096 bytes are held. */
  bytes: Uint8Array = EMPTY;
  offset = 0;
  /** The fetch it waits for. */
  fetch: Fetch | null = null;
  /** The page's bytes before the attempt `undoAttempt` first wrote it. */
  undo: Uint8Array | null = null;
  undoAttempt = -1;
}

/** One range written, in device order. */
class WriteEntry {
  region: RemoteRegion | null = null;
  backing: Uint8Array = EMPTY;
  /** Ordinary memory: offset in `backing` of IOVA 0 (the mapping's offset − its IOVA). */
  delta = 0;
  iova = 0;
  end = 0;
  /** Nothing merges into it (a completion record). */
  sealed = false;
}

/** What one descriptor sees of an address space with remote memory. Reused: see `DmaSession` (session.ts). */
export class DmaTransaction implements RemotePageHolder {
  /** The address space the last translation through the transaction came from (write-back verifies against it). */
  space: IoAddressSpace | null = null;
  private readonly pages = new Map<number, Page>();
  /** Bumped by {@link reset}: answers to older fetches and writes are ignored. */
  private gen = 0;
  private attempt = 0;
  private waiting = 0;
  private readonly fetches: Fetch[] = [];
  private kept = 0;
  private shadows = 0;
  private lowPage = Number.POSITIVE_INFINITY;
  private highPage = -1;
  private readonly dirtied: Page[] = [];
  private readonly journal: WriteEntry[] = [];
  private journalLength = 0;
  private readonly regions = new Set<RemoteRegion>();
  private committing = false;
  private pumping = false;
  private cursor = 0;
  private writesOut = 0;
  private failed = 0;
  private lastPort: RemoteMemoryPort | null = null;
  private scratch: Uint8Array = EMPTY;
  private readonly place = new MappingPlace();
  /** Where private copies of ordinary pages are kept (reused from descriptor to descriptor). */
  private slab: Uint8Array = EMPTY;
  private slabUsed = 0;
  /** Page records to reuse. */
  private readonly spare: Page[] = [];

  /** Fetches not answered yet (the descriptor can run again when 0). */
  get outstanding(): number {
    return this.waiting;
  }

  /** Bytes the transaction keeps (fetched pages and private copies). */
  get keptBytes(): number {
    return this.kept;
  }

  /** Write-backs the port refused during the last commit. */
  get failedWrites(): number {
    return this.failed;
  }

  /** Called when the last outstanding fetch has been answered (or cancelled by an unmap). */
  protected ready(): void {}

  /** Called when a {@link commit} has finished (every write-back acknowledged, ordinary memory written). */
  protected committed(): void {}

  // ---------------------------------------------------------------- attempts

  /** Starts an attempt: the writes of the previous one are forgotten (it was unwound). */
  beginAttempt(): void {
    this.attempt++;
    this.journalLength = 0;
    this.dirtied.length = 0;
  }

  /**
   * Unwinds the current attempt: remote pages it wrote get their bytes back, private copies of ordinary
   * pages are dropped, its write journal is emptied. Fetched pages stay.
   */
  abortAttempt(): void {
    for (const p of this.dirtied) {
      if (p.undoAttempt === this.attempt && p.undo !== null) {
        p.bytes.set(p.undo, p.offset);
        p.undoAttempt = -1;
      }
    }
    this.dirtied.length = 0;
    if (this.shadows > 0) {
      for (const [k, p] of this.pages) {
        if (p.state === SHADOW) {
          this.pages.delete(k);
          this.kept -= PAGE;
          this.free(p);
        }
      }
      this.shadows = 0;
      // Private copies are the slab's only users: it is free again.
      this.slabUsed = 0;
    }
    this.journalLength = 0;
  }

  /** Forgets everything (fetches under way are ignored when they answer) so the object can serve another descriptor. */
  reset(): void {
    this.gen++;
    for (const f of this.fetches) f.done = true;
    this.fetches.length = 0;
    this.waiting = 0;
    for (const p of this.pages.values()) this.free(p);
    this.pages.clear();
    this.kept = 0;
    this.slabUsed = 0;
    if (this.slab.length > 4 * LIMIT) this.slab = EMPTY;
    this.shadows = 0;
    this.lowPage = Number.POSITIVE_INFINITY;
    this.highPage = -1;
    this.dirtied.length = 0;
    this.journalLength = 0;
    for (const r of this.regions) r.release(this);
    this.regions.clear();
    this.committing = false;
    this.pumping = false;
    this.cursor = 0;
    this.writesOut = 0;
    this.failed = 0;
    this.lastPort = null;
    this.space = null;
    this.attempt = 0;
    if (this.scratch.length > LIMIT) this.scratch = EMPTY;
  }

  // ---------------------------------------------------------------- translation (called by the address space)

  /**
   * Translates `[iova, iova + length)` of remote `region` (already clamped to the mapping, permission
   * checked): a run into a held page, or 0 — a fault (the page cannot be had), or, with the session's
   * `pending` set, a fetch under way.
   */
  translateRemote(region: RemoteRegion, iova: number, length: number, write: boolean, out: DmaRun): number {
    const idx = Math.floor(iova / PAGE);
    let p = this.pages.get(idx);
    if (p !== undefined && p.region !== region) {
      this.forget(idx, p);
      p = undefined;
    }
    if (p === undefined) return this.miss(region, iova, length, out);
    if (p.state !== CLEAN) {
      if (p.state === FETCHING) this.wait(out);
      return 0;
    }
    const n = this.extend(p, idx, iova, length);
    if (write) {
      const last = Math.floor((iova + n - 1) / PAGE);
      for (let k = idx; k <= last; k++) this.keepUndo(this.pages.get(k) as Page);
      if (out.explicit !== true) this.record(region, EMPTY, 0, iova, n);
    }
    out.bytes = p.bytes;
    out.offset = p.offset + (iova - idx * PAGE);
    return n;
  }

  /**
   * Translates `[iova, iova + length)` of ordinary memory `backing` mapped with offset `delta + iova`
   * (clamped to the mapping, permission checked). Reads go to the memory itself unless the attempt wrote
   * the page; writes go to a private copy of the page, written back at commit.
   */
  translateLocal(backing: Uint8Array, delta: number, iova: number, length: number, write: boolean, out: DmaRun): number {
    const idx = Math.floor(iova / PAGE);
    let n = length;
    if (this.pages.size !== 0) {
      const p = this.pages.get(idx);
      if (p !== undefined) {
        if (p.state === SHADOW && p.backing === backing && p.memOffset === delta + idx * PAGE) {
          const m = this.extend(p, idx, iova, length);
          if (write && out.explicit !== true) this.record(null, backing, delta, iova, m);
          out.bytes = p.bytes;
          out.offset = p.offset + (iova - idx * PAGE);
          return m;
        }
        this.forget(idx, p);
      }
      n = this.untilHeld(idx, iova, n);
    }
    if (!write) {
      out.bytes = backing;
      out.offset = delta + iova;
      return n;
    }
    return this.shadow(backing, delta, idx, iova, n, out);
  }

  /**
   * The owner of an explicit run wrote `[iova, iova + length)` through it (a completion record): it is
   * written back after everything written so far, bytes 1.. first and byte 0 (the status) last.
   */
  published(iova: number, length: number): void {
    const idx = Math.floor(iova / PAGE);
    const p = this.pages.get(idx);
    if (p === undefined || (p.state !== SHADOW && p.state !== CLEAN)) return; // written to ordinary memory directly
    const delta = p.state === SHADOW ? p.memOffset - idx * PAGE : 0;
    if (length > 1) this.push(p.region, p.backing, delta, iova + 1, iova + length, true);
    this.push(p.region, p.backing, delta, iova, iova + 1, true);
  }

  /** Waits for a fetch: the run's session is told the attempt must be unwound. */
  private wait(out: DmaRun): void {
    const s = out.session;
    if (s !== null && s !== undefined) s.pending = true;
  }

  /** The run from `p` (page `idx`) on: up to `length` bytes over pages held contiguously with it. */
  private extend(p: Page, idx: number, iova: number, length: number): number {
    let n = (idx + 1) * PAGE - iova;
    if (n >= length) return length;
    let last = p;
    for (let k = idx + 1; n < length; k++) {
      const q = this.pages.get(k);
      if (q === undefined || q.state !== p.state || q.region !== p.region || q.bytes !== p.bytes || q.offset !== last.offset + PAGE) break;
      n += length - n < PAGE ? length - n : PAGE;
      last = q;
    }
    return n;
  }

  /** `length` cut before the first page after `idx` the transaction holds (a direct run must not pass it). */
  private untilHeld(idx: number, iova: number, length: number): number {
    const lastIdx = Math.floor((iova + length - 1) / PAGE);
    const from = idx + 1 > this.lowPage ? idx + 1 : this.lowPage;
    const to = lastIdx < this.highPage ? lastIdx : this.highPage;
    for (let k = from; k <= to; k++) if (this.pages.has(k)) return k * PAGE - iova;
    return length;
  }

  /** Saves a remote page's bytes before the current attempt first writes it. */
  private keepUndo(p: Page): void {
    if (p.undoAttempt === this.attempt) return;
    if (p.undo === null) p.undo = new Uint8Array(PAGE);
    p.undo.set(p.bytes.subarray(p.offset, p.offset + PAGE));
    p.undoAttempt = this.attempt;
    this.dirtied.push(p);
  }

  /** A remote page not held: fetch the run (pages not held yet, up to the span and the budget). */
  private miss(region: RemoteRegion, iova: number, length: number, out: DmaRun): number {
    const start = Math.floor(iova / PAGE) * PAGE;
    let stop = Math.ceil((iova + length) / PAGE) * PAGE;
    if (stop - start > FETCH_SPAN) stop = start + FETCH_SPAN;
    for (let a = start + PAGE; a < stop; a += PAGE) {
      if (this.pages.has(a / PAGE)) {
        stop = a;
        break;
      }
    }
    const room = Math.floor((TRANSACTION_BUDGET - this.kept) / PAGE) * PAGE;
    if (room <= 0) {
      const p = this.page();
      p.state = GONE;
      p.region = region;
      this.put(start / PAGE, p);
      this.kept += PAGE;
      return 0;
    }
    if (stop - start > room) stop = start + room;
    this.wait(out);
    this.fetch(region, start, stop);
    return 0;
  }

  /**
   * A hint (`AddressSpace.prefetch`): fetches the pages of `[iova, iova + length)` of `region` not
   * held yet (up to the fetch span and the budget), as a miss would, without waiting for them.
   */
  prefetch(region: RemoteRegion, iova: number, length: number): void {
    let a = Math.floor(iova / PAGE) * PAGE;
    const stop = Math.min(Math.ceil((iova + length) / PAGE) * PAGE, a + FETCH_SPAN);
    while (a < stop) {
      if (this.pages.has(a / PAGE)) {
        a += PAGE;
        continue;
      }
      let b = a + PAGE;
      while (b < stop && !this.pages.has(b / PAGE)) b += PAGE;
      const room = Math.floor((TRANSACTION_BUDGET - this.kept) / PAGE) * PAGE;
      if (room <= 0) return;
      if (b - a > room) b = a + room;
      this.fetch(region, a, b);
      a = b;
    }
  }

  /** Starts the fetch of `[start, stop)` of `region` (whole pages, none held), in transfer-limit pieces. */
  private fetch(region: RemoteRegion, start: number, stop: number): void {
    if (!this.regions.has(region)) {
      this.regions.add(region);
      region.hold(this);
    }
    this.kept += stop - start;
    for (let a = start; a < stop; a += LIMIT) {
      const len = stop - a < LIMIT ? stop - a : LIMIT;
      const fetch = new Fetch(this.gen, region, a, len);
      this.fetches.push(fetch);
      for (let b = a; b < a + len; b += PAGE) {
        const p = this.page();
        p.region = region;
        p.fetch = fetch;
        this.put(b / PAGE, p);
      }
      this.waiting++;
      region.read(a, len, (bytes) => this.arrived(fetch, bytes));
    }
  }

  /** A fetch was answered: its pages are held (or gone, when the port refused). */
  private arrived(fetch: Fetch, bytes: Uint8Array | null): void {
    if (fetch.done || fetch.gen !== this.gen) return;
    fetch.done = true;
    const i = this.fetches.indexOf(fetch);
    if (i >= 0) this.fetches.splice(i, 1);
    const first = fetch.iova / PAGE;
    const count = fetch.length / PAGE;
    for (let k = 0; k < count; k++) {
      const p = this.pages.get(first + k);
      if (p === undefined || p.fetch !== fetch) continue;
      p.fetch = null;
      if (bytes !== null) {
        p.state = CLEAN;
        p.bytes = bytes;
        p.offset = k * PAGE;
      } else {
        p.state = GONE;
      }
    }
    this.waiting--;
    if (this.waiting === 0) this.ready();
  }

  /** A private copy of the pages of `[iova, iova + length)` of ordinary memory, for writing. */
  private shadow(backing: Uint8Array, delta: number, idx: number, iova: number, length: number, out: DmaRun): number {
    const start = idx * PAGE;
    let stop = Math.ceil((iova + length) / PAGE) * PAGE;
    const room = Math.floor((TRANSACTION_BUDGET - this.kept) / PAGE) * PAGE;
    if (room <= 0) return 0;
    let n = length;
    if (stop - start > room) {
      stop = start + room;
      n = stop - iova;
    }
    const size = stop - start;
    if (this.slabUsed + size > this.slab.length) {
      // A bigger slab; pages already in the old one keep it alive until they are dropped.
      this.slab = new Uint8Array(Math.max(size, 2 * this.slab.length, 16 * PAGE));
      this.slabUsed = 0;
    }
    const buf = this.slab;
    const at = this.slabUsed;
    this.slabUsed += size;
    const m0 = delta + start;
    buf.set(backing.subarray(m0, m0 + size), at);
    for (let k = 0; k < size / PAGE; k++) {
      const p = this.page();
      p.state = SHADOW;
      p.backing = backing;
      p.memOffset = m0 + k * PAGE;
      p.bytes = buf;
      p.offset = at + k * PAGE;
      this.put(idx + k, p);
    }
    this.shadows += size / PAGE;
    this.kept += size;
    if (out.explicit !== true) this.record(null, backing, delta, iova, n);
    out.bytes = buf;
    out.offset = at + (iova - start);
    return n;
  }

  /** A blank page record (reused). */
  private page(): Page {
    return this.spare.pop() ?? new Page();
  }

  /** Returns a page record for reuse. */
  private free(p: Page): void {
    p.state = FETCHING;
    p.region = null;
    p.backing = EMPTY;
    p.bytes = EMPTY;
    p.fetch = null;
    p.undoAttempt = -1;
    if (this.spare.length < 4096) this.spare.push(p);
  }

  private put(idx: number, p: Page): void {
    this.pages.set(idx, p);
    if (idx < this.lowPage) this.lowPage = idx;
    if (idx > this.highPage) this.highPage = idx;
  }

  /** Drops a page held for another mapping than the one now at its IOVA. */
  private forget(idx: number, p: Page): void {
    this.pages.delete(idx);
    this.kept -= PAGE;
    if (p.state === SHADOW) this.shadows--;
    this.free(p);
  }

  // ---------------------------------------------------------------- the write journal

  /** Records a write of `[iova, iova + n)`, merged into the last entry when it continues or overlaps it. */
  private record(region: RemoteRegion | null, backing: Uint8Array, delta: number, iova: number, n: number): void {
    const end = iova + n;
    if (this.journalLength > 0) {
      const t = this.journal[this.journalLength - 1] as WriteEntry;
      if (!t.sealed && t.region === region && t.backing === backing && t.delta === delta && iova <= t.end && end >= t.iova) {
        if (iova < t.iova) t.iova = iova;
        if (end > t.end) t.end = end;
        return;
      }
    }
    this.push(region, backing, delta, iova, end, false);
  }

  private push(region: RemoteRegion | null, backing: Uint8Array, delta: number, iova: number, end: number, sealed: boolean): void {
    let e = this.journal[this.journalLength];
    if (e === undefined) {
      e = new WriteEntry();
      this.journal.push(e);
    }
    this.journalLength++;
    e.region = region;
    e.backing = backing;
    e.delta = delta;
    e.iova = iova;
    e.end = end;
    e.sealed = sealed;
  }

  // ---------------------------------------------------------------- commit

  /**
   * Writes back what the last attempt wrote, in device order (see the module comment). Returns true
   * when it finished at once (nothing went to a port; {@link committed} has been called), false when it
   * waits for acknowledgements ({@link committed} is called when the last one arrives). A range whose
   * mapping is gone (unmapped, or remapped elsewhere) by the time it would be written is skipped.
   */
  commit(): boolean {
    this.committing = true;
    this.cursor = 0;
    this.writesOut = 0;
    this.failed = 0;
    this.lastPort = null;
    return this.pump();
  }

  private pump(): boolean {
    this.pumping = true;
    try {
      while (this.cursor < this.journalLength) {
        const e = this.journal[this.cursor] as WriteEntry;
        if (e.region !== null) {
          const port = e.region.port;
          if (this.writesOut > 0 && port !== this.lastPort) return false;
          this.lastPort = port;
          this.writeBack(e);
        } else {
          if (this.writesOut > 0) return false;
          this.copyBack(e);
        }
        this.cursor++;
      }
      if (this.writesOut > 0) return false;
    } finally {
      this.pumping = false;
    }
    this.committing = false;
    this.committed();
    return true;
  }

  /** Sends the still-mapped pieces of remote entry `e` through its region's port. */
  private writeBack(e: WriteEntry): void {
    const region = e.region as RemoteRegion;
    let a = e.iova;
    while (a < e.end) {
      const pageEnd = (Math.floor(a / PAGE) + 1) * PAGE;
      if (!this.mapped(a, region)) {
        a = pageEnd;
        continue;
      }
      const limit = Math.min(e.end, this.place.end, a + LIMIT);
      const n = this.gather(a, limit, region);
      if (n === 0) {
        a = pageEnd;
        continue;
      }
      this.writesOut++;
      const gen = this.gen;
      const at = a;
      // Dirty logging: marked when sent and again when acknowledged, so a report made while the peer
      // has not applied the write yet cannot be the last to show the page.
      this.space?.markDirty(at, n);
      region.write(at, this.scratch.subarray(0, n), (ok) => this.written(gen, ok, at, n));
      a += n;
    }
  }

  /** True when `iova` is mapped for writing, through `region`, in the transaction's space (`place` filled). */
  private mapped(iova: number, region: RemoteRegion | null): boolean {
    const s = this.space;
    return s !== null && s.locate(iova, true, this.place) && this.place.region === region;
  }

  /** Copies the held bytes of `[from, to)` of `region` into the scratch, up to the first page not held; returns the count. */
  private gather(from: number, to: number, region: RemoteRegion): number {
    if (this.scratch.length < to - from) this.scratch = new Uint8Array(Math.max(to - from, PAGE));
    let a = from;
    while (a < to) {
      const idx = Math.floor(a / PAGE);
      const p = this.pages.get(idx);
      if (p === undefined || p.state !== CLEAN || p.region !== region) break;
      const end = Math.min(to, (idx + 1) * PAGE);
      const at = p.offset + (a - idx * PAGE);
      this.scratch.set(p.bytes.subarray(at, at + (end - a)), a - from);
      a = end;
    }
    return a - from;
  }

  /** Copies the private copies of ordinary entry `e` into the memory, where it is still mapped the same way. */
  private copyBack(e: WriteEntry): void {
    let a = e.iova;
    while (a < e.end) {
      const idx = Math.floor(a / PAGE);
      const p = this.pages.get(idx);
      if (p === undefined || p.state !== SHADOW || !this.mapped(a, null) || this.place.backing !== e.backing || this.place.delta !== e.delta) {
        a = (idx + 1) * PAGE;
        continue;
      }
      // The run of copies held contiguously from here, inside the mapping and the entry.
      const end = Math.min(e.end, this.place.end, a + this.extend(p, idx, a, e.end - a));
      const at = p.offset + (a - idx * PAGE);
      e.backing.set(p.bytes.subarray(at, at + (end - a)), e.delta + a);
      this.space?.markDirty(a, end - a);
      a = end;
    }
  }

  private written(gen: number, ok: boolean, iova: number, length: number): void {
    if (gen !== this.gen || !this.committing) return;
    if (ok) this.space?.markDirty(iova, length);
    this.writesOut--;
    if (!ok) this.failed++;
    if (this.writesOut === 0 && !this.pumping) this.pump();
  }

  // ---------------------------------------------------------------- unmap

  /** See {@link RemotePageHolder.dropRange}: fetches of the range are cancelled, its pages forgotten. */
  dropRange(region: RemoteRegion, from: number, to: number): void {
    let cancelled = false;
    for (let i = this.fetches.length - 1; i >= 0; i--) {
      const f = this.fetches[i] as Fetch;
      if (f.region === region && f.iova < to && f.iova + f.length > from) {
        f.done = true;
        this.fetches.splice(i, 1);
        this.waiting--;
        cancelled = true;
      }
    }
    for (const [k, p] of this.pages) {
      if (p.region !== region) continue;
      const a = k * PAGE;
      if ((a >= from && a < to) || (p.fetch !== null && p.fetch.done)) {
        this.pages.delete(k);
        this.kept -= PAGE;
        this.free(p);
      }
    }
    if (cancelled && this.waiting === 0) this.ready();
  }
}
