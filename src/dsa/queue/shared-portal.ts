/**
 * Cross-thread portals: a mapped portal page as a descriptor ring in a SharedArrayBuffer, so a guest
 * vCPU in another thread submits without calling into the thread that owns the device model.
 *
 * The guest side ({@link SharedPortal}) answers every submission synchronously, with the same
 * {@link SubmitStatus} values as the in-process {@link Portal.submit}, from words the device side
 * ({@link SharedPortalSet}) publishes in the buffer:
 * - **credits**: WQ entries the device reserved for this ring ({@link WorkQueue.reserved}: they count
 *   as taken for every other submitter). A submission claims one with a compare-and-swap. For the
 *   one ring of a WQ the device keeps `credits = limit − (queued + in flight + claimed, not yet drained)`,
 *   `limit` being the WQ size (a dedicated WQ, an unlimited portal) or min(threshold, size) (a
 *   limited portal) — so, as of the device's last publish, a claim succeeds exactly when the
 *   in-process portal would accept: MOVDIR64B without a credit is DROPPED (the device logs SWERR 0x53
 *   at its next drain), ENQCMD without a credit answers RETRY. Several rings on one WQ split its free
 *   entries at each publish (an ENQCMD race that hardware would also decide by timing). A completion
 *   frees an entry for the guest when the device next publishes (after each poll).
 * - **state**: live, off (the portal is disconnected or its WQ not accepting: posted writes are
 *   IGNORED, enqueues RETRY, as a disabled WQ answers) or dead (the mapping was torn down: the same).
 * - **PASID policy**: the guest PASIDs the vdev translates and whether Priv = 1 is allowed. A shared-WQ
 *   descriptor that misses is DROPPED at once and reported to the device, which tells the portal's
 *   policy (`onReject`, the vdev's SWERR). The guest side only ever chooses the answer: the device
 *   submits every drained slot through the bound {@link Portal}, whose policy applies the vdev's PASID
 *   binding again — whatever a guest writes into the buffer, nothing reaches another PASID or WQ.
 *
 * A slot is claimed with a ticket (an atomic add on the tail), written, then committed by storing
 * `ticket + 1` in its commit word; the device drains strictly in ticket order and stops at the first
 * slot not committed, so a slot half written by a thread that died is never executed. A completion
 * counter counts the drained descriptors no longer in the device (completed, dropped or abandoned), in
 * submission order; a guest thread waits on it with `Atomics.wait`.
 */
import { descPasidAt, descPrivAt } from '../spec/descriptor.js';
import { PORTAL_SLOT } from '../spec/layout.js';
import type { Portal } from './portal.js';
import { SubmitStatus, type SubmitStatusValue, type WorkQueue } from './work-queue.js';

/**
 * Word indices of a shared portal's header (Int32, the first 256 bytes of its buffer), grouped by
 * writer on separate 64-byte lines so the two threads do not fight over one cache line: the
 * rarely changing words (the device's policy, the error mailbox, the waiter count, the sleeping flag),
 * the credits (both), the submitters' words, the device's progress.
 */
export const SharedPortalWord = {
  /** {@link SharedPortalState} | mode << 8 (mode 0: dedicated WQ, MOVDIR64B; 1: shared WQ, ENQCMD). */
  STATE: 0,
  /** Guest PASIDs the binding translates: -1 any (the device decides), else how many follow (≤ 4). */
  PASID_COUNT: 1,
  /** Whether Priv = 1 descriptors are allowed (1) or rejected (0). */
  PRIV_OK: 2,
  /** The translated guest PASIDs (4 words). */
  PASIDS: 3,
  /** Slots in the ring (a power of two). */
  SLOTS: 7,
  /**
   * Error mailbox: 0 empty, -1 being written, else a {@link SharedPortalError} with its 64 bytes in the
   * error slot. (On this quiet line: the device reads it at every drain, and the submitters' line
   * changes at every submission.)
   */
  ERROR: 8,
  /** Errors that found the mailbox busy (each an SWERR overflow). */
  ERROR_LOST: 9,
  /** Guest threads blocked in `Atomics.wait` on {@link DONE} (the device notifies only when some are). */
  WAITERS: 10,
  /** Unclaimed credits. */
  CREDITS: 16,
  /** Next ticket (slot claims). */
  TAIL: 32,
  /** Bumped by a submitter while the device sleeps (the device waits on it). */
  DOORBELL: 33,
  /** Drained descriptors no longer in the device, in ticket order (wait on it). */
  DONE: 48,
  /** Slots drained by the device. */
  HEAD: 49,
  /**
   * 1 while the device thread sleeps waiting for the doorbell. On the quiet line: every submission reads
   * it, and on the progress line each of the device's counter stores made that read a cross-core miss.
   */
  SLEEPING: 11,
} as const;

/** The mode bit in {@link SharedPortalWord.STATE}: a shared WQ (ENQCMD). */
const MODE_SHARED = 0x100;

/** Ring states. */
export const SharedPortalState = {
  /** Not reaching a WQ (disconnected, WQ disabled): posted writes ignored, enqueues retry. */
  OFF: 0,
  /** Reaching its WQ. */
  LIVE: 1,
  /** Torn down (the mapping is gone): as OFF, for good. */
  DEAD: 2,
} as const;

/** What the error mailbox reports. */
export const SharedPortalError = {
  /** A MOVDIR64B dropped for want of a credit (a full dedicated WQ: SWERR 0x53). */
  DROPPED: 1,
  /** A shared-WQ descriptor whose guest PASID has no translation. */
  PASID: 2,
  /** A shared-WQ descriptor with Priv = 1 the binding does not allow. */
  PRIV: 3,
} as const;

/** `Atomics.waitAsync` (Node 16+; not in this project's TypeScript lib). */
interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, index: number, value: number, timeout: number): { async: boolean; value: Promise<unknown> | string };
}

const HEADER_BYTES = 256;
const MAX_PASIDS = 4;

/** Bytes of a shared portal buffer with `slots` slots. */
function layout(slots: number): { commit: number; error: number; ring: number; size: number } {
  const commit = HEADER_BYTES;
  const error = commit + Math.ceil((slots * 4) / PORTAL_SLOT) * PORTAL_SLOT;
  const ring = error + PORTAL_SLOT;
  return { commit, error, ring, size: ring + slots * PORTAL_SLOT };
}

function checkRange(src: Uint8Array, off: number): void {
  if (!(off >= 0) || off + PORTAL_SLOT > src.length) throw new RangeError(`a portal submission needs 64 bytes at offset ${off} of a ${src.length}-byte buffer`);
}

/**
 * The guest side of a cross-thread portal: built in any thread from the buffer the device side made
 * ({@link SharedPortalRing.buffer}); {@link submit} answers as {@link Portal.submit} does, touching
 * nothing but that buffer. Several threads may submit through views of one buffer.
 */
export class SharedPortal {
  /** The shared buffer. */
  readonly buffer: SharedArrayBuffer;
  /** Slots in the ring. */
  readonly slots: number;
  private readonly h: Int32Array;
  private readonly commit: Int32Array;
  private readonly ring: Int32Array;
  private readonly errorWord: number;
  private readonly mask: number;
  private lastSrc: Uint8Array | null = null;
  private lastWords: Int32Array | null = null;
  private lastView: DataView | null = null;
  private ticket = 0;

  /** The guest side of the ring in `buffer`. */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.h = new Int32Array(buffer, 0, HEADER_BYTES >>> 2);
    this.slots = Atomics.load(this.h, SharedPortalWord.SLOTS);
    if (!(this.slots > 0) || (this.slots & (this.slots - 1)) !== 0 || layout(this.slots).size > buffer.byteLength) throw new RangeError('not a shared portal buffer');
    const l = layout(this.slots);
    this.commit = new Int32Array(buffer, l.commit, this.slots);
    this.ring = new Int32Array(buffer, l.ring, this.slots * 16);
    this.errorWord = l.error >>> 2;
    this.mask = this.slots - 1;
  }

  /** The WQ is shared (ENQCMD: retry when full) rather than dedicated (MOVDIR64B: dropped), as last published. */
  get shared(): boolean {
    return (Atomics.load(this.h, SharedPortalWord.STATE) & MODE_SHARED) !== 0;
  }

  /**
   * Submits the descriptor at `src[off, off + 64)`: ACCEPTED (a credit claimed, the slot committed),
   * RETRY (shared WQ: no credit, or the ring is off or dead), DROPPED (dedicated WQ without a credit,
   * or a shared-WQ PASID/Priv the binding refuses — the device reports it in SWERR) or IGNORED
   * (dedicated WQ, ring off or dead). Throws `RangeError` if fewer than 64 bytes are there.
   */
  submit(src: Uint8Array, off = 0): SubmitStatusValue {
    checkRange(src, off);
    const h = this.h;
    // A plain read (an `Atomics.load` is a runtime call in Node 20, ~12 ns): the state only chooses the
    // answer early. A stale LIVE claims a slot the device then treats as its portal is now (a dead
    // ring is never drained; an off portal ignores or retries it), as a posted write racing a disable.
    const st = h[SharedPortalWord.STATE] as number;
    const shared = (st & MODE_SHARED) !== 0;
    if ((st & 0xff) !== SharedPortalState.LIVE) return shared ? SubmitStatus.RETRY : SubmitStatus.IGNORED;
    if (shared) {
      const refused = this.refusal(src, off);
      if (refused !== 0) return this.report(src, off, refused);
    }
    // One read-modify-write claims a credit; a claim that finds none gives it back (the count may dip
    // below zero for that instant: other claimers then find none too, and the device's revoke skips it).
    if (Atomics.sub(h, SharedPortalWord.CREDITS, 1) <= 0) {
      Atomics.add(h, SharedPortalWord.CREDITS, 1);
      return shared ? SubmitStatus.RETRY : this.report(src, off, SharedPortalError.DROPPED);
    }
    const t = Atomics.add(h, SharedPortalWord.TAIL, 1);
    const slot = t & this.mask;
    this.copy(src, off, slot << 4);
    Atomics.store(this.commit, slot, (t + 1) | 0);
    this.ticket = (t + 1) | 0;
    this.ring_();
    return SubmitStatus.ACCEPTED;
  }

  /**
   * Submits up to `count` descriptors, the i-th at `src[off + i·stride, +64)` (`stride` default 64: an
   * array of descriptors; 0: the same one again), as one vCPU's back-to-back MOVDIR64B or ENQCMD with no
   * fence between them: every one this call takes is ACCEPTED, their tickets consecutive. Returns how many
   * it took, from the first on; it stops before the first one {@link submit} would not accept (no credit
   * left, a shared-WQ PASID or Priv the binding refuses, the ring off or dead) and leaves that one
   * unanswered: call {@link submit} for it to get its answer and the report that goes with it.
   *
   * Why it exists: publishing a slot takes a sequentially consistent store, which waits until the slot's
   * cache line has come back from the device thread's core. One at a time, that wait is paid per
   * descriptor; here it is paid about once per call (docs/workers.md, "Submitting in batches").
   * Throws `RangeError` for a bad count or stride, or if a descriptor would lie outside `src`.
   */
  submitMany(src: Uint8Array, off: number, count: number, stride: number = PORTAL_SLOT): number {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`a descriptor count must be a non-negative integer, not ${count}`);
    if (!Number.isInteger(stride) || stride < 0) throw new RangeError(`a descriptor stride must be a non-negative integer, not ${stride}`);
    if (count === 0) return 0;
    checkRange(src, off);
    checkRange(src, off + (count - 1) * stride);
    const h = this.h;
    const st = h[SharedPortalWord.STATE] as number;
    if ((st & 0xff) !== SharedPortalState.LIVE) return 0;
    let k = count;
    if ((st & MODE_SHARED) !== 0) {
      for (let j = 0; j < k; j++) {
        if (this.refusal(src, off + j * stride) !== 0) {
          k = j;
          break;
        }
      }
      if (k === 0) return 0;
    }
    // The credits in one compare-and-swap: never below zero, so a concurrent single submission's claim
    // (which may dip it for an instant) only makes this one take fewer.
    let c = Atomics.load(h, SharedPortalWord.CREDITS);
    for (;;) {
      if (c <= 0) return 0;
      const take = c < k ? c : k;
      const seen = Atomics.compareExchange(h, SharedPortalWord.CREDITS, c, c - take);
      if (seen === c) {
        k = take;
        break;
      }
      c = seen;
    }
    const t = Atomics.add(h, SharedPortalWord.TAIL, k);
    const mask = this.mask;
    // Every slot written before the first commit: the lines' transfers overlap, and the first commit's
    // store waits for all of them at once.
    for (let j = 0; j < k; j++) this.copy(src, off + j * stride, ((t + j) & mask) << 4);
    for (let j = 0; j < k; j++) Atomics.store(this.commit, (t + j) & mask, (t + j + 1) | 0);
    this.ticket = (t + k) | 0;
    this.ring_();
    return k;
  }

  /**
   * Whether the published PASID policy refuses the shared-WQ descriptor at `src[off]`: 0 when it
   * passes (or the device decides), else the {@link SharedPortalError} to report.
   */
  private refusal(src: Uint8Array, off: number): number {
    const h = this.h;
    const n = Atomics.load(h, SharedPortalWord.PASID_COUNT);
    if (n < 0) return 0;
    const pasid = descPasidAt(src, off);
    let found = false;
    for (let i = 0; i < n && i < MAX_PASIDS; i++) if (Atomics.load(h, SharedPortalWord.PASIDS + i) === pasid) found = true;
    if (!found) return SharedPortalError.PASID;
    if (descPrivAt(src, off) && Atomics.load(h, SharedPortalWord.PRIV_OK) === 0) return SharedPortalError.PRIV;
    return 0;
  }

  /** The descriptor's 64 bytes into the ring at word `to` (a word copy when the source is aligned). */
  private copy(src: Uint8Array, off: number, to: number): void {
    if (src !== this.lastSrc) {
      this.lastSrc = src;
      this.lastWords = (src.byteOffset & 3) === 0 ? new Int32Array(src.buffer, src.byteOffset, src.length >>> 2) : null;
      this.lastView = new DataView(src.buffer, src.byteOffset, src.length);
    }
    const d = this.ring;
    const w = this.lastWords;
    if (w !== null && (off & 3) === 0) {
      // Sixteen word moves written out: V8 keeps a 16-step loop a loop (bounds checks and a branch per
      // word), four times the cost of this (as in WorkQueue.push).
      const f = off >>> 2;
      d[to] = w[f] as number;
      d[to + 1] = w[f + 1] as number;
      d[to + 2] = w[f + 2] as number;
      d[to + 3] = w[f + 3] as number;
      d[to + 4] = w[f + 4] as number;
      d[to + 5] = w[f + 5] as number;
      d[to + 6] = w[f + 6] as number;
      d[to + 7] = w[f + 7] as number;
      d[to + 8] = w[f + 8] as number;
      d[to + 9] = w[f + 9] as number;
      d[to + 10] = w[f + 10] as number;
      d[to + 11] = w[f + 11] as number;
      d[to + 12] = w[f + 12] as number;
      d[to + 13] = w[f + 13] as number;
      d[to + 14] = w[f + 14] as number;
      d[to + 15] = w[f + 15] as number;
    } else {
      const v = this.lastView as DataView;
      for (let i = 0; i < 16; i++) d[to + i] = v.getInt32(off + 4 * i, true);
    }
  }

  /** Tells the device about a dropped or rejected descriptor (its bytes, if the mailbox is free); returns DROPPED. */
  private report(src: Uint8Array, off: number, kind: number): SubmitStatusValue {
    const h = this.h;
    if (Atomics.compareExchange(h, SharedPortalWord.ERROR, 0, -1) === 0) {
      const e = new Int32Array(this.buffer, this.errorWord << 2, 16);
      const v = new DataView(src.buffer, src.byteOffset + off, PORTAL_SLOT);
      for (let i = 0; i < 16; i++) e[i] = v.getInt32(4 * i, true);
      Atomics.store(h, SharedPortalWord.ERROR, kind);
    } else {
      Atomics.add(h, SharedPortalWord.ERROR_LOST, 1);
    }
    this.ring_();
    return SubmitStatus.DROPPED;
  }

  /** Wakes a sleeping device: the first submitter to find it asleep clears the flag and rings, once. */
  private ring_(): void {
    const h = this.h;
    if (Atomics.load(h, SharedPortalWord.SLEEPING) !== 0 && Atomics.compareExchange(h, SharedPortalWord.SLEEPING, 1, 0) === 1) {
      Atomics.add(h, SharedPortalWord.DOORBELL, 1);
      Atomics.notify(h, SharedPortalWord.DOORBELL);
    }
  }

  /** Whether the ring is live (reaches its WQ). */
  get live(): boolean {
    return (Atomics.load(this.h, SharedPortalWord.STATE) & 0xff) === SharedPortalState.LIVE;
  }

  /** Whether the mapping was torn down (the vdev closed or removed, the ring unmapped). */
  get dead(): boolean {
    return (Atomics.load(this.h, SharedPortalWord.STATE) & 0xff) === SharedPortalState.DEAD;
  }

  /** Credits left (how many more submissions are accepted before the device publishes again). */
  get credits(): number {
    return Atomics.load(this.h, SharedPortalWord.CREDITS);
  }

  /** The completion counter: descriptors of this ring no longer in the device, in submission order. */
  get completed(): number {
    return Atomics.load(this.h, SharedPortalWord.DONE);
  }

  /** The ticket of this thread's last accepted submission: it is done once {@link completed} reaches it. */
  get lastTicket(): number {
    return this.ticket;
  }

  /**
   * Blocks this thread (`Atomics.wait`; not on a browser main thread) until {@link completed} reaches
   * `ticket` (default: this thread's last submission), the ring dies, or `timeoutMs` passes; returns
   * whether the ticket is done.
   */
  waitCompleted(ticket = this.ticket, timeoutMs = Number.POSITIVE_INFINITY): boolean {
    const h = this.h;
    const end = timeoutMs === Number.POSITIVE_INFINITY ? timeoutMs : Date.now() + timeoutMs;
    for (;;) {
      const done = Atomics.load(h, SharedPortalWord.DONE);
      if (((done - ticket) | 0) >= 0) return true;
      if ((Atomics.load(h, SharedPortalWord.STATE) & 0xff) === SharedPortalState.DEAD) return false;
      const left = end - Date.now();
      if (left <= 0) return false;
      // Counted before the wait, so a device that moves DONE after this sees a waiter to notify (and
      // one that moved it before makes the wait return at once: the value is no longer `done`).
      Atomics.add(h, SharedPortalWord.WAITERS, 1);
      Atomics.wait(h, SharedPortalWord.DONE, done, Math.min(left, 50));
      Atomics.sub(h, SharedPortalWord.WAITERS, 1);
    }
  }
}

/**
 * The device side of one cross-thread portal: its buffer, the bound {@link Portal} drained slots are
 * submitted through, and the device's own bookkeeping (never read back from the buffer: credits
 * granted, slots drained, the WQ sequence number of each drained descriptor not done yet).
 */
export class SharedPortalRing {
  /** The buffer to hand to the guest thread. */
  readonly buffer: SharedArrayBuffer;
  /**
   * The portal drained slots go through (its PASID policy applies to each). Private for real (`#`):
   * a ring handed to an embedder gives no way to the portal's wider methods (`enqcmd` with a PASID,
   * `bind`, `setConnected`).
   */
  readonly #portal: Portal;
  /** Slots. */
  readonly slots: number;
  private readonly h: Int32Array;
  private readonly commit: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly ringAt: number;
  private readonly errorAt: number;
  private readonly mask: number;
  /** Credits granted and not yet drained (the reservation this ring holds in its WQ). */
  outstanding = 0;
  private drained = 0;
  private done = 0;
  private readonly pend: Float64Array;
  private pendHead = 0;
  private pendCount = 0;
  private isDead = false;
  private lastTable: ReadonlyMap<number, number> | null = null;
  private lastTableSize = -1;
  private lastTableGen = 0;

  /** A ring of `slots` (a power of two, at least the WQ's capacity) on `portal`. */
  constructor(portal: Portal, slots: number) {
    if (!(slots > 0) || (slots & (slots - 1)) !== 0) throw new RangeError(`a shared portal needs a power-of-two slot count, not ${slots}`);
    const l = layout(slots);
    this.buffer = new SharedArrayBuffer(l.size);
    this.#portal = portal;
    this.slots = slots;
    this.mask = slots - 1;
    this.h = new Int32Array(this.buffer, 0, HEADER_BYTES >>> 2);
    this.commit = new Int32Array(this.buffer, l.commit, slots);
    this.bytes = new Uint8Array(this.buffer);
    this.ringAt = l.ring;
    this.errorAt = l.error;
    this.pend = new Float64Array(slots);
    this.h[SharedPortalWord.SLOTS] = slots;
    this.h[SharedPortalWord.PASID_COUNT] = -1;
    this.h[SharedPortalWord.STATE] = SharedPortalState.OFF | (portal.queue !== null && !portal.queue.dedicated ? MODE_SHARED : 0);
  }

  /** The WQ reservations are held in. */
  get queue(): WorkQueue | null {
    return this.#portal.queue;
  }

  /** Whether the ring was torn down. */
  get dead(): boolean {
    return this.isDead;
  }

  /** Byte offset in {@link buffer} of the slot of `ticket`. */
  slotOffset(ticket: number): number {
    return this.ringAt + (ticket & this.mask) * PORTAL_SLOT;
  }

  /** Slots drained so far. */
  get drainedCount(): number {
    return this.drained;
  }

  /** Submits the committed slots, in ticket order, then reports a mailboxed error; returns how many slots. */
  drain(): number {
    if (this.isDead) return 0;
    const portal = this.#portal;
    const q = portal.queue;
    // Locals: the submission is a call, after which V8 would load every field again.
    const commit = this.commit;
    const mask = this.mask;
    const bytes = this.bytes;
    const ringAt = this.ringAt;
    const max = this.slots;
    let n = 0;
    // At most one ring's worth per call: a guest that keeps forging commit words cannot hold the device thread.
    while (n < max) {
      const t = this.drained;
      const slot = t & mask;
      if (Atomics.load(commit, slot) !== ((t + 1) | 0)) break;
      this.drained = t + 1;
      if (this.outstanding > 0 && q !== null) {
        this.outstanding--;
        q.reserved--;
      }
      const seq = q === null ? -1 : q.tailSeq;
      const st = portal.submit(bytes, ringAt + slot * PORTAL_SLOT);
      this.pendPush(st === SubmitStatus.ACCEPTED ? seq : -1);
      n++;
    }
    if (n !== 0) Atomics.store(this.h, SharedPortalWord.HEAD, this.drained | 0);
    const kind = Atomics.load(this.h, SharedPortalWord.ERROR);
    if (kind > 0) {
      const lost = Atomics.exchange(this.h, SharedPortalWord.ERROR_LOST, 0);
      for (let i = 0; i <= lost; i++) this.reportError(kind);
      Atomics.store(this.h, SharedPortalWord.ERROR, 0);
    }
    return n;
  }

  /** The mailboxed error, reported as the in-process portal would have. */
  private reportError(kind: number): void {
    const q = this.#portal.queue;
    const at = this.errorAt;
    if (kind === SharedPortalError.DROPPED) {
      // A MOVDIR64B that found no credit: the WQ was full for it. Submitted with the WQ made to look
      // full, so the device logs SWERR 0x53 for it exactly as for a full dedicated WQ.
      if (q === null || !q.dedicated) return;
      const r = q.reserved;
      q.reserved = q.size;
      try {
        this.#portal.submit(this.bytes, at);
      } finally {
        q.reserved = r;
      }
      return;
    }
    const pol = this.#portal.policy;
    if (pol.kind !== 'translate' || !this.#portal.connected) return;
    pol.onReject?.(descPasidAt(this.bytes, at), this.bytes, at, kind === SharedPortalError.PRIV ? 'priv' : 'pasid');
  }

  private pendPush(seq: number): void {
    if (this.pendCount === this.slots) {
      // Only a guest forging commit words gets here: the oldest is counted done.
      this.pendHead = this.pendHead + 1 === this.slots ? 0 : this.pendHead + 1;
      this.pendCount--;
      this.done++;
    }
    let i = this.pendHead + this.pendCount;
    if (i >= this.slots) i -= this.slots;
    this.pend[i] = seq;
    this.pendCount++;
  }

  /** Advances the completion counter past the drained descriptors no longer in the WQ (waking its waiters); returns whether it moved. */
  retire(): boolean {
    if (this.isDead) return false;
    const q = this.#portal.queue;
    const head = q === null ? Number.POSITIVE_INFINITY : q.headSeq();
    const before = this.done;
    while (this.pendCount !== 0 && (this.pend[this.pendHead] as number) < head) {
      this.pendHead = this.pendHead + 1 === this.slots ? 0 : this.pendHead + 1;
      this.pendCount--;
      this.done++;
    }
    if (this.done === before) return false;
    Atomics.store(this.h, SharedPortalWord.DONE, this.done | 0);
    // A notify is a runtime call that takes a lock (~90 ns): only when a guest thread waits.
    if (Atomics.load(this.h, SharedPortalWord.WAITERS) > 0) Atomics.notify(this.h, SharedPortalWord.DONE);
    return true;
  }

  /** Takes back the unclaimed credits (and their reservation). */
  revoke(): void {
    const h = this.h;
    for (;;) {
      const c = Atomics.load(h, SharedPortalWord.CREDITS);
      if (c <= 0) return;
      if (Atomics.compareExchange(h, SharedPortalWord.CREDITS, c, 0) === c) {
        this.outstanding -= c;
        const q = this.#portal.queue;
        if (q !== null) q.reserved -= c;
        return;
      }
    }
  }

  /** Grants `n` more credits (reserving them in the WQ). */
  grant(n: number): void {
    if (n <= 0) return;
    const q = this.#portal.queue;
    if (q === null) return;
    q.reserved += n;
    this.outstanding += n;
    Atomics.add(this.h, SharedPortalWord.CREDITS, n);
  }

  /** Whether the ring can take submissions now (its portal connected, its WQ accepting). */
  reaches(): boolean {
    const q = this.#portal.queue;
    return !this.isDead && this.#portal.connected && q !== null && q.accepting;
  }

  /** The most this ring's portal may have in its WQ: the size, or a limited shared portal's threshold. */
  limit(): number {
    const q = this.#portal.queue;
    if (q === null) return 0;
    return !q.dedicated && this.#portal.limited ? q.limit : q.size;
  }

  /**
   * More entries this ring may be granted under its binder's share of a shared WQ (the per-vdev
   * occupancy limit, `WqShare`): the share's limit less what the share has queued and what this ring
   * holds granted; unbounded without a share. A credit is a promise of acceptance, so it never
   * exceeds what the portal's own submission would accept.
   */
  shareRoom(): number {
    const pol = this.#portal.policy;
    const share = pol.kind === 'translate' ? pol.share : undefined;
    if (share === undefined) return Number.POSITIVE_INFINITY;
    return share.limit - share.queued - this.outstanding;
  }

  /** Publishes state and PASID policy (credits are the set's, the completion counter {@link retire}'s). */
  publishState(): void {
    const h = this.h;
    if (this.isDead) return;
    const q = this.#portal.queue;
    // Stores only when a value changes: the words share a line the submitters read on every submission.
    const state = (this.reaches() ? SharedPortalState.LIVE : SharedPortalState.OFF) | (q !== null && !q.dedicated ? MODE_SHARED : 0);
    if (h[SharedPortalWord.STATE] !== state) Atomics.store(h, SharedPortalWord.STATE, state);
    const pol = this.#portal.policy;
    if (pol.kind === 'translate' && pol.table.size <= MAX_PASIDS) {
      if (pol.table !== this.lastTable || pol.table.size !== this.lastTableSize || this.lastTableGen !== this.tableGen(pol.table)) {
        let i = 0;
        pol.table.forEach((_host, k) => { Atomics.store(h, SharedPortalWord.PASIDS + i++, k); });
        Atomics.store(h, SharedPortalWord.PASID_COUNT, i);
        this.lastTable = pol.table;
        this.lastTableSize = pol.table.size;
        this.lastTableGen = this.tableGen(pol.table);
      }
      const priv = pol.privileged === undefined || pol.privileged.privilegedEnabled ? 1 : 0;
      if (h[SharedPortalWord.PRIV_OK] !== priv) Atomics.store(h, SharedPortalWord.PRIV_OK, priv);
    } else if (h[SharedPortalWord.PASID_COUNT] !== -1) {
      Atomics.store(h, SharedPortalWord.PASID_COUNT, -1);
      Atomics.store(h, SharedPortalWord.PRIV_OK, 1);
    }
  }

  /** A cheap fingerprint of a translation table's keys (it may change in place). */
  private tableGen(t: ReadonlyMap<number, number>): number {
    let g = 0;
    t.forEach((_host, k) => { g = (Math.imul(g, 31) + k) | 0; });
    return g;
  }

  /**
   * Tears the ring down: submissions answer as a dead mapping's (ignored / retry), credits and the
   * WQ reservation are returned (a slot claimed and never committed — its thread died — included),
   * waiters on the completion counter wake. Slots not drained yet are never executed.
   */
  kill(): void {
    if (this.isDead) return;
    Atomics.store(this.h, SharedPortalWord.STATE, SharedPortalState.DEAD | (Atomics.load(this.h, SharedPortalWord.STATE) & MODE_SHARED));
    this.revoke();
    const q = this.#portal.queue;
    if (q !== null) q.reserved -= this.outstanding;
    this.outstanding = 0;
    this.isDead = true;
    Atomics.notify(this.h, SharedPortalWord.DONE);
    Atomics.add(this.h, SharedPortalWord.DOORBELL, 1);
    Atomics.notify(this.h, SharedPortalWord.DOORBELL);
  }

  /** Whether a submitter rang since {@link armSleep} (or the ring has work). */
  armSleep(): number {
    Atomics.store(this.h, SharedPortalWord.SLEEPING, 1);
    return Atomics.load(this.h, SharedPortalWord.DOORBELL);
  }

  /** Clears the sleeping flag. */
  wake(): void {
    Atomics.store(this.h, SharedPortalWord.SLEEPING, 0);
  }

  /** Whether committed slots or a mailboxed error wait to be drained. */
  pending(): boolean {
    if (this.isDead) return false;
    return Atomics.load(this.commit, this.drained & this.mask) === ((this.drained + 1) | 0) || Atomics.load(this.h, SharedPortalWord.ERROR) > 0;
  }

  /** Waits (asynchronously) for the doorbell to move from `bell`. */
  waitDoorbell(bell: number, timeoutMs: number): Promise<unknown> | null {
    const r = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.h, SharedPortalWord.DOORBELL, bell, timeoutMs);
    return r.async ? (r.value as Promise<unknown>) : null;
  }
}

/**
 * The device side of every cross-thread portal of one device thread: it drains the rings into their
 * WQs and publishes credits, states and completion counters. Nothing runs unless called: a
 * deterministic embedder calls {@link drain} and {@link publish} around its steps (or {@link poll});
 * an automatic one sleeps on the doorbells between rounds (see the xthread layer).
 */
export class SharedPortalSet {
  private readonly list: SharedPortalRing[] = [];
  private readonly slots: number;

  /** Rings of `slots` slots (a power of two at least the device's total WQ size; default 256). */
  constructor(slots = 256) {
    this.slots = slots;
  }

  /** Every live ring. */
  get rings(): readonly SharedPortalRing[] {
    return this.list;
  }

  /** A new ring on `portal` (published at once). */
  add(portal: Portal): SharedPortalRing {
    const q = portal.queue;
    let slots = this.slots;
    if (q !== null) while (slots < q.slots) slots *= 2;
    const r = new SharedPortalRing(portal, slots);
    this.list.push(r);
    this.publish();
    return r;
  }

  /** Kills `ring` and forgets it. */
  remove(ring: SharedPortalRing): void {
    ring.kill();
    const i = this.list.indexOf(ring);
    if (i >= 0) this.list.splice(i, 1);
    this.publish();
  }

  /** Kills every ring that satisfies `which` (all when omitted). */
  removeWhere(which: (ring: SharedPortalRing) => boolean = () => true): number {
    let n = 0;
    for (const r of this.list.slice()) {
      if (which(r)) {
        this.remove(r);
        n++;
      }
    }
    return n;
  }

  /** Drains every ring; returns the slots submitted. */
  drain(): number {
    let n = 0;
    const l = this.list;
    for (let i = 0; i < l.length; i++) n += (l[i] as SharedPortalRing).drain();
    return n;
  }

  /** Whether any ring has work waiting. */
  pending(): boolean {
    for (const r of this.list) if (r.pending()) return true;
    return false;
  }

  /**
   * Publishes every ring: state and PASID policy, credits — a ring that cannot reach its WQ gets none
   * (its unclaimed ones are taken back); the rings of one WQ share its free entries (one ring gets them
   * all) — and last the completion counters. Returns whether a completion counter moved.
   */
  publish(): boolean {
    const l = this.list;
    for (let i = 0; i < l.length; i++) {
      const r = l[i] as SharedPortalRing;
      r.publishState();
      if (!r.reaches()) r.revoke();
    }
    for (let i = 0; i < l.length; i++) {
      const r = l[i] as SharedPortalRing;
      const q = r.queue;
      if (q === null || !r.reaches()) continue;
      // The first live ring of each WQ deals that WQ's credits.
      let first = true;
      for (let j = 0; j < i; j++) if ((l[j] as SharedPortalRing).queue === q && (l[j] as SharedPortalRing).reaches()) first = false;
      if (first) this.deal(q, i);
    }
    // Completions last: a guest woken by its completion finds the entry it freed already credited.
    let moved = false;
    for (let i = 0; i < l.length; i++) if ((l[i] as SharedPortalRing).retire()) moved = true;
    return moved;
  }

  private deal(q: WorkQueue, from: number): void {
    const l = this.list;
    let n = 0;
    for (let i = from; i < l.length; i++) if ((l[i] as SharedPortalRing).queue === q && (l[i] as SharedPortalRing).reaches()) n++;
    if (n > 1) for (let i = from; i < l.length; i++) if ((l[i] as SharedPortalRing).queue === q) (l[i] as SharedPortalRing).revoke();
    let left = n;
    for (let i = from; i < l.length && left > 0; i++) {
      const r = l[i] as SharedPortalRing;
      if (r.queue !== q || !r.reaches()) continue;
      const free = r.limit() - (q.count + q.heldEntries + q.reserved);
      const room = r.shareRoom();
      const grant = Math.min(Math.ceil(free / left), room);
      if (free > 0 && grant > 0) r.grant(grant);
      left--;
    }
  }

  /** One deterministic round: drain, `step` the device (e.g. `() => dsa.step()`), publish; returns whether anything happened. */
  poll(step: () => boolean): boolean {
    const drained = this.drain();
    const ran = step();
    const moved = this.publish();
    return drained !== 0 || ran || moved;
  }
}
