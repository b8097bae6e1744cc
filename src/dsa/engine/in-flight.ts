/**
 * A descriptor in flight over memory the device reaches only by messages: the DMA transaction of its
 * attempts (`DmaTransaction`: fetched pages, writes kept until commit), its 64 bytes while it waits,
 * and the effects its last attempt held back — completion interrupts, software-error reports and
 * readback calls, delivered in order only once its write-backs are acknowledged (so nothing of an
 * unwound attempt is ever seen, and an interrupt never precedes the record it announces).
 */
import { type DmaSession, DmaTransaction } from '../../memory/index.js';
import { type ExecContext, SoftwareError } from './context.js';
import { DESC_SIZE } from '../spec/descriptor.js';
import { RESUME_WORDS } from './frame.js';
import type { HeldDescriptor } from '../queue/work-queue.js';

/** Where an {@link InFlightDescriptor} is. */
export const InFlightState = {
  /** Running on an engine now (or idle in its engine's pool). */
  RUNNING: 0,
  /** Its attempt was unwound; it waits for fetches. */
  PARKED: 1,
  /** Runs at the next step: its fetches were answered, or the descriptor ahead of it in its stream finished. */
  READY: 2,
  /** Taken from its WQ behind an earlier descriptor of the same stream (WQ and PASID) still in flight; not run yet. */
  BEHIND: 3,
  /** Executed; its write-backs are not all acknowledged yet (its effects wait for them). */
  COMMITTING: 4,
  /**
   * Part-executed: its step's work budget ran out at a resume point; it continues from there (its
   * saved {@link InFlightDescriptor.resume} state) at a later step. What it wrote so far stays written.
   */
  YIELDED: 5,
} as const;

/** Who keeps track of in-flight descriptors (the device). */
export interface InFlightOwner {
  /** `d` may run again (its fetches were answered). */
  ready(d: InFlightDescriptor): void;
  /** `d` finished committing asynchronously (its effects have been delivered). */
  done(d: InFlightDescriptor): void;
  /** `d` is being abandoned (abort, disable, reset): forget every reference to it. */
  forget(d: InFlightDescriptor): void;
}

/** The engine an in-flight descriptor runs on, as the device resumes it (a `DescriptorEngine`, engine.ts). */
export interface InFlightEngine {
  /** Runs `d` again (another attempt) in `ctx`; returns its status. */
  resume(d: InFlightDescriptor, ctx: ExecContext): number;
  /** The descriptor the last attempt left in flight (and forgets it), or null. */
  takeHeld(): InFlightDescriptor | null;
}

const EFFECT_INTERRUPT = 0;
const EFFECT_ERROR = 1;
const EFFECT_READBACK = 2;

/** A descriptor in flight; reused through its engine's `DmaSession` pool. */
export class InFlightDescriptor extends DmaTransaction implements HeldDescriptor {
  /** The descriptor's 64 bytes (copied from its ring slot when it first waits). */
  readonly desc = new Uint8Array(DESC_SIZE);
  /** One of {@link InFlightState}. */
  state: number = InFlightState.RUNNING;
  /** The status its last attempt completed with. */
  status = 0;
  /** Index of the WQ it was taken from. */
  wq = -1;
  /** Effective PASID. */
  pasid = 0;
  /** Slot flags (SLOT_PRIV, SLOT_IMS). */
  flags = 0;
  /** Acceptance sequence number in its WQ. */
  seq = 0;
  /** The engine it runs on (the one that took it from its WQ). */
  engine: InFlightEngine | null = null;
  /** The context its effects are delivered through (that of its last attempt). */
  ctx: ExecContext | null = null;
  /** The effective PASID and the WQ's PASID enable its last attempt ran with (interrupts are checked against them again when delivered). */
  private runPasid = 0;
  private runPasidEnabled = false;
  /** Who tracks it (null: nobody — the engine recycles it when it completes). */
  owner: InFlightOwner | null = null;
  /** Abandoned while its attempt was running (from a callback of that attempt): the engine drops it when the attempt returns. */
  abandoned = false;
  /** Incremented each time it is reset (returned to its pool): a holder compares it to know it is still the same descriptor. */
  generation = 0;
  /**
   * Where it continues after a yield (see {@link InFlightState.YIELDED}): the saved resume state of the
   * engine's descriptor frame, then of its batch-element frame (position -1: none). Valid while {@link hasResume}.
   */
  readonly resume = new Float64Array(2 * RESUME_WORDS);
  /** It yielded at least once: its attempts start from {@link resume}, not from the start. */
  hasResume = false;
  /** A continuation of it is running on its engine (outside a transaction). */
  continuing = false;
  /** Automatic mode: names the scheduled continuation that may make it ready (a stale one does nothing). */
  yieldToken = 0;
  private readonly kinds: number[] = [];
  private readonly argA: number[] = [];
  private readonly argB: number[] = [];
  private readonly errors: SoftwareError[] = [];
  private effectCount = 0;
  private errorCount = 0;

  /** @param session the engine session whose pool it returns to */
  constructor(private readonly session: DmaSession<InFlightDescriptor>) {
    super();
  }

  /** Executed, only its write-back acknowledgement awaited (see `HeldDescriptor.settling`). */
  get settling(): boolean {
    return this.state === InFlightState.COMMITTING;
  }

  /** Effects held by the current attempt. */
  get heldEffects(): number {
    return this.effectCount;
  }

  /** Holds a completion interrupt. */
  holdInterrupt(handle: number, ims: boolean): void {
    this.hold(EFFECT_INTERRUPT, handle, ims ? 1 : 0);
  }

  /** Holds a software-error report (copied: the engine reuses its record). */
  holdError(e: SoftwareError): void {
    let c = this.errors[this.errorCount];
    if (c === undefined) {
      c = new SoftwareError();
      this.errors.push(c);
    }
    Object.assign(c, e);
    this.hold(EFFECT_ERROR, this.errorCount++, 0);
  }

  /** Holds a destination-readback call. */
  holdReadback(pasid: number, opcode: number): void {
    this.hold(EFFECT_READBACK, pasid, opcode);
  }

  private hold(kind: number, a: number, b: number): void {
    const i = this.effectCount++;
    this.kinds[i] = kind;
    this.argA[i] = a;
    this.argB[i] = b;
  }

  private dropEffects(): void {
    this.effectCount = 0;
    this.errorCount = 0;
  }

  /** The last attempt completed with `ctx`: its effects will be delivered through it. */
  completedWith(ctx: ExecContext): void {
    this.ctx = ctx;
    this.runPasid = ctx.pasid;
    this.runPasidEnabled = ctx.pasidEnabled;
  }

  /**
   * Delivers the held effects in the order they were held, through {@link ctx}. A completion interrupt
   * is checked again first (dsa-operations.md §4.3): its handle may have been released, and given to
   * another user, while the write-back was acknowledged — then it is dropped, never raised elsewhere.
   */
  private deliver(): void {
    const ctx = this.ctx;
    const n = this.effectCount;
    this.dropEffects();
    if (ctx === null) return;
    const generation = this.generation;
    for (let i = 0; i < n; i++) {
      // An effect's callback abandoned the descriptor (an abort, a disable, a reset): nothing more of it.
      if (this.generation !== generation || this.abandoned || ctx.cancelled) return;
      const a = this.argA[i] as number;
      const b = this.argB[i] as number;
      switch (this.kinds[i]) {
        case EFFECT_INTERRUPT:
          if (ctx.interrupts.validate(a, b === 1, this.runPasidEnabled, this.runPasid)) ctx.interrupts.raise(a, b === 1);
          break;
        case EFFECT_ERROR:
          ctx.errors.report(this.errors[a] as SoftwareError);
          break;
        default:
          ctx.readback?.(a, b);
      }
    }
  }

  /** Starts an attempt (see `DmaTransaction.beginAttempt`); effects held by an earlier one are dropped. */
  override beginAttempt(): void {
    super.beginAttempt();
    this.dropEffects();
  }

  /** Unwinds the attempt (see `DmaTransaction.abortAttempt`) and drops the effects it held. */
  override abortAttempt(): void {
    super.abortAttempt();
    this.dropEffects();
  }

  /** Forgets everything (see `DmaTransaction.reset`), effects and bookkeeping included. */
  override reset(): void {
    super.reset();
    this.generation++;
    this.dropEffects();
    this.state = InFlightState.RUNNING;
    this.status = 0;
    this.wq = -1;
    this.engine = null;
    this.ctx = null;
    this.owner = null;
    this.abandoned = false;
    this.hasResume = false;
    this.continuing = false;
    this.yieldToken = 0;
  }

  protected override ready(): void {
    if (this.state !== InFlightState.PARKED) return;
    this.state = InFlightState.READY;
    this.owner?.ready(this);
  }

  protected override committed(): void {
    const late = this.state === InFlightState.COMMITTING;
    const generation = this.generation;
    try {
      this.deliver();
    } finally {
      // (Unless a callback of its effects abandoned it: then it is back in its pool already.)
      if (late && this.generation === generation) {
        const o = this.owner;
        if (o !== null) o.done(this);
        else this.session.recycle(this);
      }
    }
  }

  /**
   * Abandons the descriptor (abort, WQ disable, reset): no record, no interrupt, nothing more written —
   * write-backs already handed to a port complete on their own, their answers are ignored. It returns
   * to its engine's pool.
   */
  abandon(): void {
    const o = this.owner;
    this.owner = null;
    o?.forget(this);
    if (this.state === InFlightState.RUNNING && (this.session.tx === this || this.continuing)) {
      this.abandoned = true;
      return;
    }
    this.session.recycle(this);
  }

  /** Returns the descriptor to its engine's pool (it completed). */
  recycle(): void {
    this.session.recycle(this);
  }
}
