/**
 * One descriptor from the driver to its completion: the header written for the slot (flags,
 * completion record, interrupt handle, the PASID an ENQCMD carries), the portal write (mapped page or
 * trapped BAR2 write), ENQCMD Retry retried up to a bound, and the wait — for the completion interrupt
 * or the polled record, calling the VMM's poll hook (the driver's `cpu_relax`) in between, and finding
 * out why when the device goes idle without completing it.
 */
import { Cr, CR_SIZE } from '../dsa/spec/completion-record.js';
import { Desc, writeDescAddr } from '../dsa/spec/descriptor.js';
import { Flag } from '../dsa/spec/flags.js';
import { Status, STATUS_CODE_MASK, SubmitStatus } from '../dsa/spec/status.js';
import type { PortalLike } from './bringup.js';
import { IdxdGuestError, IdxdLostInterruptError } from './errors.js';
import { type DeviceIo, PORTAL_REGION } from './io.js';
import type { GuestIrq } from './irq.js';
import type { GuestWqMode, IdxdGuestOptions } from './options.js';
import type { Request } from './request.js';
import type { Slot } from './slots.js';
import type { GuestStatsCounter } from './stats.js';

/** What the submitter works with (owned by the driver). */
export interface SubmitContext {
  /** The device's accesses (trapped portal writes). */
  readonly io: DeviceIo;
  /** Guest memory. */
  readonly mem: Uint8Array;
  /** The driver's options (poll hook, retry bound, poll limit). */
  readonly options: IdxdGuestOptions;
  /** The counters. */
  readonly counters: GuestStatsCounter;
  /** The interrupt side. */
  readonly irq: GuestIrq;
  /** Dedicated or shared WQ. */
  readonly mode: GuestWqMode;
  /** Guest PASID (−1: none). */
  readonly pasid: number;
  /** How completions are detected. */
  readonly completion: 'interrupt' | 'poll';
  /** Offset of the portal page in BAR2. */
  readonly portalOffset: number;
  /** REQUEST_INT_HANDLE again for every completion vector (after a revocation). */
  refreshHandles(): Promise<void>;
}

const yieldMacrotask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Turns of the event loop (each at least a timer tick, about 1 ms) a wait without a poll hook lasts
 * before it gives up: about two seconds, far more than any device that runs by itself needs, and short
 * enough that a deterministic model nobody steps is reported at once rather than after minutes.
 */
const DEFAULT_POLL_LIMIT = 2000;

/** Why a wait without a poll hook gave up, and what to do about it. */
export function noProgressMessage(what: string, waits: number): string {
  return `${what} after ${waits} waits without a poll hook: nothing ran the device. A device model in deterministic mode runs only when ` +
    'stepped: pass the `poll` option (for example `poll: () => dsa.step()`), or run the model in automatic mode';
}

/** Submission and completion of single descriptors. */
export class Submitter {
  /** The mapped portal page (null: trapped writes). */
  portal: PortalLike | null = null;
  /** Interrupt handle per vector (index 0 unused). */
  readonly handles: number[];
  /** Bumped each time the handles are requested. */
  handleGen = 0;
  /** Descriptors in flight. */
  inFlight = 0;
  /** The driver was shut down. */
  closed = false;
  private readonly c: SubmitContext;

  /** A submitter for a device with `vectors` MSI-X vectors. */
  constructor(c: SubmitContext, vectors: number) {
    this.c = c;
    this.handles = new Array<number>(vectors).fill(0);
  }

  /** The VMM gave a poll hook (the driver steps the device itself while it waits). */
  get hasPoll(): boolean {
    return this.c.options.poll !== undefined;
  }

  /** Waits (yields to the event loop) before polling without a hook gives up. */
  get pollLimit(): number {
    return this.c.options.pollLimit ?? DEFAULT_POLL_LIMIT;
  }

  /**
   * One `cpu_relax()`: the poll hook (returns whether the device did something), else a turn of the
   * event loop (returns true: the device may have run). EventFd triggers are serviced after it.
   */
  async relax(): Promise<boolean> {
    let progressed = true;
    const poll = this.c.options.poll;
    if (poll !== undefined) {
      await Promise.resolve();
      progressed = poll();
    } else {
      await yieldMacrotask();
    }
    this.c.irq.service();
    return progressed;
  }

  /** Throws when the device halted or the driver closed. */
  stillRunning(): true {
    const irq = this.c.irq;
    if (irq.haltReason !== null) throw new IdxdGuestError('halted', irq.haltReason, irq.lastError);
    if (this.closed) throw new IdxdGuestError('closed', 'the driver is shut down');
    return true;
  }

  /** Header, completion record and handle of `r` for slot `s` (RCI when completing by interrupt). */
  private prepare(r: Request, s: Slot, rci: boolean): void {
    const flags = Flag.CRAV | Flag.RCR | (rci ? Flag.RCI : 0) | ((r.desc[Desc.FLAGS + 2] as number) << 16);
    // Bytes 0–3: on a shared WQ the PASID an ENQCMD carries; a dedicated WQ ignores them (WQCFG supplies them).
    r.view.setUint32(0, this.c.mode === 'shared' ? this.c.pasid : 0, true);
    r.view.setUint32(Desc.FLAGS, ((flags & 0xffffff) | (r.opcode << 24)) >>> 0, true);
    writeDescAddr(r.view, 0, Desc.CR_ADDR, s.crIova);
    r.view.setUint16(Desc.INT_HANDLE, rci ? (this.handles[s.vector] as number) : 0, true);
    s.handleGen = this.handleGen;
  }

  /** Writes the descriptor to the portal: through the mapped page, or as one trapped 64-byte BAR2 write (whose outcome is not visible). */
  private portalSubmit(desc: Uint8Array): number {
    if (this.portal !== null) return this.portal.submit(desc, 0);
    this.c.io.dev.writeRegion(PORTAL_REGION, this.c.portalOffset, desc);
    return SubmitStatus.ACCEPTED;
  }

  /**
   * Submits `r` in slot `s` and waits for its completion: ENQCMD Retry is retried (with a relax in
   * between) up to the retry bound; a dropped or ignored descriptor is an error with the SWERR that
   * explains it; a descriptor that ran with a revoked interrupt handle is submitted again.
   */
  async submitAndWait(r: Request, s: Slot): Promise<void> {
    const { counters, irq, mem } = this.c;
    const bound = this.c.options.retries ?? 64;
    for (let tries = 0; ; tries++) {
      if (irq.handlesStale) await this.c.refreshHandles();
      this.prepare(r, s, this.c.completion === 'interrupt');
      mem.fill(0, s.cr.at, s.cr.at + CR_SIZE);
      s.req = r;
      s.done = false;
      s.failure = null;
      const st = this.portalSubmit(r.desc);
      if (st === SubmitStatus.RETRY) {
        counters.retries++;
        if (tries >= bound) throw new IdxdGuestError('retry', `${r.op}: the shared WQ answered Retry ${tries + 1} times`);
        await this.relax();
        this.stillRunning();
        continue;
      }
      if (st !== SubmitStatus.ACCEPTED) {
        const swerr = irq.readSwerr() ?? undefined;
        irq.checkHalt();
        this.stillRunning();
        throw new IdxdGuestError('lost', `${r.op}: the portal ${st === SubmitStatus.DROPPED ? 'dropped' : 'ignored'} the descriptor`, swerr);
      }
      r.submissions++;
      counters.op(r.op).submissions++;
      counters.descriptors++;
      this.inFlight++;
      if (this.inFlight > counters.maxInFlight) counters.maxInFlight = this.inFlight;
      let completed: boolean;
      try {
        completed = await this.waitSlot(s);
      } finally {
        this.inFlight--;
      }
      if (!completed) {
        counters.retries++;
        if (tries >= bound) throw new IdxdGuestError('retry', `${r.op}: trapped submissions vanished ${tries + 1} times`);
        continue;
      }
      const status = mem[s.cr.at + Cr.STATUS] as number;
      counters.status(r.op, status);
      // The handle this descriptor named was revoked before it ran (0x19 is a check: nothing was done): submit again with the new one.
      if ((status & STATUS_CODE_MASK) === Status.INT_HANDLE_INVAL && (irq.handlesStale || s.handleGen !== this.handleGen)) continue;
      return;
    }
  }

  /** True when the slot's descriptor completed (interrupt taken, or — polling — the record's status is written); throws when it was given up. */
  private completed(s: Slot): boolean {
    if (s.failure !== null) throw s.failure;
    if (s.done) return true;
    if (this.c.completion === 'poll' && this.c.mem[s.cr.at + Cr.STATUS] !== 0) {
      s.done = true;
      return true;
    }
    return false;
  }

  /** Turns of the event loop a written record waits for its interrupt before the interrupt counts as lost. */
  get lostInterruptAfter(): number {
    return this.c.options.lostInterruptAfter ?? 64;
  }

  /**
   * Interrupt completion, record written, interrupt not (yet) taken: a record with status 0x19
   * (invalid interrupt handle) is complete — the device sends no interrupt for it by design
   * (dsa-operations.md §4.1) — and true is returned; any other record still waits for its interrupt.
   */
  private completesWithoutInterrupt(s: Slot): boolean {
    if (((this.c.mem[s.cr.at + Cr.STATUS] as number) & STATUS_CODE_MASK) !== Status.INT_HANDLE_INVAL) return false;
    s.done = true;
    return true;
  }

  /** The interrupt of slot `s`'s written record did not come: count it and build the error. */
  private lostInterrupt(s: Slot): IdxdLostInterruptError {
    this.c.counters.missedInterrupts++;
    const status = this.c.mem[s.cr.at + Cr.STATUS] as number;
    return new IdxdLostInterruptError(s.req?.op ?? 'descriptor', s.vector, this.handles[s.vector] as number, status, this.lostInterruptAfter);
  }

  /** Sleeps until slot `s`'s interrupt wakes it or one turn of the event loop has passed, whichever comes first. */
  private sleep(s: Slot): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        s.wake = null;
        resolve();
      }, 0);
      s.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Waits until slot `s` completes. Returns false when the descriptor vanished without a trace on a
   * trapped shared WQ (a trapped ENQCMD cannot report Retry: the caller resubmits); throws when the
   * device halted or lost the descriptor, when a written record's interrupt never comes, and (without
   * a poll hook) when nothing completes within the poll limit. Every wait is bounded.
   */
  private async waitSlot(s: Slot): Promise<boolean> {
    const { irq, options, mem } = this.c;
    const byInterrupt = this.c.completion === 'interrupt';
    let writtenAt = -1;
    for (let spins = 0; ; spins++) {
      irq.service();
      if (this.completed(s)) return this.stillRunning();
      if (options.poll !== undefined) {
        // Yield first, so operations issued together are all submitted before the device runs.
        await Promise.resolve();
        if (this.completed(s)) return this.stillRunning();
        const progressed = options.poll();
        irq.service();
        if (progressed || this.completed(s)) continue;
        return this.stalled(s);
      }
      if (byInterrupt && mem[s.cr.at + Cr.STATUS] !== 0) {
        if (this.completesWithoutInterrupt(s)) return this.stillRunning();
        if (writtenAt < 0) writtenAt = spins;
        else if (spins - writtenAt >= this.lostInterruptAfter) throw this.lostInterrupt(s);
      }
      if (spins > this.pollLimit) throw new IdxdGuestError('timeout', noProgressMessage(`${s.req?.op ?? 'descriptor'}: no completion`, spins));
      await (byInterrupt && irq.eventfds.length === 0 ? this.sleep(s) : yieldMacrotask());
    }
  }

  /**
   * The device is idle and slot `s` has not completed: find out why. A written record whose
   * interrupt has not come gets a bounded grace (an embedder may deliver interrupts from the event
   * loop) before the interrupt counts as lost.
   */
  private async stalled(s: Slot): Promise<boolean> {
    const { irq, mem, options } = this.c;
    if (mem[s.cr.at + Cr.STATUS] !== 0) {
      if (this.completesWithoutInterrupt(s)) return this.stillRunning();
      for (let k = 0; k < this.lostInterruptAfter; k++) {
        await yieldMacrotask();
        options.poll?.();
        irq.service();
        if (this.completed(s)) return this.stillRunning();
      }
      throw this.lostInterrupt(s);
    }
    const swerr = irq.readSwerr() ?? undefined;
    if (irq.checkHalt()) return this.stillRunning();
    // A trapped write returns nothing, so an ENQCMD Retry on a shared WQ is silent: resubmit.
    if (this.portal === null && this.c.mode === 'shared' && swerr === undefined) return false;
    const op = s.req?.op ?? 'descriptor';
    throw new IdxdGuestError('lost', `${op}: the device went idle without completing the descriptor${swerr === undefined ? '' : ` (SWERR ${swerr.name})`}`, swerr ?? irq.lastError);
  }
}
