/**
 * WQ slots: the driver's flow control. One slot per descriptor the WQ may hold (the WQ size, or a
 * shared WQ's limited-portal threshold), each with its completion record in guest memory and its
 * completion vector. An operation takes a slot before it submits and gives it back when it is done;
 * without a free slot it waits, in order, so the driver never has more descriptors in flight than the
 * WQ takes.
 */
import { Cr, CR_ALIGN, CR_SIZE } from '../dsa/spec/completion-record.js';
import type { IdxdGuestError } from './errors.js';
import type { GuestHeap } from './heap.js';
import type { Request } from './request.js';
import type { CrView } from './resume.js';
import type { GuestStatsCounter } from './stats.js';

/** One WQ slot: a completion record in guest memory and the descriptor using it. */
export interface Slot {
  /** The record. */
  readonly cr: CrView;
  /** IOVA of the record. */
  readonly crIova: number;
  /** Completion vector of the slot's descriptors (0 when there is none). */
  readonly vector: number;
  /** The request in the slot. */
  req: Request | null;
  /** The completion interrupt (or, polling, the record) arrived. */
  done: boolean;
  /** Handle generation the current descriptor names. */
  handleGen: number;
  /** Wakes the waiting operation (interrupt completion without a poll hook). */
  wake: (() => void) | null;
  /** Set when the descriptor was given up (halt, reset, abort): its waiter throws it. */
  failure: IdxdGuestError | null;
}

/** The slots of one driver. */
export class SlotTable {
  /** Every slot. */
  readonly slots: readonly Slot[];
  /** IOVA of the record block. */
  readonly crBlock: number;
  private readonly free: number[] = [];
  private readonly waiters: ((slot: number) => void)[] = [];
  private readonly mem: Uint8Array;
  private readonly counters: GuestStatsCounter;

  /**
   * `count` slots with records allocated from `heap` (32-byte aligned) in `view` at `offsetOf(iova)`,
   * spread round-robin over completion vectors 1..vectors−1.
   */
  constructor(count: number, vectors: number, heap: GuestHeap, view: DataView, offsetOf: (iova: number) => number, counters: GuestStatsCounter) {
    this.mem = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    this.counters = counters;
    this.crBlock = heap.alloc(count * CR_SIZE, CR_ALIGN);
    const slots: Slot[] = [];
    for (let i = 0; i < count; i++) {
      const crIova = this.crBlock + i * CR_SIZE;
      slots.push({
        cr: { mem: view, at: offsetOf(crIova) }, crIova, vector: vectors >= 2 ? 1 + (i % (vectors - 1)) : 0,
        req: null, done: false, handleGen: 0, wake: null, failure: null,
      });
      this.free.push(count - 1 - i);
    }
    this.slots = slots;
  }

  /** A free slot's index, after waiting for one in order when none is free (−1: the table was closed meanwhile). */
  async acquire(): Promise<number> {
    const free = this.free.pop();
    if (free !== undefined) return free;
    this.counters.queued++;
    return new Promise<number>((resolve) => this.waiters.push(resolve));
  }

  /** Gives slot `i` back: to the oldest waiter, or to the free list. */
  release(i: number): void {
    const s = this.slots[i] as Slot;
    s.req = null;
    s.done = false;
    s.wake = null;
    s.failure = null;
    const next = this.waiters.shift();
    if (next !== undefined) next(i);
    else this.free.push(i);
  }

  /** Completion vector `v` fired: every slot on it whose record is written is done (and its waiter woken). */
  completeVector(v: number): void {
    for (const s of this.slots) {
      if (s.req === null || s.done || s.vector !== v || this.mem[s.cr.at + Cr.STATUS] === 0) continue;
      s.done = true;
      this.counters.op(s.req.op).interrupts++;
      this.wake(s);
    }
  }

  /** Gives up the descriptor of every slot in use whose record is not written (all of them when `all`): its waiter throws `why`. */
  fail(why: IdxdGuestError, all: boolean): void {
    for (const s of this.slots) {
      if (s.req === null || (!all && this.mem[s.cr.at + Cr.STATUS] !== 0)) continue;
      s.done = true;
      s.failure = why;
      this.wake(s);
    }
  }

  /** Wakes every operation waiting for a slot with −1 (the driver closed). */
  close(): void {
    for (const w of this.waiters.splice(0)) w(-1);
  }

  private wake(s: Slot): void {
    const wake = s.wake;
    s.wake = null;
    wake?.();
  }
}
