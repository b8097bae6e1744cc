/**
 * One operation from its encoded request to its result: a WQ slot taken (waiting for one when the WQ
 * is full), the descriptor submitted and waited for, resumed after each page fault the fault hook
 * resolves (dsa-operations.md §6.4), and the final completion record turned into the result — or an
 * error carrying the status. Requests come from a pool and go back to it.
 */
import { Cr } from '../dsa/spec/completion-record.js';
import { Status, STATUS_CODE_MASK, STATUS_WRITE } from '../dsa/spec/status.js';
import { accountDelta, type DeltaMemory, releaseDelta, retargetDelta } from './delta.js';
import { IdxdGuestError, IdxdStatusError } from './errors.js';
import type { GuestIrq } from './irq.js';
import type { OpResult } from './ops.js';
import type { IdxdGuestOptions, PageFault } from './options.js';
import { Request } from './request.js';
import { isOutcome, resultOf } from './results.js';
import { crBytes, crFaultAddress, type CrView, resume } from './resume.js';
import type { Slot, SlotTable } from './slots.js';
import type { GuestStatsCounter } from './stats.js';
import type { Submitter } from './submit.js';

/** Bound on resolved-but-still-faulting rounds on one address without progress. */
const FAULT_REPEAT_LIMIT = 3;

/** What a batch descriptor's run reports. */
export interface BatchRun {
  /** Descriptors submitted for the batch itself. */
  readonly submissions: number;
  /** List faults resolved. */
  readonly faults: number;
}

/** Runs operations. */
export class OpRunner {
  /** The memory CR_DELTA bookkeeping works in. */
  readonly delta: DeltaMemory;
  private readonly pool: Request[] = [];
  private readonly slots: SlotTable;
  private readonly submitter: Submitter;
  private readonly irq: GuestIrq;
  private readonly counters: GuestStatsCounter;
  private readonly options: IdxdGuestOptions;

  /** A runner over the driver's parts. */
  constructor(slots: SlotTable, submitter: Submitter, irq: GuestIrq, counters: GuestStatsCounter, options: IdxdGuestOptions, delta: DeltaMemory) {
    this.slots = slots;
    this.submitter = submitter;
    this.irq = irq;
    this.counters = counters;
    this.options = options;
    this.delta = delta;
  }

  /** A request from the pool. */
  take(): Request {
    return this.pool.pop() ?? new Request();
  }

  /** Returns a request to the pool. */
  give(r: Request): void {
    this.pool.push(r);
  }

  /** A WQ slot's index (waiting in order when none is free); throws when the driver halted or closed meanwhile. */
  private async acquire(): Promise<number> {
    this.submitter.stillRunning();
    const i = await this.slots.acquire();
    if (i < 0) throw new IdxdGuestError('closed', 'the driver is shut down');
    try {
      this.submitter.stillRunning();
    } catch (e) {
      this.slots.release(i);
      throw e;
    }
    return i;
  }

  /**
   * After a partial completion: the fault hook resolves the fault (else the operation fails with
   * EFAULT), then the descriptor is edited to do the rest. Returns what is left (0: done).
   */
  async afterFault(r: Request, c: CrView, status: number): Promise<number> {
    const address = crFaultAddress(c);
    const bc = crBytes(c);
    const hook = this.options.onPageFault;
    const fault: PageFault = { op: r.op, address, write: (status & STATUS_WRITE) !== 0, status, bytesCompleted: r.progress + bc };
    if (bc === 0 && address === r.lastFault) r.faultRepeats++;
    else r.faultRepeats = 0;
    r.lastFault = address;
    if (hook === undefined || r.faultRepeats >= FAULT_REPEAT_LIMIT || !(await hook(fault))) {
      throw new IdxdStatusError('page-fault', r.op, status, r.progress + bc, address);
    }
    this.submitter.stillRunning();
    r.faults++;
    this.counters.op(r.op).faults++;
    return resume(r, c);
  }

  /**
   * What a record holding a partial completion of `r` leaves to do: 0 when the operation is over
   * (CR_DELTA found its overflow, or nothing remains); otherwise the request is edited for the rest.
   */
  async resumeAfter(r: Request, c: CrView, status: number): Promise<number> {
    // CR_DELTA: account the entries written so far; an overflow found in the scratch record ends the operation.
    if (r.op === 'createDelta' && accountDelta(r, c, this.delta, false)) return 0;
    const left = await this.afterFault(r, c, status);
    if (left > 0 && r.op === 'createDelta') retargetDelta(r, this.delta);
    return left;
  }

  /** The result of `r` whose final record `c` holds the outcome `code`. */
  finish(r: Request, c: CrView, code: number): OpResult {
    if (r.op === 'createDelta') accountDelta(r, c, this.delta, true);
    return resultOf(r, c, code);
  }

  /**
   * Runs `r` (encoded, possibly already resumed) to its end and returns the result; counts the call
   * unless `counted` (a batch leftover). The request goes back to the pool.
   */
  async execute(r: Request, counted = false): Promise<OpResult> {
    if (!counted) {
      const st = this.counters.op(r.op);
      st.count++;
      st.bytes += r.size;
    }
    let slot = -1;
    try {
      slot = await this.acquire();
      const s = this.slots.slots[slot] as Slot;
      for (;;) {
        await this.submitter.submitAndWait(r, s);
        const status = this.delta.mem[s.cr.at + Cr.STATUS] as number;
        const code = status & STATUS_CODE_MASK;
        if (isOutcome(r, code)) return this.finish(r, s.cr, code);
        if (code === Status.PAGE_FAULT_NOBOF || code === Status.PAGE_FAULT_IR) {
          if ((await this.resumeAfter(r, s.cr, status)) === 0) return resultOf(r, s.cr, Status.SUCCESS);
          continue;
        }
        throw new IdxdStatusError('status', r.op, status, r.progress + crBytes(s.cr), -1, this.irq.lastError);
      }
    } finally {
      if (slot >= 0) this.slots.release(slot);
      releaseDelta(r, this.delta);
      this.give(r);
    }
  }

  /** Runs the BATCH descriptor `b`, resuming it after a descriptor-list fault until fewer than two items remain. */
  async runBatch(b: Request): Promise<BatchRun> {
    // A batch's bytes are its items' (counted under their own operations).
    this.counters.op('batch').count++;
    let slot = -1;
    try {
      slot = await this.acquire();
      const s = this.slots.slots[slot] as Slot;
      for (;;) {
        await this.submitter.submitAndWait(b, s);
        const status = this.delta.mem[s.cr.at + Cr.STATUS] as number;
        const code = status & STATUS_CODE_MASK;
        if (code === Status.SUCCESS || code === Status.BATCH_FAIL) return { submissions: b.submissions, faults: b.faults };
        if (code !== Status.BATCH_PAGE_FAULT) throw new IdxdStatusError('status', 'batch', status, b.progress + crBytes(s.cr), -1, this.irq.lastError);
        // A remainder of one item cannot be a batch in DSA 1.0 (Batch1 is a 3.0 capability): the caller runs it alone.
        if ((await this.afterFault(b, s.cr, status)) < 2) return { submissions: b.submissions, faults: b.faults };
      }
    } finally {
      if (slot >= 0) this.slots.release(slot);
      this.give(b);
    }
  }
}
