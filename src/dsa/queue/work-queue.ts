/**
 * A work queue of the DSA model: the accepted-descriptor ring, the configuration latched when the
 * WQ was enabled, and the acceptance rules of dsa-operations.md §9.2–§9.3. Submission copies 64
 * bytes into a preallocated slot and allocates nothing.
 */
import { PORTAL_SLOT } from '../spec/layout.js';
import { SubmitStatus, type SubmitStatusValue } from '../spec/status.js';

// The submission outcomes live with the other status codes (status.ts); re-exported for the model's importers.
export { SubmitStatus, type SubmitStatusValue } from '../spec/status.js';

/** Slot flag: the descriptor's effective Priv. */
export const SLOT_PRIV = 1;
/** Slot flag: submitted through an IMS portal. */
export const SLOT_IMS = 2;
/** Slot flag: the entry counts against a {@link WqShare} (named by `WorkQueue.slotShare`). */
export const SLOT_SHARED = 4;

/**
 * One submitter's part of a shared WQ (a vdev's): the most entries it may have queued or in flight
 * at once. A submission through a portal bound to a share ({@link WorkQueue.enqueueShared}) beyond
 * its limit is answered retry, as a full WQ answers, so one flooding submitter cannot take the room
 * its neighbours need. The limit is either fixed, or fair: the WQ's limited-portal room
 * (min(threshold, size)) divided among the active shares, rounded up. Made by {@link WorkQueue.openShare}.
 */
export class WqShare {
  /** The WQ the share is of. */
  readonly wq: WorkQueue;
  /** Index in the WQ's share table (1..). */
  readonly index: number;
  /** Fixed limit (entries), or 0 for the fair limit. */
  readonly fixed: number;
  /** The limit in force (0 once closed: every submission answers retry). */
  limit = 0;
  /** Entries of the share still queued (not taken by an engine yet). */
  queued = 0;
  /** Counted in the fair division (its submitter may submit: a vdev's virtual WQ is enabled). */
  active = false;
  /** Closed: the share takes nothing more. */
  closed = false;

  /** Used by {@link WorkQueue.openShare}. */
  constructor(wq: WorkQueue, index: number, fixed: number) {
    this.wq = wq;
    this.index = index;
    this.fixed = fixed;
  }

  /** Counts the share in the fair division or not (its submitter can submit, or not); recomputes the fair limits. */
  setActive(on: boolean): void {
    if (this.closed || this.active === on) return;
    this.active = on;
    this.wq.refair();
  }

  /** Closes the share (its submitter is gone): it takes nothing more, and no longer counts. */
  close(): void {
    this.wq.closeShare(this);
  }
}

/**
 * A descriptor taken from a WQ that has not completed yet (it waits for memory reached only by
 * messages, or for its write-back): it keeps its WQ entry — occupancy, acceptance and the waits of
 * Drain and Disable count it — until it completes or is abandoned.
 */
export interface HeldDescriptor {
  /** Acceptance sequence number. */
  readonly seq: number;
  /** Effective PASID. */
  readonly pasid: number;
  /**
   * Executed, only its write-back acknowledgement awaited: its record may already be visible, so it no
   * longer takes the room of a new submission (a driver that reuses a slot when it sees the record is
   * not refused), though it still counts in occupancy and Drain still waits for it.
   */
  readonly settling: boolean;
  /** Abandons it (abort, disable): no record, no interrupt, nothing more written. */
  abandon(): void;
}

/** What a WQ needs from its device. */
export interface WqHost {
  /** A MOVDIR64B hit the full dedicated WQ `wq`: log SWERR 0x53 for the descriptor at `src[off]`. */
  dropped(wq: WorkQueue, src: Uint8Array, off: number): void;
  /** Work was queued: the device may run it (automatic mode). */
  kick(): void;
  /** The descriptor taken from `wq` and executing now was abandoned (from a callback it made): stop it. */
  cancel(wq: WorkQueue): void;
}

/** The configuration a WQ runs with, latched by Enable WQ. */
export interface WqConfig {
  /** Dedicated (true) or shared. */
  readonly dedicated: boolean;
  /** Entries. */
  readonly size: number;
  /** Limited-portal threshold (shared WQs). */
  readonly threshold: number;
  /** Arbitration priority. */
  readonly priority: number;
  /** Block on fault allowed. */
  readonly blockOnFault: boolean;
  /** WQCFG.pasid_en. */
  readonly pasidEnabled: boolean;
  /** WQCFG.pasid (dedicated WQs). */
  readonly pasid: number;
  /** WQCFG.priv (dedicated WQs). */
  readonly priv: boolean;
  /** WQCFG.max_xfer_shift. */
  readonly maxTransferShift: number;
  /** WQCFG.max_batch_shift. */
  readonly maxBatchShift: number;
}

/**
 * One WQ. The ring lives in `bytes` (shared by all WQs of a device) at `base`: {@link slots} slots of
 * 64 bytes, one more than the WQ can hold; per slot the effective PASID, flags and acceptance
 * sequence number are kept beside it.
 *
 * The spare slot is what lets an engine execute a descriptor in place, in the slot it was taken
 * from: entries occupy at most `capacity` consecutive slots starting at {@link head}, so the slot
 * just behind the head — the entry being executed — cannot be reached by submissions made while it
 * runs (from an interrupt or page-request callback), even when they fill the WQ again. For the same
 * reason emptying the WQ (disable, abort) keeps the head where it is.
 */
export class WorkQueue {
  /** WQ index. */
  readonly index: number;
  /** Byte array holding every ring of the device. */
  readonly bytes: Uint8Array;
  /** Offset of this WQ's ring in `bytes`. */
  readonly base: number;
  /** Slots of the ring: the device's total WQ size + 1 (see the class comment). */
  readonly slots: number;
  /** Enabled (WQCFG.wq_state = 1). */
  enabled = false;
  /** Takes submissions (enabled, device Enabled, not being disabled). */
  accepting = false;
  /**
   * Effective PASID of the descriptor taken from this WQ and executing now (-1: none). It has left the
   * ring, so abort, disable and reset reach it through this: it is stopped (see `WqHost.cancel`).
   */
  running = -1;
  /** Latched: dedicated mode. */
  dedicated = false;
  /** Latched: size. */
  size = 0;
  /** Latched: limited-portal limit, min(threshold, size). */
  limit = 0;
  /** Latched: priority. */
  priority = 0;
  /** Latched: block on fault. */
  blockOnFault = false;
  /** Latched: PASID enable. */
  pasidEnabled = false;
  /** Latched: PASID of a dedicated WQ. */
  pasid = 0;
  /** Latched: Priv of a dedicated WQ. */
  priv = false;
  /** Latched: max transfer shift. */
  maxTransferShift = 0;
  /** Latched: max batch shift. */
  maxBatchShift = 0;
  /**
   * Whether an accepted submission kicks the device ({@link WqHost.kick}): set by the device while it
   * runs work as it is accepted (automatic mode), so a deterministic device pays no call per submission.
   */
  runsOnSubmit = true;
  /** Group the WQ belongs to (latched by Enable Device; -1: none). */
  group = -1;
  /** Ring index (slot) of the oldest entry; kept when the WQ is emptied (see the class comment). */
  head = 0;
  /** Entries queued in the ring (not yet taken by an engine). */
  count = 0;
  /**
   * Entries taken by an engine but still in flight ({@link held}); they keep their WQ entry, so the
   * WQ's occupancy is `count + heldCount`.
   */
  heldCount = 0;
  /** In-flight entries that still take room in the WQ (not {@link HeldDescriptor.settling}). */
  heldEntries = 0;
  /** The entries in flight, oldest first. */
  readonly held: HeldDescriptor[] = [];
  /** Sequence number the next accepted descriptor gets. */
  tailSeq = 0;
  /**
   * Entries promised to submitters that are not here yet (the credits of cross-thread portals,
   * shared-portal.ts): they take room like queued entries for every acceptance check, not in occupancy.
   */
  reserved = 0;
  /** Effective PASID per slot. */
  readonly slotPasid: Uint32Array;
  /** {@link SLOT_PRIV} / {@link SLOT_IMS} per slot. */
  readonly slotFlags: Uint8Array;
  /** Acceptance sequence number per slot. */
  readonly slotSeq: Float64Array;
  /** Share index per slot ({@link WqShare.index}; meaningful while the slot's flags have {@link SLOT_SHARED}). */
  readonly slotShare: Uint16Array;
  /** Open shares by index (0: none). */
  private readonly shares: (WqShare | null)[] = [null];
  private readonly host: WqHost;
  private readonly ring: DataView;
  /** `bytes` as words (the rings are 64-byte aligned in it). */
  private readonly ringWords: Int32Array;
  private srcBuffer: ArrayBufferLike | null = null;
  private srcView: DataView;
  /** The submitter's last source array and, from its second submission on, a word view of it (see {@link copyBytes}). */
  private lastSrc: Uint8Array | null = null;
  private lastWords: Int32Array | null = null;
  private wordsTried = false;

  /**
   * @param bytes the byte array of every ring, 4-byte aligned in its buffer, with `capacity + 1`
   *   slots of 64 bytes at `base` (a multiple of 64) for this WQ
   * @param capacity entries the WQ can ever hold (the device's total WQ size)
   */
  constructor(index: number, bytes: Uint8Array, base: number, capacity: number, host: WqHost) {
    this.index = index;
    this.bytes = bytes;
    this.base = base;
    this.slots = capacity + 1;
    this.slotPasid = new Uint32Array(this.slots);
    this.slotFlags = new Uint8Array(this.slots);
    this.slotSeq = new Float64Array(this.slots);
    this.slotShare = new Uint16Array(this.slots);
    this.host = host;
    this.ring = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.ringWords = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2);
    this.srcView = this.ring;
  }

  /** Latches `c` and enables the WQ (empty, accepting when `accepting`). */
  enable(c: WqConfig, accepting: boolean): void {
    this.dedicated = c.dedicated;
    this.size = c.size;
    this.limit = Math.min(c.threshold, c.size);
    this.priority = c.priority;
    this.blockOnFault = c.blockOnFault;
    this.pasidEnabled = c.pasidEnabled;
    this.pasid = c.pasid;
    this.priv = c.priv;
    this.maxTransferShift = c.maxTransferShift;
    this.maxBatchShift = c.maxBatchShift;
    this.dropQueued(-1);
    this.enabled = true;
    this.accepting = accepting;
    this.refair();
  }

  /** Entries the WQ holds: queued plus in flight (WQCFG occupancy). */
  get occupancy(): number {
    return this.count + this.heldCount;
  }

  /** Disables the WQ; queued and in-flight entries are dropped (callers abort or drain first). */
  disable(): void {
    this.enabled = false;
    this.accepting = false;
    this.dropQueued(-1);
    this.abandonHeld(-1);
    this.cancelRunning(-1);
    // Forget the last submitter's buffer: a disabled WQ must not keep a guest's memory alive.
    this.lastSrc = null;
    this.lastWords = null;
    this.srcBuffer = null;
    this.srcView = this.ring;
  }

  // ---------------------------------------------------------------- submission (hot path)

  /** MOVDIR64B of `src[off, off + 64)` (dsa-operations.md §9.2). */
  post(src: Uint8Array, off: number, ims: boolean): SubmitStatusValue {
    if (!this.accepting || !this.dedicated) return SubmitStatus.IGNORED;
    if (this.count + this.heldEntries + this.reserved >= this.size) {
      this.host.dropped(this, src, off);
      return SubmitStatus.DROPPED;
    }
    this.push(src, off, this.pasidEnabled ? this.pasid : 0, (this.priv ? SLOT_PRIV : 0) | (ims ? SLOT_IMS : 0));
    return SubmitStatus.ACCEPTED;
  }

  /** ENQCMD/ENQCMDS of `src[off, off + 64)` with effective `pasid` and `priv` (§9.3). */
  enqueue(src: Uint8Array, off: number, pasid: number, priv: boolean, limited: boolean, ims: boolean): SubmitStatusValue {
    if (!this.accepting || this.dedicated) return SubmitStatus.RETRY;
    if (this.count + this.heldEntries + this.reserved >= (limited ? this.limit : this.size)) return SubmitStatus.RETRY;
    this.push(src, off, pasid & 0xfffff, (priv ? SLOT_PRIV : 0) | (ims ? SLOT_IMS : 0));
    return SubmitStatus.ACCEPTED;
  }

  /**
   * ENQCMD through a portal bound to `share` (a vdev's): as {@link enqueue}, and retry as well while the
   * share has `share.limit` entries queued or in flight. Costs nothing to any other submission.
   */
  enqueueShared(src: Uint8Array, off: number, pasid: number, priv: boolean, limited: boolean, ims: boolean, share: WqShare): SubmitStatusValue {
    if (!this.accepting || this.dedicated || share.wq !== this) return SubmitStatus.RETRY;
    if (this.count + this.heldEntries >= (limited ? this.limit : this.size)) return SubmitStatus.RETRY;
    const p = pasid & 0xfffff;
    if (share.queued + (this.heldEntries !== 0 ? this.heldEntriesOf(p) : 0) >= share.limit) return SubmitStatus.RETRY;
    let slot = this.head + this.count;
    if (slot >= this.slots) slot -= this.slots;
    // Counted before the push: an automatic device may run (and release) the entry inside it.
    this.slotShare[slot] = share.index;
    share.queued++;
    this.push(src, off, p, (priv ? SLOT_PRIV : 0) | (ims ? SLOT_IMS : 0) | SLOT_SHARED);
    return SubmitStatus.ACCEPTED;
  }

  private heldEntriesOf(pasid: number): number {
    let n = 0;
    for (let k = 0; k < this.heldCount; k++) {
      const d = this.held[k] as HeldDescriptor;
      if (d.pasid === pasid && !d.settling) n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- shares

  /**
   * Opens a share of this WQ: `fixed` entries at most (a positive integer), or 0 for the fair limit
   * (see {@link WqShare}). It starts inactive. Throws `RangeError` for a bad limit or when 65,535 shares are open.
   */
  openShare(fixed: number): WqShare {
    if (!Number.isInteger(fixed) || fixed < 0 || fixed > 0xffff) throw new RangeError(`a WQ share limit of ${fixed} entries is not an integer in 0..65535`);
    let i = this.shares.indexOf(null, 1);
    if (i < 0) i = this.shares.length;
    if (i > 0xffff) throw new RangeError(`WQ ${this.index} has 65535 shares open`);
    const s = new WqShare(this, i, fixed);
    this.shares[i] = s;
    this.refair();
    return s;
  }

  /** Used by {@link WqShare.close}: its queued entries stay (untracked); the share takes nothing more. */
  closeShare(s: WqShare): void {
    if (s.closed || this.shares[s.index] !== s) return;
    for (let k = 0; k < this.count; k++) {
      const slot = this.slotAt(k);
      if ((((this.slotFlags[slot] as number) & SLOT_SHARED) !== 0) && this.slotShare[slot] === s.index) this.slotFlags[slot] = (this.slotFlags[slot] as number) & ~SLOT_SHARED;
    }
    s.closed = true;
    s.active = false;
    s.limit = 0;
    s.queued = 0;
    this.shares[s.index] = null;
    while (this.shares.length > 1 && this.shares[this.shares.length - 1] === null) this.shares.pop();
    this.refair();
  }

  /**
   * Recomputes the fair limits: the limited-portal room (min(threshold, size), latched at enable)
   * divided among the active shares, rounded up (at least 1); a fixed limit stays as it is.
   */
  refair(): void {
    let active = 0;
    for (const s of this.shares) if (s !== null && s.active) active++;
    const room = this.limit;
    const fair = Math.max(1, Math.ceil(room / Math.max(1, active)));
    for (const s of this.shares) if (s !== null) s.limit = s.fixed > 0 ? s.fixed : fair;
  }

  /** The entry in `slot` leaves the queue: its share (if any) counts it no more. */
  unshare(slot: number): void {
    const s = this.shares[this.slotShare[slot] as number];
    if (s !== null && s !== undefined && s.queued > 0) s.queued--;
  }

  /** Releases the share counts of the queued entries with PASID `pasid` (-1: all) and, for -1, empties the queue. */
  private dropQueued(pasid: number): void {
    for (let k = 0; k < this.count; k++) {
      const slot = this.slotAt(k);
      if (((this.slotFlags[slot] as number) & SLOT_SHARED) !== 0 && (pasid < 0 || this.slotPasid[slot] === pasid)) this.unshare(slot);
    }
    if (pasid < 0) this.count = 0;
  }

  private push(src: Uint8Array, off: number, pasid: number, flags: number): void {
    let slot = this.head + this.count;
    if (slot >= this.slots) slot -= this.slots;
    const to = this.base + slot * PORTAL_SLOT;
    const w = src === this.lastSrc ? this.lastWords : null;
    const f = off >>> 2;
    if (w !== null && (off & 3) === 0 && f + 16 <= w.length) {
      // The common case, a submitter reusing its descriptor buffer: sixteen word moves written out,
      // which V8 compiles to a few nanoseconds where a `set` of 64 bytes (a builtin call) or a word
      // loop costs three to four times more; inline rather than a helper, as this is where V8's
      // inlining budget of a submission runs out.
      const d = this.ringWords;
      const t = to >>> 2;
      d[t] = w[f] as number;
      d[t + 1] = w[f + 1] as number;
      d[t + 2] = w[f + 2] as number;
      d[t + 3] = w[f + 3] as number;
      d[t + 4] = w[f + 4] as number;
      d[t + 5] = w[f + 5] as number;
      d[t + 6] = w[f + 6] as number;
      d[t + 7] = w[f + 7] as number;
      d[t + 8] = w[f + 8] as number;
      d[t + 9] = w[f + 9] as number;
      d[t + 10] = w[f + 10] as number;
      d[t + 11] = w[f + 11] as number;
      d[t + 12] = w[f + 12] as number;
      d[t + 13] = w[f + 13] as number;
      d[t + 14] = w[f + 14] as number;
      d[t + 15] = w[f + 15] as number;
    } else {
      this.copyBytes(src, off, to);
    }
    this.slotPasid[slot] = pasid;
    this.slotFlags[slot] = flags;
    this.slotSeq[slot] = this.tailSeq++;
    this.count++;
    if (this.runsOnSubmit) this.host.kick();
  }

  /**
   * The byte copy of a submission, and the bookkeeping of the word fast path: the second submission
   * from the same array object makes a word view of it (never the first, so a submitter that passes
   * a fresh array each time allocates nothing here). The view covers the array's length at that
   * moment, so a source that grew later, or an array not 4-byte aligned in its buffer, keeps taking
   * this path (the caller checks the bounds).
   */
  private copyBytes(src: Uint8Array, off: number, to: number): void {
    if (off === 0 && src.length === PORTAL_SLOT) {
      this.bytes.set(src, to);
    } else {
      if (src.buffer !== this.srcBuffer) {
        this.srcView = new DataView(src.buffer);
        this.srcBuffer = src.buffer;
      }
      const from = src.byteOffset + off;
      const sv = this.srcView;
      const dv = this.ring;
      for (let i = 0; i < PORTAL_SLOT; i += 4) dv.setUint32(to + i, sv.getUint32(from + i, true), true);
    }
    if (src !== this.lastSrc) {
      this.lastSrc = src;
      this.lastWords = null;
      this.wordsTried = false;
    } else if (!this.wordsTried) {
      this.wordsTried = true;
      if ((src.byteOffset & 3) === 0) this.lastWords = new Int32Array(src.buffer, src.byteOffset, src.length >>> 2);
    }
  }

  // ---------------------------------------------------------------- dispatch and abort

  /** Byte offset in {@link bytes} of the oldest entry. */
  headOffset(): number {
    return this.base + this.head * PORTAL_SLOT;
  }

  /** Removes the oldest entry (dispatched to an engine). */
  pop(): void {
    this.head = this.head + 1 === this.slots ? 0 : this.head + 1;
    this.count--;
  }

  /** Sequence number of the oldest entry not completed (in flight or queued), or {@link tailSeq} when none. */
  headSeq(): number {
    if (this.heldCount !== 0) return (this.held[0] as HeldDescriptor).seq;
    return this.count === 0 ? this.tailSeq : (this.slotSeq[this.head] as number);
  }

  /** `d` was taken from this WQ and is in flight. */
  hold(d: HeldDescriptor): void {
    this.held.push(d);
    this.heldCount++;
    if (!d.settling) this.heldEntries++;
  }

  /** In-flight `d` became {@link HeldDescriptor.settling}: its room is free for a new submission. */
  settle(d: HeldDescriptor): void {
    if (this.held.includes(d)) this.heldEntries--;
  }

  /** In-flight `d` is replaced by `by` at the same place (same entry, same order). */
  replace(d: HeldDescriptor, by: HeldDescriptor): void {
    const i = this.held.indexOf(d);
    if (i >= 0) this.held[i] = by;
  }

  /** In-flight `d` completed (or was abandoned): its entry is free. */
  release(d: HeldDescriptor): void {
    const i = this.held.indexOf(d);
    if (i < 0) return;
    this.held.splice(i, 1);
    this.heldCount--;
    if (!d.settling) this.heldEntries--;
  }

  /** True when an entry with effective PASID `pasid` is in flight. */
  holds(pasid: number): boolean {
    for (let i = 0; i < this.heldCount; i++) if ((this.held[i] as HeldDescriptor).pasid === pasid) return true;
    return false;
  }

  /** Abandons the in-flight entries with PASID `pasid` (-1: all). */
  private abandonHeld(pasid: number): void {
    if (this.heldCount === 0) return;
    const gone = pasid < 0 ? this.held.slice() : this.held.filter((d) => d.pasid === pasid);
    for (const d of gone) {
      this.release(d);
      d.abandon();
    }
  }

  /** Stops the executing descriptor if it has PASID `pasid` (-1: whatever its PASID); true when one was stopped. */
  cancelRunning(pasid: number): boolean {
    if (this.running < 0 || (pasid >= 0 && this.running !== pasid)) return false;
    this.running = -1;
    this.host.cancel(this);
    return true;
  }

  /** Abandons every queued, in-flight and executing entry (no record, no interrupt). */
  abortAll(): void {
    this.dropQueued(-1);
    this.abandonHeld(-1);
    this.cancelRunning(-1);
  }

  /** Abandons the queued, in-flight and executing entries with effective PASID `pasid`, keeping the others in order. */
  abortPasid(pasid: number): void {
    this.abandonHeld(pasid);
    this.cancelRunning(pasid);
    this.dropQueued(pasid);
    let kept = 0;
    for (let k = 0; k < this.count; k++) {
      const from = this.slotAt(k);
      if (this.slotPasid[from] === pasid) continue;
      const to = this.slotAt(kept);
      if (to !== from) this.moveSlot(from, to);
      kept++;
    }
    this.count = kept;
  }

  /**
   * Removes the queued entries (not taken yet) with effective PASID `pasid`, keeping the others in
   * order; `take` sees each one first (its bytes at `bytes[at]`, its sequence number and slot flags).
   * Entries in flight are left alone. Returns how many were removed.
   */
  takeQueued(pasid: number, take: (at: number, seq: number, flags: number) => void): number {
    let kept = 0;
    const n = this.count;
    for (let k = 0; k < n; k++) {
      const from = this.slotAt(k);
      if (this.slotPasid[from] === pasid) {
        const flags = this.slotFlags[from] as number;
        if ((flags & SLOT_SHARED) !== 0) this.unshare(from);
        take(this.base + from * PORTAL_SLOT, this.slotSeq[from] as number, flags & ~SLOT_SHARED);
        continue;
      }
      const to = this.slotAt(kept);
      if (to !== from) this.moveSlot(from, to);
      kept++;
    }
    this.count = kept;
    return n - kept;
  }

  /** One past the sequence number of the newest queued or in-flight entry with PASID `pasid` (-1: none). */
  lastSeqOf(pasid: number): number {
    for (let k = this.count - 1; k >= 0; k--) {
      const s = this.slotAt(k);
      if (this.slotPasid[s] === pasid) return (this.slotSeq[s] as number) + 1;
    }
    for (let k = this.heldCount - 1; k >= 0; k--) {
      const d = this.held[k] as HeldDescriptor;
      if (d.pasid === pasid) return d.seq + 1;
    }
    return -1;
  }

  /** Entries queued or in flight with effective PASID `pasid`. */
  occupancyOf(pasid: number): number {
    let n = 0;
    for (let k = 0; k < this.count; k++) if (this.slotPasid[this.slotAt(k)] === pasid) n++;
    for (let k = 0; k < this.heldCount; k++) if ((this.held[k] as HeldDescriptor).pasid === pasid) n++;
    return n;
  }

  private slotAt(k: number): number {
    const s = this.head + k;
    return s >= this.slots ? s - this.slots : s;
  }

  private moveSlot(from: number, to: number): void {
    this.bytes.copyWithin(this.base + to * PORTAL_SLOT, this.base + from * PORTAL_SLOT, this.base + (from + 1) * PORTAL_SLOT);
    this.slotPasid[to] = this.slotPasid[from] as number;
    this.slotFlags[to] = this.slotFlags[from] as number;
    this.slotSeq[to] = this.slotSeq[from] as number;
    this.slotShare[to] = this.slotShare[from] as number;
  }
}
