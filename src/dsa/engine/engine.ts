/**
 * The descriptor engine: executes one 64-byte descriptor exactly as dsa-operations.md describes —
 * checks (§5.1), operation (§7), page faults (§6), completion record and interrupt (§3, §4),
 * software errors (§11) and batches (§8).
 */
import { DEFAULT_ENGINE_CAPS, type EngineCaps } from '../spec/caps.js';
import { CompiledOps } from './compiled-ops.js';
import { checkDescriptor } from './checks.js';
import { Cr } from '../spec/completion-record.js';
import { type ExecContext, SoftwareError } from './context.js';
import { DESC_SIZE, Desc } from '../spec/descriptor.js';
import { Flag, OpFlag } from '../spec/flags.js';
import { copyBytes, type DmaRun, DmaSession } from '../../memory/index.js';
import { CANCEL, FaultMode, Frame, PAGE_REQUEST_ROUNDS, PARK, R_COMPLETED, R_FAILED, RESUME_WORDS, translateRaw, YIELD } from './frame.js';
import { OP_HANDLERS, type OpHandler } from './handlers.js';
import { InFlightDescriptor, InFlightState } from './in-flight.js';
import { compileMemmoveLane, MemmoveLane } from './lane.js';
import { memmoveWalk } from './ops/memmove.js';
import { prefetchDescriptor } from './prefetch.js';
import { Slot } from './op-table.js';
import { Status, STATUS_CODE_MASK, STATUS_WRITE } from '../spec/status.js';

const TWO32 = 0x1_0000_0000;

// Module-local copies of the constants the hot path uses. V8 folds a module's own `const` bindings
// into optimized code, but re-reads an imported binding (a live cell, plus a map check on the
// object it holds) at every use.
const { CRAV, RCR, RCI, CC2 } = Flag;
const { SUCCESS, SUCCESS_PRED, BATCH_FAIL, INVALID_FLAGS, INT_HANDLE_INVAL, CRA_ALIGN, CRA_XLAT, PRIV_BAD } = Status;
const { FLAGS: D_FLAGS, CR_ADDR: D_CR_ADDR, XFER_SIZE: D_XFER_SIZE, INT_HANDLE: D_INT_HANDLE, SRC: D_SRC, DST: D_DST } = Desc;
const CODE_MASK = STATUS_CODE_MASK;
const DESC_LEN = DESC_SIZE;
const CR_INVALID_FLAGS = Cr.INVALID_FLAGS;
/** The descriptor's flags-and-opcode word, as an index into its 32-bit words. */
const FLAGS_WORD = D_FLAGS >>> 2;

/** Options of a {@link DescriptorEngine} beyond its capabilities. */
export interface EngineOptions {
  /**
   * Run a MEMMOVE the table proves plain through the dedicated MEMMOVE lane (default true). Off, every
   * descriptor takes the ordered path; the results are the same either way (the lane is a shortcut,
   * test/dsa/engine-lane.test.ts compares the two).
   */
  readonly memmoveLane?: boolean;
}

/**
 * What {@link DescriptorEngine.execute} returns for a descriptor that must wait for memory reached only
 * by messages (see {@link DescriptorEngine.takeHeld}). Not a status byte (those are 0–255).
 */
export const PARKED = -1;

/**
 * What {@link DescriptorEngine.execute} / {@link DescriptorEngine.resume} return for a descriptor that
 * a callback it made abandoned (`ExecContext.cancelled`): it stopped there, with nothing more read,
 * written, raised or reported. Not a status byte.
 */
export const CANCELLED = -3;

/** Stops the running descriptor when a callback it just made abandoned it. */
function checkCancelled(ctx: ExecContext): void {
  if (ctx.cancelled === true) throw CANCEL;
}

/**
 * What {@link DescriptorEngine.execute} / {@link DescriptorEngine.continue} return for a descriptor whose
 * step's work budget ran out before it completed (see {@link DescriptorEngine.budget}): it is handed out
 * through {@link DescriptorEngine.takeHeld} in state `YIELDED`; {@link DescriptorEngine.continue} runs it on.
 */
export const YIELDED = -2;

/** Default work budget of one step: 4 MiB (see {@link DescriptorEngine.budget}). */
export const DEFAULT_WORK_BUDGET = 4 << 20;
/** Smallest work budget accepted (a batch element's 64 bytes must fit). */
export const MIN_WORK_BUDGET = 64;

/** Throws `RangeError` unless `bytes` is a work budget: an integer ≥ {@link MIN_WORK_BUDGET}, or `Infinity` (none). */
export function checkWorkBudget(bytes: number): void {
  if (bytes !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(bytes) && bytes >= MIN_WORK_BUDGET)) {
    throw new RangeError(`a work budget of ${bytes} bytes is not an integer ≥ ${MIN_WORK_BUDGET} (or Infinity)`);
  }
}

/**
 * Executes descriptors against an `ExecContext`. One engine = one DSA engine; not re-entrant.
 *
 * Over an address space with memory reached only by messages (`IoAddressSpace.mapRemote`) a descriptor
 * runs in attempts inside a DMA transaction (see `DmaTransaction`): an attempt that needs a page not
 * fetched yet is unwound and {@link execute} returns {@link PARKED}; its completion interrupts,
 * software-error reports and readback calls are held back and delivered only once its writes are
 * committed. A descriptor that did not complete at once (parked, or committing through a port) is
 * handed to the caller through {@link takeHeld}; {@link resume} runs it again.
 */
export class DescriptorEngine {
  /** The capabilities the engine was built with. */
  readonly caps: EngineCaps;
  /** The DMA session every run of the engine belongs to (the transaction of the descriptor running, if any). */
  readonly session: DmaSession<InFlightDescriptor>;
  private heldValue: InFlightDescriptor | null = null;
  private budgetValue = Number.POSITIVE_INFINITY;
  /** The descriptor {@link continue} is running (its saved state is where a transaction of it restarts). */
  private continuing: InFlightDescriptor | null = null;
  /** A batch element is running (its frame holds a decoded descriptor the park can name). */
  private elementRunning = false;
  private readonly top: Frame;
  private readonly element: Frame;
  private readonly handlers: (OpHandler | undefined)[] = new Array<OpHandler | undefined>(256).fill(undefined);
  private readonly swerr = new SoftwareError();
  private source: Uint8Array | null = null;
  private sourceView: DataView | null = null;
  private sourceWords: Int32Array | null = null;
  private crBytes: Uint8Array | null = null;
  private crI32: Int32Array | null = null;
  private crWrittenFlag = false;
  private interruptFlag = false;
  private errorFlag = false;
  /** The MEMMOVE lane's rule (derived from the compiled MEMMOVE row; `want` -1 when off). */
  private readonly lane: MemmoveLane;
  private laneRuns = 0;
  /** The top frame's CR run and its first two runs, held here so the lane reaches them in one load. */
  private readonly laneCr: DmaRun;
  private readonly laneSrc: DmaRun;
  private readonly laneDst: DmaRun;

  /** Builds an engine for `caps` (default: the Sapphire Rapids profile, §14). */
  constructor(caps: EngineCaps = DEFAULT_ENGINE_CAPS, options: EngineOptions = {}) {
    this.caps = caps;
    const ops = new CompiledOps(caps);
    this.lane = options.memmoveLane === false ? new MemmoveLane() : compileMemmoveLane(ops, caps);
    const session: DmaSession<InFlightDescriptor> = new DmaSession(() => new InFlightDescriptor(session));
    this.session = session;
    this.top = new Frame(caps, ops, session);
    this.laneCr = this.top.crRun;
    this.laneSrc = this.top.runs[0] as DmaRun;
    this.laneDst = this.top.runs[1] as DmaRun;
    this.element = new Frame(caps, ops, session);
    for (const [opcode, h] of OP_HANDLERS) this.handlers[opcode] = h;
    this.handlers[0x01] = (f) => this.batch(f);
  }

  /** How many descriptors the MEMMOVE lane has completed (the others took the ordered path). */
  get laneCount(): number {
    return this.laneRuns;
  }

  /**
   * Bytes one step ({@link execute}, {@link resume}, {@link continue}) may process — data read or
   * written by an operation, 64 per batch element (`Infinity`, the default of a bare engine: no limit;
   * a `DsaDevice` gives its engines {@link DEFAULT_WORK_BUDGET} unless told otherwise). When it is
   * spent before the descriptor completes, the descriptor yields at the next resume point
   * ({@link YIELDED}) and {@link continue} runs it on from there, with exactly the result one
   * uninterrupted run gives. Descriptors running in a DMA transaction (memory reached by messages) do not
   * yield. Throws `RangeError` for a value below {@link MIN_WORK_BUDGET} or not an integer.
   */
  get budget(): number {
    return this.budgetValue;
  }

  set budget(bytes: number) {
    checkWorkBudget(bytes);
    this.budgetValue = bytes;
  }

  /** Whether the last `execute` wrote a completion record. */
  get crWritten(): boolean {
    return this.crWrittenFlag;
  }

  /** Whether the last `execute` raised its completion interrupt. */
  get interruptRaised(): boolean {
    return this.interruptFlag;
  }

  /** Whether the last `execute` reported a software error for the descriptor itself. */
  get errorReported(): boolean {
    return this.errorFlag;
  }

  /**
   * The descriptor of the last {@link execute} / {@link resume} when it is still in flight — parked
   * (state PARKED or READY: run it again with {@link resume}) or committing (its write-backs wait for
   * acknowledgements; it finishes by itself) — else null. Whoever ran it takes it with {@link takeHeld}.
   */
  get held(): InFlightDescriptor | null {
    return this.heldValue;
  }

  /** Returns {@link held} and clears it. */
  takeHeld(): InFlightDescriptor | null {
    const d = this.heldValue;
    this.heldValue = null;
    return d;
  }

  /**
   * Executes the descriptor at `desc[offset, offset + 64)` for the submission described by `ctx`.
   * Returns the status byte (code in bits 5:0, R/W in bit 7): the one written to the CR, or, when
   * no CR was written, the one the CR would have carried (also the SWERROR code for 0x1A, 0x1B,
   * 0x1D) — or {@link PARKED} when it waits for memory reached only by messages (see {@link held}),
   * or {@link CANCELLED} when a callback it made abandoned it.
   * Throws `RangeError` only if fewer than 64 bytes are available (host misuse).
   */
  execute(desc: Uint8Array, offset: number, ctx: ExecContext): number {
    if (!(offset >= 0 && offset + DESC_LEN <= desc.length)) throw new RangeError('descriptor extends beyond the buffer');
    const f = this.top;
    if (desc !== this.source) this.cacheSource(desc);
    const words = this.sourceWords;
    if (words !== null && (offset & 3) === 0) {
      // Read in place. The frame's pointer fields are written only when they change: storing a
      // young object (a view made after the last GC) into an old one takes the slow write barrier.
      if (f.words !== words) {
        f.view = this.sourceView as DataView;
        f.words = words;
      }
      f.base = offset;
      f.wbase = offset >>> 2;
    } else {
      this.copyUnaligned(f, desc, offset);
    }
    this.crWrittenFlag = false;
    this.interruptFlag = false;
    this.errorFlag = false;
    // A new step's budget (stored only when the last step spent some: most descriptors spend none).
    // The slot itself, not the `budgetLeft` accessor: with an accessor call here V8 stopped inlining
    // `run` into a caller's loop (engine.noop ~10% slower).
    const budget = this.budgetValue;
    const slot = f.budgetSlot;
    if (slot[0] !== budget) slot[0] = budget;
    // The attempt (written out here, not called: this is the hot path; `resume` has the same). A
    // MEMMOVE whose flags and opcode match the lane's rule goes to the lane, which proves the rest
    // or hands the descriptor to the ordered path.
    const lane = this.lane;
    let status: number;
    try {
      status = ((f.words[f.wbase + FLAGS_WORD] as number) & lane.mask) === lane.want ? this.memmove(f, ctx, lane) : this.run(f, ctx, false, 0);
    } catch (e) {
      return this.unwound(e);
    }
    return this.session.tx === null ? status : this.finish(ctx, status);
  }

  /**
   * Runs held descriptor `d` (from {@link takeHeld}; its 64 bytes in `d.desc`) again from the start, in
   * its transaction (fetched pages kept): parked when its fetches were answered, or never run when it
   * waited behind another. Returns as {@link execute}.
   */
  resume(d: InFlightDescriptor, ctx: ExecContext): number {
    this.session.tx = d;
    d.beginAttempt();
    d.state = InFlightState.RUNNING;
    const f = this.top;
    this.copyUnaligned(f, d.desc, 0);
    this.crWrittenFlag = false;
    this.interruptFlag = false;
    this.errorFlag = false;
    f.budgetLeft = this.budgetValue;
    const resumed = d.hasResume;
    if (resumed) this.loadResume(d);
    let status: number;
    try {
      status = this.run(f, ctx, false, 0);
    } catch (e) {
      return this.unwound(e);
    } finally {
      if (resumed) this.clearResume();
    }
    return this.session.tx === null ? status : this.finish(ctx, status);
  }

  /**
   * Continues yielded descriptor `d` (from {@link takeHeld}, state `YIELDED`) from where its last step
   * stopped, with a new step's budget, outside any transaction. Returns as {@link execute}: the status,
   * {@link YIELDED} again (the same `d` is held), or {@link PARKED} (when memory reached by messages was
   * met, a transaction of it is held in its place and restarts from the same point).
   */
  continue(d: InFlightDescriptor, ctx: ExecContext): number {
    const s = this.session;
    s.tx = null;
    const f = this.top;
    this.copyUnaligned(f, d.desc, 0);
    this.loadResume(d);
    d.state = InFlightState.RUNNING;
    d.continuing = true;
    this.continuing = d;
    this.crWrittenFlag = false;
    this.interruptFlag = false;
    this.errorFlag = false;
    f.budgetLeft = this.budgetValue;
    let status: number;
    try {
      status = this.run(f, ctx, false, 0);
      if (s.tx !== null) status = this.finish(ctx, status);
    } catch (e) {
      status = this.unwound(e);
    } finally {
      this.continuing = null;
      d.continuing = false;
      this.clearResume();
    }
    if (d.abandoned) {
      // Abandoned by a callback of its own step: nothing of it is kept.
      const h = this.heldValue;
      this.heldValue = null;
      if (h !== null && h !== d) s.recycle(h);
      s.recycle(d);
    }
    return status;
  }

  /** Puts `d`'s saved resume state into the frames (each consumes it at its resume point). */
  private loadResume(d: InFlightDescriptor): void {
    const r = d.resume;
    const t = this.top.resumeState;
    const e = this.element.resumeState;
    for (let k = 0; k < RESUME_WORDS; k++) {
      t[k] = r[k] as number;
      e[k] = r[RESUME_WORDS + k] as number;
    }
    this.top.resumeAt = r[0] as number;
    this.element.resumeAt = r[RESUME_WORDS] as number;
  }

  /** No frame resumes any more (a continuation ended, whatever it consumed). */
  private clearResume(): void {
    this.top.resumeAt = -1;
    this.element.resumeAt = -1;
  }

  /**
   * The step's budget ran out at a resume point: the descriptor is held as `YIELDED` with the frames'
   * saved state (the one being continued is reused; else one is taken from the pool with its 64 bytes).
   */
  private yielded(inElement: boolean): number {
    let d = this.continuing;
    if (d === null) {
      d = this.session.acquire();
      const f = this.top;
      for (let k = 0; k < DESC_LEN; k++) d.desc[k] = f.view.getUint8(f.base + k);
    }
    const r = d.resume;
    const t = this.top.resumeState;
    const e = this.element.resumeState;
    for (let k = 0; k < RESUME_WORDS; k++) {
      r[k] = t[k] as number;
      r[RESUME_WORDS + k] = inElement ? (e[k] as number) : 0;
    }
    if (!inElement) r[RESUME_WORDS] = -1;
    d.hasResume = true;
    d.state = InFlightState.YIELDED;
    this.heldValue = d;
    return YIELDED;
  }

  /**
   * The attempt threw: {@link PARK} (a fetch is under way) unwinds it and hands the descriptor out as
   * parked; anything else (an embedder callback that threw) abandons the transaction and is rethrown.
   */
  private unwound(e: unknown): number {
    const s = this.session;
    const tx = s.tx;
    const inElement = this.elementRunning;
    this.elementRunning = false;
    if (e === YIELD) return this.yielded(inElement);
    s.tx = null;
    s.pending = false;
    if (e === CANCEL) {
      // Abandoned by a callback of its own: nothing of the attempt is committed or delivered.
      if (tx !== null && (tx.abandoned || tx.owner === null)) s.recycle(tx);
      else tx?.abortAttempt();
      return CANCELLED;
    }
    if (e !== PARK || tx === null) {
      if (tx !== null) {
        if (tx.owner === null) s.recycle(tx);
        else tx.abortAttempt();
      }
      throw e;
    }
    if (tx.abandoned) {
      s.recycle(tx);
      return PARKED;
    }
    // Everything the descriptor (and the batch element it was in) will reach is asked for now, so it
    // waits for one round of answers, not one per operand.
    const top = this.top;
    const space = top.ctx.space;
    s.tx = tx;
    prefetchDescriptor(space, top.view, top.base, top.runs[5] as DmaRun);
    if (inElement) prefetchDescriptor(space, this.element.view, this.element.base, top.runs[5] as DmaRun);
    s.tx = null;
    tx.abortAttempt();
    tx.state = InFlightState.PARKED;
    const c = this.continuing;
    if (c !== null && c !== tx) {
      // A continuation met memory reached by messages: its transaction restarts where it started.
      tx.resume.set(c.resume);
      tx.hasResume = true;
    }
    // Keep the descriptor's bytes: its ring slot (or the caller's buffer) may be reused meanwhile.
    const f = this.top;
    for (let k = 0; k < DESC_LEN; k++) tx.desc[k] = f.view.getUint8(f.base + k);
    this.heldValue = tx;
    return PARKED;
  }

  /**
   * The attempt completed in a transaction: commit its writes. Done at once (ordinary memory only),
   * the held effects have been delivered; else the descriptor is held as committing.
   */
  private finish(ctx: ExecContext, status: number): number {
    const s = this.session;
    const tx = s.tx as InFlightDescriptor;
    s.tx = null;
    if (tx.abandoned) {
      // Abandoned by a callback of its own attempt: nothing of it is committed.
      s.recycle(tx);
      return status;
    }
    tx.status = status;
    tx.completedWith(ctx);
    const generation = tx.generation;
    if (tx.commit()) {
      // (A callback of its delivered effects may have abandoned — and so recycled — it already.)
      if (tx.owner === null && tx.generation === generation) s.recycle(tx);
      return status;
    }
    tx.state = InFlightState.COMMITTING;
    this.heldValue = tx;
    return status;
  }

  /** Caches views of the submitter's buffer (rebuilt only when the buffer object changes). */
  private cacheSource(desc: Uint8Array): void {
    this.source = desc;
    this.sourceView = new DataView(desc.buffer, desc.byteOffset, desc.byteLength);
    this.sourceWords = (desc.byteOffset & 3) === 0 ? new Int32Array(desc.buffer, desc.byteOffset, desc.byteLength >>> 2) : null;
  }

  /** A descriptor not 4-byte aligned in memory: copied into the frame's own buffer. */
  private copyUnaligned(f: Frame, desc: Uint8Array, offset: number): void {
    const b = f.own;
    for (let k = 0; k < DESC_SIZE; k++) b[k] = desc[offset + k] as number;
    if (f.words !== f.ownWords) {
      f.view = f.ownView;
      f.words = f.ownWords;
    }
    f.base = 0;
    f.wbase = 0;
  }

  /**
   * The ordered path: the header, checks #1–#3, checks #4–#14, the operation, {@link complete}. It is
   * {@link load}, #1 and #2, then {@link checked}, written out as one function: V8 inlines the hot
   * path into its caller within a bytecode budget, and three calls cost more of it than one body
   * (engine.noop ran ~10% slower split; see `npm run bench`).
   */
  private run(f: Frame, ctx: ExecContext, inBatch: boolean, index: number): number {
    const view = f.view;
    const base = f.base;
    if (f.ctx !== ctx) f.ctx = ctx; // (see `execute`: no write barrier when unchanged)
    f.inBatch = inBatch;
    f.batchIndex = index;
    f.reset();
    const word = view.getUint32(base + D_FLAGS, true);
    const flags = word & 0xffffff;
    f.flags = flags;
    f.opcode = word >>> 24;
    f.size = view.getUint32(base + D_XFER_SIZE, true);
    f.handle = view.getUint16(base + D_INT_HANDLE, true);
    if ((flags & CRAV) !== 0) {
      const lo = view.getUint32(base + D_CR_ADDR, true);
      const hi = view.getUint32(base + D_CR_ADDR + 4, true);
      f.crLo = lo;
      f.crHi = hi;
      f.crNum = hi < 0x200000 ? hi * TWO32 + lo : -1;
      // #1, #2
      if ((lo & 31) !== 0) return this.discard(f, CRA_ALIGN);
      if (!this.translateCr(f)) return this.discard(f, CRA_XLAT);
    }
    // #3 (booleans compared with `=== true`: one pointer compare, not a generic truthiness test)
    if (inBatch === false && ctx.shared === true && ctx.priv === true && ctx.privModeEnabled === false) return this.discard(f, PRIV_BAD);
    let status = checkDescriptor(f);
    if (status === 0) status = (this.handlers[f.opcode] as OpHandler)(f);
    return this.complete(f, status);
  }

  /**
   * Resets `f` and decodes the descriptor's header into it (flags, opcode, size, handle, CR address): the
   * head of {@link run}, for the MEMMOVE lane's hand-overs to the ordered path.
   */
  private load(f: Frame, ctx: ExecContext, inBatch: boolean, index: number): void {
    const view = f.view;
    const base = f.base;
    if (f.ctx !== ctx) f.ctx = ctx; // (see `execute`: no write barrier when unchanged)
    f.inBatch = inBatch;
    f.batchIndex = index;
    f.reset();
    const word = view.getUint32(base + D_FLAGS, true);
    const flags = word & 0xffffff;
    f.flags = flags;
    f.opcode = word >>> 24;
    f.size = view.getUint32(base + D_XFER_SIZE, true);
    f.handle = view.getUint16(base + D_INT_HANDLE, true);
    if ((flags & CRAV) !== 0) {
      const lo = view.getUint32(base + D_CR_ADDR, true);
      const hi = view.getUint32(base + D_CR_ADDR + 4, true);
      f.crLo = lo;
      f.crHi = hi;
      f.crNum = hi < 0x200000 ? hi * TWO32 + lo : -1;
    }
  }

  /** The tail of {@link run} after the CR translation: check #3, checks #4–#14, the operation, {@link complete}. */
  private checked(f: Frame, ctx: ExecContext, inBatch: boolean): number {
    // #3 (booleans compared with `=== true`: one pointer compare, not a generic truthiness test)
    if (inBatch === false && ctx.shared === true && ctx.priv === true && ctx.privModeEnabled === false) return this.discard(f, PRIV_BAD);
    let status = checkDescriptor(f);
    if (status === 0) status = (this.handlers[f.opcode] as OpHandler)(f);
    return this.complete(f, status);
  }

  /**
   * The MEMMOVE lane, for a directly submitted descriptor whose flags and opcode match `lane`'s rule
   * (MEMMOVE, CRAV, no Fence, Block on Fault, completion interrupt or destination readback, every
   * other flag one the row's fast pre-check accepts whatever the rest is). First, with no side
   * effect, it proves what the ordered path would find: #1 CR alignment, #3 privilege, #7 reserved
   * fields (the row's masks), #8 transfer size, #14 overlap (or, with overlapping copies supported,
   * that the copy ascends) and every address below 2^53 — anything not proven goes to {@link run}.
   * Then it does what the ordered path does for such a descriptor, in the same order and through the
   * same runs: translate the CR (#2), the source and the destination, one copy, the record (zeros and
   * the success status, when RCR asks for it). A translation that does not give the whole buffer
   * hands the descriptor to the ordered path at that very point ({@link laneCrFault},
   * {@link laneWalk}); a translation that throws {@link PARK} unwinds as in the ordered path. The lane
   * calls no embedder code but the address space, so it has nothing to check for cancellation but
   * what `complete` checks after the record.
   */
  private memmove(f: Frame, ctx: ExecContext, lane: MemmoveLane): number {
    const v = f.view;
    const o = f.base;
    const crLo = v.getUint32(o + D_CR_ADDR, true);
    const crHi = v.getUint32(o + D_CR_ADDR + 4, true);
    const sLo = v.getUint32(o + D_SRC, true);
    const sHi = v.getUint32(o + D_SRC + 4, true);
    const dLo = v.getUint32(o + D_DST, true);
    const dHi = v.getUint32(o + D_DST + 4, true);
    const size = v.getUint32(o + D_XFER_SIZE, true);
    // #1, the addresses as numbers (the ordered path faults on one ≥ 2^53), #3
    if ((crLo & 31) !== 0 || crHi >= 0x200000 || sHi >= 0x200000 || dHi >= 0x200000) return this.run(f, ctx, false, 0);
    if (ctx.shared === true && ctx.priv === true && ctx.privModeEnabled === false) return this.run(f, ctx, false, 0);
    // #7 (the interrupt handle is in m9: reserved without RCI), #8
    const nz =
      (sLo & lane.m4) | (sHi & lane.m5) | (dLo & lane.m6) | (dHi & lane.m7) | (size & lane.m8) |
      (v.getInt32(o + 36, true) & lane.m9) |
      (v.getInt32(o + 40, true) & lane.m10) |
      (v.getInt32(o + 44, true) & lane.m11) |
      (v.getInt32(o + 48, true) & lane.m12) |
      (v.getInt32(o + 52, true) & lane.m13) |
      (v.getInt32(o + 56, true) & lane.m14) |
      (v.getInt32(o + 60, true) & lane.m15);
    // (size ≤ 2^shift as `(size - 1) >>> shift === 0`: no table to reach; every u32 fits from 2^32 on.)
    const a = ctx.maxXferShift;
    const b = lane.maxTransferShift;
    const shift = a < b ? a : b;
    if (nz !== 0 || size === 0 || (shift < 32 && (size - 1) >>> shift !== 0)) return this.run(f, ctx, false, 0);
    // #14, or execMemmove's choice of a descending copy
    const src = sHi * TWO32 + sLo;
    const dst = dHi * TWO32 + dLo;
    const d = dst - src;
    if ((lane.overlapCheck !== 0 && d < size && -d < size) || (lane.descending !== 0 && d > 0 && d < size)) return this.run(f, ctx, false, 0);
    // A copy larger than what is left of the step's work budget is split by the ordered path's walk.
    if (size > f.budgetLeft) return this.run(f, ctx, false, 0);

    if (f.ctx !== ctx) f.ctx = ctx; // the PARK unwinding reads the frame's context
    const space = ctx.space;
    const cr = crHi * TWO32 + crLo;
    const crRun = this.laneCr;
    if (translateRaw(space, cr, 32, true, crRun) !== 32) return this.laneCrFault(f, ctx);
    const s = this.laneSrc;
    const t = this.laneDst;
    if (translateRaw(space, src, size, false, s) !== size || translateRaw(space, dst, size, true, t) !== size) return this.laneWalk(f, ctx);
    copyBytes(s.bytes, s.offset, t.bytes, t.offset, size);
    if ((v.getUint8(o + D_FLAGS) & RCR) !== 0) {
      // `writeCleanCr`, its common case written out (V8 does not inline the call into the lane; this
      // saves a few nanoseconds per descriptor): a word-aligned record in the cached backing store.
      const bytes = crRun.bytes;
      const off = crRun.offset;
      const w = bytes === this.crBytes ? this.crI32 : null;
      if (w !== null && (off & 3) === 0) {
        const i = off >>> 2;
        w[i + 1] = 0;
        w[i + 2] = 0;
        w[i + 3] = 0;
        w[i + 4] = 0;
        w[i + 5] = 0;
        w[i + 6] = 0;
        w[i + 7] = 0;
        bytes[off + 3] = 0;
        bytes[off + 2] = 0;
        bytes[off + 1] = 0;
        bytes[off] = SUCCESS;
        const tx = this.session.tx;
        if (tx !== null) tx.published(cr, 32);
      } else {
        this.writeCleanCr(bytes, off, SUCCESS, cr);
      }
      this.crWrittenFlag = true;
    }
    // (The lane calls out to nothing but the address space: no cancellation to check, as in `complete`
    // of a success without readback.)
    this.laneRuns++;
    return SUCCESS;
  }

  /** The lane's first CR translation failed: the ordered path from the same point (page requests, #2). */
  private laneCrFault(f: Frame, ctx: ExecContext): number {
    this.load(f, ctx, false, 0);
    if (!this.translateCrAfterFault(f)) return this.discard(f, CRA_XLAT);
    return this.checked(f, ctx, false);
  }

  /**
   * The lane's source or destination is not one whole run (several mappings, or a fault): the ordered
   * path from the same point — the CR translated, the checks passed (re-run here: no side effect
   * without RCI; they decode the operands), `execMemmove`'s ascending walk, {@link complete}.
   */
  private laneWalk(f: Frame, ctx: ExecContext): number {
    this.load(f, ctx, false, 0);
    f.crEpoch = f.epoch;
    const st = checkDescriptor(f);
    return this.complete(f, st !== 0 ? st : memmoveWalk(f));
  }

  /** Translates the CR address for a write into `f.crRun` (page request first when PRS is enabled). */
  private translateCr(f: Frame): boolean {
    if (f.crNum >= 0 && translateRaw(f.ctx.space, f.crNum, 32, true, f.crRun) === 32) {
      f.crEpoch = f.epoch;
      return true;
    }
    return this.translateCrAfterFault(f);
  }

  /** `translateCr` after the first translation failed: the page-request rounds (§6.3). */
  private translateCrAfterFault(f: Frame): boolean {
    const ctx = f.ctx;
    if (f.crNum >= 0 && f.prsAvailable()) {
      for (let round = 0; round < PAGE_REQUEST_ROUNDS; round++) {
        f.epoch++;
        const granted = (ctx.faults as (p: number, i: number, w: boolean) => boolean)(ctx.pasid, f.crNum, true);
        checkCancelled(ctx);
        if (!granted) break;
        if (translateRaw(ctx.space, f.crNum, 32, true, f.crRun) === 32) {
          f.crEpoch = f.epoch;
          return true;
        }
      }
    }
    return false;
  }

  /** Checks #1–#3 failed: SWERROR only, no CR, no interrupt. */
  private discard(f: Frame, code: number): number {
    this.report(f, code);
    return code;
  }

  /** Routes the outcome (§4.1): readback, CR (bytes 1–31, then status), SWERROR, interrupt. */
  private complete(f: Frame, status: number): number {
    const code = status & CODE_MASK;
    const flags = f.flags;
    if ((flags & CC2) !== 0 && (code === SUCCESS || code === SUCCESS_PRED)) {
      this.readback(f);
      checkCancelled(f.ctx);
    }
    // isSuccessLike(code), spelled out on the constants above.
    const successLike = code === SUCCESS || code === SUCCESS_PRED || code === BATCH_FAIL;
    if ((flags & CRAV) !== 0) {
      if ((flags & RCR) !== 0 || !successLike) {
        if (f.crEpoch !== f.epoch && !this.translateCr(f)) return this.discard(f, CRA_XLAT);
        if (code === INVALID_FLAGS) {
          const v = f.crView;
          v.setUint16(CR_INVALID_FLAGS, f.invalidFlags & 0xffff, true);
          f.cr[CR_INVALID_FLAGS + 2] = f.invalidFlags >>> 16;
        }
        this.writeCr(f, status);
        if (f === this.top) this.crWrittenFlag = true;
      }
      if (code === INT_HANDLE_INVAL && this.caps.logInvalidHandle) {
        this.report(f, status);
        checkCancelled(f.ctx);
      }
    } else if (!successLike) {
      this.report(f, status);
      // The report called out (a record write does not; a readback was checked above).
      checkCancelled(f.ctx);
    }
    if ((flags & RCI) !== 0 && (f.invalidFlags & RCI) === 0 && code !== INT_HANDLE_INVAL) this.interrupt(f);
    return status;
  }

  /** Destination readback after a fully successful operation with CC2 (§2.3), when the hook is set. */
  private readback(f: Frame): void {
    const ctx = f.ctx;
    if (ctx.readback !== null && (f.ops.writesMemory(f.opcode) || f.opcode === 0x20)) {
      f.epoch++;
      const tx = this.session.tx;
      if (tx !== null) tx.holdReadback(ctx.pasid, f.opcode);
      else ctx.readback(ctx.pasid, f.opcode);
    }
  }

  /** The completion interrupt (§4.3): the handle check if #6 did not run, then the raise. */
  private interrupt(f: Frame): void {
    const ctx = f.ctx;
    if (f.handleState === 0) {
      f.epoch++;
      f.handleState = ctx.interrupts.validate(f.handle, ctx.ims, ctx.pasidEnabled, ctx.pasid) ? 1 : 2;
    }
    if (f.handleState === 1) {
      f.epoch++;
      const tx = this.session.tx;
      if (tx !== null) tx.holdInterrupt(f.handle, ctx.ims);
      else ctx.interrupts.raise(f.handle, ctx.ims);
      if (f === this.top) this.interruptFlag = true;
    }
  }

  /** Copies the CR scratch to guest memory: bytes 1–31 first, the status byte last. */
  private writeCr(f: Frame, status: number): void {
    const bytes = f.crRun.bytes;
    const off = f.crRun.offset;
    if (bytes !== this.crBytes) this.cacheCrStore(bytes);
    const w = this.crI32;
    if (w !== null && (off & 3) === 0 && f.crDirty === false) {
      // The scratch is all zero (nothing wrote to it): store zeros without reading it (the aligned
      // case of `writeCleanCr`, written out: V8 inlines this whole function into the hot path only
      // while it stays this small).
      const i = off >>> 2;
      w[i + 1] = 0;
      w[i + 2] = 0;
      w[i + 3] = 0;
      w[i + 4] = 0;
      w[i + 5] = 0;
      w[i + 6] = 0;
      w[i + 7] = 0;
      bytes[off + 3] = 0;
      bytes[off + 2] = 0;
      bytes[off + 1] = 0;
    } else {
      this.copyCrTail(f, bytes, off);
    }
    bytes[off] = status;
    const tx = this.session.tx;
    if (tx !== null) tx.published(f.crNum, 32);
  }

  /**
   * Writes a record that is all zero but its status at `bytes[off]` (the CR at IOVA `crNum`): bytes
   * 4–31 (by words when aligned), then 3, 2, 1, then the status byte — the order of {@link writeCr}.
   */
  private writeCleanCr(bytes: Uint8Array, off: number, status: number, crNum: number): void {
    if (bytes !== this.crBytes) this.cacheCrStore(bytes);
    const w = this.crI32;
    if (w !== null && (off & 3) === 0) {
      const i = off >>> 2;
      w[i + 1] = 0;
      w[i + 2] = 0;
      w[i + 3] = 0;
      w[i + 4] = 0;
      w[i + 5] = 0;
      w[i + 6] = 0;
      w[i + 7] = 0;
      bytes[off + 3] = 0;
      bytes[off + 2] = 0;
      bytes[off + 1] = 0;
    } else {
      bytes.fill(0, off + 1, off + 32);
    }
    bytes[off] = status;
    const tx = this.session.tx;
    if (tx !== null) tx.published(crNum, 32);
  }

  /** Caches a word view of the CR's backing store (rebuilt only when the backing store changes). */
  private cacheCrStore(bytes: Uint8Array): void {
    this.crBytes = bytes;
    this.crI32 = (bytes.byteOffset & 3) === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : null;
  }

  /** `writeCr` of a scratch that may hold data: bytes 4–31 (by words when aligned), then 3, 2, 1. */
  private copyCrTail(f: Frame, bytes: Uint8Array, off: number): void {
    const w = this.crI32;
    if (w !== null && (off & 3) === 0) {
      const i = off >>> 2;
      const s = f.crWords;
      w[i + 1] = s[1] as number;
      w[i + 2] = s[2] as number;
      w[i + 3] = s[3] as number;
      w[i + 4] = s[4] as number;
      w[i + 5] = s[5] as number;
      w[i + 6] = s[6] as number;
      w[i + 7] = s[7] as number;
      const c = f.crTail;
      bytes[off + 3] = c[2] as number;
      bytes[off + 2] = c[1] as number;
      bytes[off + 1] = c[0] as number;
    } else {
      bytes.set(f.crTail, off + 1);
    }
  }

  /** Fills the reusable SWERROR record for the descriptor of `f` and reports it. */
  private report(f: Frame, status: number): void {
    const e = this.swerr;
    const ctx = f.ctx;
    const caps = this.caps;
    const code = status & STATUS_CODE_MASK;
    e.clear();
    e.code = code;
    e.descValid = true;
    e.wqIndexValid = true;
    e.batchMember = f.inBatch;
    e.batchIndex = f.inBatch ? f.batchIndex : 0;
    e.priv = ctx.priv;
    e.opcode = f.opcode;
    e.pasid = ctx.pasid;
    e.wqIndex = ctx.wqIndex;
    const isFault = code === 0x03 || code === 0x04 || code === 0x06 || code === 0x1f;
    if (isFault || code === Status.CRA_XLAT) e.rw = (status & STATUS_WRITE) !== 0 || code === Status.CRA_XLAT;
    if (code === Status.INVALID_FLAGS) {
      e.errorInfo = f.invalidFlags;
    } else if (code === Status.INT_HANDLE_INVAL) {
      e.errorInfo = f.handle;
      e.errorInfoValid = caps.errorInfoValid;
    } else if (isFault && caps.crFaultInfo) {
      e.errorInfo = (f.faultId << 29) >>> 0;
      e.errorInfoValid = caps.errorInfoValid;
    }
    if (isFault) {
      e.addressLo = f.faultLo;
      e.addressHi = f.faultHi;
    } else if (code === Status.CRA_XLAT) {
      e.addressLo = f.crLo;
      e.addressHi = f.crHi;
    }
    f.epoch++;
    const tx = this.session.tx;
    if (tx !== null) tx.holdError(e);
    else ctx.errors.report(e);
    if (f === this.top) this.errorFlag = true;
  }

  /** BATCH (§7.2, §8): elements read through the IOMMU and executed in order with the batch's context. */
  private batch(f: Frame): number {
    const count = f.size;
    const listMode = f.prsAvailable() ? FaultMode.REQUEST : FaultMode.REPORT;
    const el = this.element;
    const bytes = el.own;
    el.view = el.ownView;
    el.base = 0;
    el.words = el.ownWords;
    el.wbase = 0;
    const run = f.runs[0]!;
    let failed = (f.flags & OpFlag.BATCH_ERROR) !== 0;
    let completed = 0;
    let status: number = Status.SUCCESS;
    const ctx = f.ctx;
    let first = 0;
    if (f.resumeAt >= 0) {
      // Resume point: the element to run next, with the count and failure so far.
      first = f.resumeAt;
      f.resumeAt = -1;
      completed = f.resumeState[R_COMPLETED] as number;
      failed = f.resumeState[R_FAILED] === 1;
    }
    for (let i = first; i < count; i++) {
      // The previous element's interrupt or error report may have abandoned the batch: no element more.
      checkCancelled(ctx);
      if (f.budgetLeft <= 0) this.yieldBatch(f, i, completed, failed);
      // The element's read is charged once (not again when a continuation resumes the element).
      if (el.resumeAt < 0) f.budgetLeft -= DESC_SIZE;
      f.faultMode = listMode;
      let k = 0;
      while (k < DESC_SIZE) {
        const g = f.xlate(Slot.A, i * DESC_SIZE + k, DESC_SIZE - k, false, run);
        if (g === 0) break;
        for (let j = 0; j < g; j++) bytes[k + j] = run.bytes[run.offset + j] as number;
        k += g;
      }
      if (k < DESC_SIZE) {
        f.fault(Slot.A, i * DESC_SIZE, false, Status.BATCH_PAGE_FAULT);
        f.reportFault(completed);
        status = Status.BATCH_PAGE_FAULT;
        break;
      }
      if ((el.ownView.getUint32(Desc.FLAGS, true) & Flag.FENCE) !== 0 && failed) break;
      this.elementRunning = true;
      el.budgetLeft = f.budgetLeft;
      let st: number;
      try {
        st = this.run(el, f.ctx, true, i);
      } catch (e) {
        if (e === YIELD) this.saveBatch(f, i, completed, failed);
        throw e;
      }
      this.elementRunning = false;
      f.budgetLeft = el.budgetLeft;
      el.resumeAt = -1;
      completed++;
      if ((st & STATUS_CODE_MASK) !== Status.SUCCESS) failed = true;
    }
    checkCancelled(ctx);
    f.crEpoch = -1; // element hooks and sinks may have changed translations
    f.epoch++;
    f.crView.setUint32(Cr.BYTES_COMPLETED, completed, true);
    if (this.caps.batchContinuation && failed) f.cr[Cr.RESULT] = 1;
    if (status === Status.SUCCESS && failed) status = Status.BATCH_FAIL;
    return status;
  }

  /** The batch's resume point: element `i` runs next, `completed` done, `failed` so far. */
  private saveBatch(f: Frame, i: number, completed: number, failed: boolean): void {
    const r = f.resumeState;
    r[0] = i;
    r[R_COMPLETED] = completed;
    r[R_FAILED] = failed ? 1 : 0;
  }

  /** The budget ran out between batch elements: yield before element `i` (in a transaction: lift the budget). */
  private yieldBatch(f: Frame, i: number, completed: number, failed: boolean): void {
    if (this.session.tx !== null) {
      f.budgetLeft = Number.POSITIVE_INFINITY;
      return;
    }
    this.saveBatch(f, i, completed, failed);
    throw YIELD;
  }
}
