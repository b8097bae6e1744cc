/**
 * Execution state of one descriptor (internal to the engine): the decoded header, the address
 * operands, the reusable DMA runs, the fault being reported and the completion-record scratch.
 * The engine owns two frames (a directly submitted descriptor and a batch element) and reuses them.
 */
import { type AddressSpace, DmaRun, type DmaSession, IOVA_LIMIT } from '../../memory/index.js';
import type { EngineCaps } from '../spec/caps.js';
import { type CompiledOps, Operand } from './compiled-ops.js';
import { CR_SIZE, Cr } from '../spec/completion-record.js';
import type { ExecContext } from './context.js';
import { Flag } from '../spec/flags.js';
import { DifParams } from './ops/dif-params.js';
import { Status, STATUS_WRITE } from '../spec/status.js';

/** Page-request rounds on one address before giving up (§6.2 model choice). */
export const PAGE_REQUEST_ROUNDS = 3;
const TWO32 = 0x1_0000_0000;
// Module-local copies for the hot path (V8 folds a module's own `const` into optimized code but
// re-reads an imported binding at every use).
const LIMIT = IOVA_LIMIT;
const { PAGE_FAULT_IR, PAGE_FAULT_NOBOF } = Status;
const BOF = Flag.BOF;

/** Fields of one slot in `Frame.slots`. */
export const SlotField = {
  /** Low half of the address. */
  LO: 0,
  /** High half of the address. */
  HI: 1,
  /** The address as a number, -1 when ≥ 2^53. */
  NUM: 2,
  /** Buffer length (overlap check; set only for an operation with an overlap rule). */
  LEN: 3,
} as const;
/** Numbers per slot in `Frame.slots`. */
export const SLOT_STRIDE = 8;
const { LO, HI, NUM, LEN } = SlotField;

/** How a fault on an operand is handled. */
export const FaultMode = {
  /** No page request: report immediately. */
  REPORT: 0,
  /** Ask `ctx.faults`, retry (BOF data operand, or a batch list / readback / CR with PRS). */
  REQUEST: 1,
} as const;
// Non-exported copies (an exported binding is a cell that V8 re-reads at every use, even here).
const { REPORT, REQUEST } = FaultMode;

/** Per-descriptor execution state. */
export class Frame {
  /** Own 64-byte descriptor buffer (batch elements are read into it). */
  readonly own = new Uint8Array(64);
  /** View over `own`. */
  readonly ownView = new DataView(this.own.buffer);
  /** `own` as native-order 32-bit words. */
  readonly ownWords = new Int32Array(this.own.buffer);
  /** View of the buffer holding the descriptor being executed (read in place). */
  view: DataView = this.ownView;
  /** Byte offset of the descriptor in `view`. */
  base = 0;
  /** Native-order 32-bit words of that buffer (for zero tests). */
  words: Int32Array = this.ownWords;
  /** Word index of the descriptor in `words`. */
  wbase = 0;
  /** Submission context. */
  ctx!: ExecContext;
  /** 24-bit flags. */
  flags = 0;
  /** Opcode. */
  opcode = 0;
  /** Transfer size / descriptor count (u32 at byte 32). */
  size = 0;
  /** Completion interrupt handle. */
  handle = 0;
  /** The descriptor is a batch element. */
  inBatch = false;
  /** Element index in the batch. */
  batchIndex = 0;
  /** Completion record address halves and number (-1 if ≥ 2^53). */
  crLo = 0;
  /** High half of the CR address. */
  crHi = 0;
  /** CR address as a number, or -1. */
  crNum = -1;
  /** Invalid-flags bitmask for status 0x11. */
  invalidFlags = 0;
  /** Interrupt-handle check result: 0 not evaluated, 1 valid, 2 invalid. */
  handleState = 0;
  /** Incremented whenever embedder code runs (hooks, sinks): translations may have changed. */
  epoch = 0;
  /** Epoch at which `crRun` was translated. */
  crEpoch = -1;
  /** Set by an operation that ran to completion (destination readback applies). */
  fullSuccess = false;

  /**
   * The address operands, `SLOT_STRIDE` numbers per slot (fields `SlotField`: address halves,
   * address as a number or -1 when ≥ 2^53, buffer length for the overlap check). One typed array,
   * so decoding an operand touches one object. Read with `lo`, `hi`, `num`, `len`.
   */
  readonly slots = new Float64Array(4 * SLOT_STRIDE);
  /** Bit n set when slot n is present. */
  present = 0;

  /** Reusable runs (walk index i uses runs[i]; runs[4], runs[5] are scratch). */
  readonly runs: readonly DmaRun[] = [new DmaRun(), new DmaRun(), new DmaRun(), new DmaRun(), new DmaRun(), new DmaRun()];
  /** Run of the completion record. */
  readonly crRun = new DmaRun();

  /** Fault mode of data operands for this descriptor. */
  faultMode: number = FaultMode.REPORT;
  /** Status of the last fault (0x03 or 0x04, + 0x80 for a write). */
  faultStatus = 0;
  /** Address of the last fault, low half. */
  faultLo = 0;
  /** Address of the last fault, high half. */
  faultHi = 0;
  /** Operand id of the last fault. */
  faultId = 0;

  /** Lockstep walk: number of operands. */
  walkCount = 0;
  /** Lockstep walk: slot of each operand, in translation order. */
  readonly walkSlot = new Uint8Array(4);
  /** Lockstep walk: 1 = write access. */
  readonly walkWrite = new Uint8Array(4);
  /** Set by a walk kernel that stops early. */
  stopped = false;
  /** Epoch at which the walk translated the operands of the chunk its kernel is running on. */
  walkEpoch = 0;
  /** Set by a walk kernel that returns early because it ran embedder code: translate the rest again. */
  restart = false;
  /** Non-zero when a walk kernel stopped because of a fault (the status). */
  kernelFault = 0;
  /** Bytes done by the last walk. */
  done = 0;

  /**
   * The store behind {@link budgetLeft}: a float64 slot, not a field. V8 keeps a number field that is
   * not a small integer (`Infinity`, byte counts past 2^30) in a heap box reached through the object;
   * a typed-array slot is a plain float store (measured: engine.noop was a few percent slower with
   * the field).
   */
  readonly budgetSlot = new Float64Array([Number.POSITIVE_INFINITY]);

  /**
   * Bytes the running step may still process (work budget): walks and copies take at most this, then
   * the descriptor yields at a resume point ({@link yieldAt}). Set by the engine per step; shared by a
   * batch and its elements.
   */
  get budgetLeft(): number {
    return this.budgetSlot[0] as number;
  }

  set budgetLeft(bytes: number) {
    this.budgetSlot[0] = bytes;
  }
  /**
   * Where the operation resumes (its meaning is the operation's: a byte position, a block or entry
   * index, a batch element), -1 when it runs from the start. Set by the engine from a continuation's
   * saved state; the operation consumes it (and its scratch) at its resume point. `reset` keeps it.
   */
  resumeAt = -1;
  /** Saved resume state: position, then the scratch an operation carries across a yield. */
  readonly resumeState = new Float64Array(RESUME_WORDS);

  /** The completion record scratch; reached through `cr` / `crView`, which mark it dirty. */
  private readonly crScratch = new Uint8Array(CR_SIZE);
  /** View over the scratch. */
  private readonly crScratchView = new DataView(this.crScratch.buffer);
  /** The scratch as eight 32-bit words, for the engine's CR write (reading does not mark it dirty). */
  readonly crWords = new Int32Array(this.crScratch.buffer);
  /** The scratch without the status byte, for the engine's CR write. */
  readonly crTail = this.crScratch.subarray(1);
  /**
   * False while the scratch is known to be all zero: `reset` then skips clearing it and the
   * engine's CR write stores zeros without reading it. Set by every access through `cr`/`crView`.
   */
  crDirty = false;

  /** Operation scratch: CRC state, patterns, DIF blocks. */
  crc = 0;
  /** CRC-64 register [lo, hi]. */
  readonly crc64 = new Uint32Array(2);
  /** Fill / compare pattern (up to 16 bytes). */
  readonly pattern = new Uint8Array(16);
  /** Pattern length. */
  patternLen = 8;
  /** Generic per-operation numbers used by walk kernels. */
  a = 0;
  /** Generic per-operation number. */
  b = 0;
  /** Generic per-operation number. */
  c = 0;
  /** DIF parameters. */
  readonly dif = new DifParams();
  /** Block gather buffer (largest DIF block + tuple). */
  readonly blockIn = new Uint8Array(4104 + 8);
  /** Block output buffer. */
  readonly blockOut = new Uint8Array(4104 + 8);

  /**
   * Builds a frame for the given capability tables; its runs belong to `session` (the engine's), the
   * completion-record run being explicit (translated first, reported written when it is written).
   */
  constructor(
    readonly caps: EngineCaps,
    readonly ops: CompiledOps,
    session: DmaSession | null = null,
  ) {
    for (const r of this.runs) r.session = session;
    this.crRun.session = session;
    this.crRun.explicit = true;
  }

  /** Resets the per-descriptor outcome state and the CR scratch. */
  reset(): void {
    this.invalidFlags = 0;
    this.handleState = 0;
    this.present = 0;
    this.faultStatus = 0;
    this.faultLo = 0;
    this.faultHi = 0;
    this.faultId = 0;
    this.faultMode = REPORT;
    this.fullSuccess = false;
    this.stopped = false;
    this.restart = false;
    this.kernelFault = 0;
    this.done = 0;
    if (this.crDirty === true) {
      const w = this.crWords;
      w[0] = 0;
      w[1] = 0;
      w[2] = 0;
      w[3] = 0;
      w[4] = 0;
      w[5] = 0;
      w[6] = 0;
      w[7] = 0;
      this.crDirty = false;
    }
  }

  /** Completion record scratch (bytes 1–31 are copied first, then byte 0). Marks it dirty. */
  get cr(): Uint8Array {
    this.crDirty = true;
    return this.crScratch;
  }

  /** View over `cr`. Marks the scratch dirty. */
  get crView(): DataView {
    this.crDirty = true;
    return this.crScratchView;
  }

  /** Low half of the address of `slot`. */
  lo(slot: number): number {
    return this.slots[slot * SLOT_STRIDE + LO]!;
  }

  /** High half of the address of `slot`. */
  hi(slot: number): number {
    return this.slots[slot * SLOT_STRIDE + HI]!;
  }

  /** Address of `slot` as a number, or -1 when it is ≥ 2^53. */
  num(slot: number): number {
    return this.slots[slot * SLOT_STRIDE + NUM]!;
  }

  /** Buffer length of `slot` (set only for operations with an overlap rule). */
  len(slot: number): number {
    return this.slots[slot * SLOT_STRIDE + LEN]!;
  }

  /** Fault-info operand id of `slot` for the current opcode (from its compiled operand list). */
  id(slot: number): number {
    const ops = this.ops;
    const row = ops.rows[this.opcode]!;
    for (let i = row.operandStart; i < row.operandEnd; i++) {
      const p = ops.operands[i]!;
      if ((p & Operand.SLOT) === slot) return (p >>> Operand.ID_SHIFT) & 7;
    }
    return 0;
  }

  /** True when the page-request service may be asked (PRS enabled and a handler present). */
  prsAvailable(): boolean {
    return this.ctx.prsEnabled && this.ctx.faults !== null;
  }

  /**
   * Translates `[slot + pos, +len)` for `write` into `run`. Returns the run length (≤ len), or 0
   * after recording a fault at `slot + pos` (status 0x03, or 0x04 when a page request failed).
   * In `FaultMode.REQUEST` a fault first goes to `ctx.faults`.
   */
  xlate(slot: number, pos: number, len: number, write: boolean, run: DmaRun): number {
    const start = this.num(slot);
    if (start >= 0) {
      const iova = start + pos;
      if (iova < LIMIT) {
        const n = translateRaw(this.ctx.space, iova, len, write, run);
        if (n > 0) return n;
        if (this.faultMode === REQUEST) {
          for (let round = 0; round < PAGE_REQUEST_ROUNDS; round++) {
            this.epoch++;
            const granted = (this.ctx.faults as (p: number, i: number, w: boolean) => boolean)(this.ctx.pasid, iova, write);
            if (this.ctx.cancelled === true) throw CANCEL;
            if (!granted) break;
            const m = translateRaw(this.ctx.space, iova, len, write, run);
            if (m > 0) return m;
          }
          return this.fault(slot, pos, write, PAGE_FAULT_IR);
        }
        return this.fault(slot, pos, write, PAGE_FAULT_NOBOF);
      }
    }
    // Not representable below 2^53: never mappable; a page request is refused.
    return this.fault(slot, pos, write, this.faultMode === REQUEST ? PAGE_FAULT_IR : PAGE_FAULT_NOBOF);
  }

  /** Records a fault at `slot + pos` and returns 0. */
  fault(slot: number, pos: number, write: boolean, code: number): number {
    const lo = this.lo(slot) + pos;
    this.faultLo = lo >>> 0;
    this.faultHi = (this.hi(slot) + Math.floor(lo / TWO32)) >>> 0;
    this.faultStatus = write ? code | STATUS_WRITE : code;
    this.faultId = this.id(slot);
    return 0;
  }

  /** Writes Bytes Completed, Fault Address and fault info for the recorded fault; returns its status. */
  reportFault(bytesCompleted: number): number {
    const v = this.crView;
    v.setUint32(Cr.BYTES_COMPLETED, bytesCompleted, true);
    v.setUint32(Cr.FAULT_ADDR, this.faultLo, true);
    v.setUint32(Cr.FAULT_ADDR + 4, this.faultHi, true);
    if (this.caps.crFaultInfo) this.cr[Cr.FAULT_INFO] = this.faultId << 1;
    return this.faultStatus;
  }

  /**
   * Runs a lockstep walk over `size` bytes from position `from` on the operands in `walkSlot`:
   * translate each operand (sources first), take the shortest run, call `kernel` on it. The kernel
   * returns the bytes it consumed; fewer than offered stops the walk (`stopped`, or `kernelFault`).
   * Returns 0 when the walk ended without a fault (check `stopped`), else the fault status.
   * `done` = bytes fully processed.
   */
  walk(from: number, size: number, kernel: (f: Frame, pos: number, n: number) => number): number {
    let pos = this.resumeAt < 0 ? from : this.resumeFrom(from);
    const runs = this.runs;
    let again = 0;
    while (pos < size) {
      let n = size - pos;
      if (n > this.budgetLeft) {
        // The step's budget ends inside: take what is left of it (whole 8-byte words: the delta
        // kernel works on words), or yield here when less than a word is left.
        const left = this.budgetLeft - (this.budgetLeft % 8);
        if (left > 0) n = left;
        else this.yieldAt(pos);
      }
      let epoch = this.epoch;
      for (let i = 0; i < this.walkCount; i++) {
        const g = this.xlate(this.walkSlot[i] as number, pos, n, this.walkWrite[i] === 1, runs[i] as DmaRun);
        if (g === 0) {
          this.done = pos;
          return this.faultStatus;
        }
        n = g;
        if (i === 0) epoch = this.epoch;
      }
      if (this.epoch !== epoch) {
        // The page-request service ran for a later operand and may have changed any mapping: the
        // operands translated before it are translated again, so no DMA goes through a mapping it
        // removed (vfio-uapi.md §9.2). A service that keeps taking one operand's page away to give
        // another's ends the walk as a request answered too often would (0x04, §6.2).
        this.done = pos;
        if (++again > PAGE_REQUEST_ROUNDS) {
          this.fault(this.walkSlot[0] as number, pos, this.walkWrite[0] === 1, PAGE_FAULT_IR);
          return this.faultStatus;
        }
        continue;
      }
      again = 0;
      this.walkEpoch = epoch;
      const used = kernel(this, pos, n);
      this.budgetLeft -= used;
      pos += used;
      if (used < n) {
        if (this.restart) {
          this.restart = false;
          continue;
        }
        this.done = pos;
        if (this.kernelFault !== 0) return this.kernelFault;
        this.stopped = true;
        return 0;
      }
    }
    this.done = pos;
    return 0;
  }

  /** Sets the lockstep operands: up to four (slot, write) pairs in translation order. */
  setWalk(count: number, s0: number, w0: boolean, s1 = 0, w1 = false, s2 = 0, w2 = false): void {
    this.walkCount = count;
    this.walkSlot[0] = s0;
    this.walkWrite[0] = w0 ? 1 : 0;
    this.walkSlot[1] = s1;
    this.walkWrite[1] = w1 ? 1 : 0;
    this.walkSlot[2] = s2;
    this.walkWrite[2] = w2 ? 1 : 0;
  }

  /**
   * The step's work budget is spent at resume point `pos` of the running operation: saves `pos` and the
   * operation scratch (CRC state, `a`, `b`, `c`) and throws {@link YIELD}. In a DMA transaction (memory
   * reached by messages: attempts re-run from their start) nothing yields: the budget is lifted for the
   * rest of the step and this returns.
   */
  yieldAt(pos: number): void {
    const session = (this.runs[4] as DmaRun).session;
    if (session !== null && session !== undefined && session.tx !== null) {
      this.budgetLeft = Number.POSITIVE_INFINITY;
      return;
    }
    const r = this.resumeState;
    r[R_POS] = pos;
    r[1] = this.crc;
    r[2] = this.crc64[0] as number;
    r[3] = this.crc64[1] as number;
    r[4] = this.a;
    r[5] = this.b;
    r[6] = this.c;
    throw YIELD;
  }

  /**
   * At its resume point an operation continued after a yield takes its position back ({@link resumeAt},
   * which is cleared) and its scratch; returns the position, or `start` when it runs from the start.
   */
  resumeFrom(start: number): number {
    const at = this.resumeAt;
    if (at < 0) return start;
    this.resumeAt = -1;
    const r = this.resumeState;
    this.crc = r[1] as number;
    this.crc64[0] = r[2] as number;
    this.crc64[1] = r[3] as number;
    this.a = r[4] as number;
    this.b = r[5] as number;
    this.c = r[6] as number;
    return at;
  }

  /** True when the descriptor's flags include `flag`. */
  has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  /** Reads a u8 of the descriptor. */
  u8(field: number): number {
    return this.view.getUint8(this.base + field);
  }

  /** Reads a u16 of the descriptor. */
  u16(field: number): number {
    return this.view.getUint16(this.base + field, true);
  }

  /** Reads a u32 of the descriptor. */
  u32(field: number): number {
    return this.view.getUint32(this.base + field, true);
  }

  /** BOF is set (and so the page-request path is used when available). */
  wantsBlockOnFault(): boolean {
    return (this.flags & BOF) !== 0 && this.prsAvailable();
  }
}

/**
 * Thrown (this one preallocated object) at a resume point when the step's work budget is spent
 * ({@link Frame.yieldAt}): the engine hands the descriptor out part-done and continues it at the next
 * step from the saved point, with the same result as one uninterrupted run.
 */
export const YIELD = Object.freeze({ yield: true });

/** Numbers in a frame's saved resume state ({@link Frame.resumeState}). */
export const RESUME_WORDS = 10;
/** Resume state: position (op-specific: bytes, a block or entry index, a batch element), -1 none. */
const R_POS = 0;
/** Resume state: batch only — elements completed, any failed. */
export const R_COMPLETED = 7;
/** Resume state: batch only — whether an element failed (1) so far. */
export const R_FAILED = 8;

/**
 * Thrown (this one preallocated object) by {@link translateRaw} when the page is memory reached only
 * by messages and its fetch is under way: the engine unwinds the attempt at its `execute` boundary and
 * the descriptor waits, as a DSA waits for a page request under block-on-fault (dsa-operations.md §6.2).
 */
export const PARK = Object.freeze({ park: true });

/**
 * Thrown (this one preallocated object) when a callback made by the running descriptor abandoned it
 * (`ExecContext.cancelled`): the engine unwinds it at its `execute` / `resume` boundary with nothing
 * more of it done (`DescriptorEngine.execute` then returns `CANCELLED`).
 */
export const CANCEL = Object.freeze({ cancel: true });

/**
 * `space.translate` guarded for the contract: clamps to 2^53, never more than `len`, 0 for a null
 * space. The one place every engine DMA translates: a 0 with the run's session pending (a fetch under
 * way) throws {@link PARK} — checked only after a 0, so ordinary memory pays nothing.
 */
export function translateRaw(space: AddressSpace | null, iova: number, len: number, write: boolean, run: DmaRun): number {
  if (space === null) return 0;
  const max = LIMIT - iova;
  const want = len < max ? len : max;
  const n = space.translate(iova, want, write, run);
  if (n > 0) return n < want ? n : want;
  const s = run.session;
  if (s !== null && s !== undefined && s.pending === true) throw PARK;
  return 0;
}
