/**
 * VFIO_DEVICE_SET_IRQS: the validation checklist of `vfio-uapi.md` §5.3 (in order, first failure
 * wins), the dispatch of §5.4, and the per-index, per-vector trigger bookkeeping the interrupt sink
 * delivers through.
 */
import {
  VFIO_IRQ_INFO_AUTOMASKED,
  VFIO_IRQ_INFO_MASKABLE,
  VFIO_IRQ_INFO_NORESIZE,
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_TYPE_MASK,
  VFIO_IRQ_SET_DATA_BOOL,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_IRQ_SET_DATA_TYPE_MASK,
} from './constants.js';
import type { InterruptSink, IrqIndexOps } from './device-ops.js';
import { VfioError } from './errors.js';
import { type EmbedderCallSite, reportEmbedderError } from '../embedder.js';
import { fireTrigger, isIrqTrigger, type IrqTrigger, type TriggerSlot } from './trigger.js';

/**
 * A SET_IRQS request (the fields of `struct vfio_irq_set` without argsz). `data`: absent for
 * DATA_NONE; `count` bool bytes for DATA_BOOL; `count` trigger slots for DATA_EVENTFD (`null` = the
 * C API's −1: de-assign, or leave unassigned).
 */
export interface IrqSetRequest {
  /** VFIO_IRQ_SET_DATA_* | VFIO_IRQ_SET_ACTION_*. */
  readonly flags: number;
  /** IRQ index. */
  readonly index: number;
  /** First vector. */
  readonly start: number;
  /** Number of vectors. */
  readonly count: number;
  /** Payload, per the data type. */
  readonly data?: Uint8Array | readonly TriggerSlot[];
}

/** A snapshot of one index's bookkeeping (for hosts and tests; allocates). */
export interface IrqStatus {
  /** Enabled (exclusive indices only; non-exclusive indices report true). */
  readonly enabled: boolean;
  /** Vectors in the enabled set (exclusive indices); the index count otherwise. */
  readonly size: number;
  /** Installed trigger per vector. */
  readonly triggers: readonly (IrqTrigger | null)[];
  /** Masked flag per vector (maskable indices). */
  readonly masked: readonly boolean[];
}

const U32 = 0x1_0000_0000;
const ALL_FLAGS = VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK; // 0x3F

function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < U32;
}

function oneBit(v: number): boolean {
  return v !== 0 && (v & (v - 1)) === 0;
}

function fail(row: number, message: string): VfioError {
  return new VfioError('EINVAL', `SET_IRQS: ${message} (check ${row})`);
}

/**
 * Checks a request against the §5.3 checklist for a device with IRQ table `irqs`; throws the first
 * failure (always EINVAL). Pure: looks at no state.
 */
export function validateIrqSet(req: IrqSetRequest, irqs: readonly IrqIndexOps[]): void {
  const { flags, index, start, count, data } = req;
  // 1: a well-formed header (object form: every field a u32).
  if (!isU32(flags) || !isU32(index) || !isU32(start) || !isU32(count)) {
    throw fail(1, 'flags, index, start and count must be unsigned 32-bit integers');
  }
  // 2: unknown flag bits.
  if ((flags & ~ALL_FLAGS) !== 0) throw fail(2, `unknown flag bits 0x${(flags & ~ALL_FLAGS).toString(16)}`);
  // 3: DATA_BOOL needs exactly `count` bytes.
  if ((flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 && !(data instanceof Uint8Array && data.length === count)) {
    throw fail(3, `DATA_BOOL needs exactly ${count} bool bytes`);
  }
  // 4: index in range.
  if (index >= irqs.length) throw fail(4, `IRQ index ${index} out of range (${irqs.length} indices)`);
  // 5, 6: exactly one action, exactly one data type.
  if (!oneBit(flags & VFIO_IRQ_SET_ACTION_TYPE_MASK)) throw fail(5, 'not exactly one ACTION bit');
  if (!oneBit(flags & VFIO_IRQ_SET_DATA_TYPE_MASK)) throw fail(6, 'not exactly one DATA bit');
  const spec = irqs[index] as IrqIndexOps;
  // 7, 8: the range lies inside the index (so an index with count 0 rejects everything).
  if (start >= spec.count) throw fail(7, `start ${start} ≥ count ${spec.count} of index ${index}`);
  if (start + count > spec.count) throw fail(8, `start ${start} + count ${count} > count ${spec.count} of index ${index}`);
  // 9, 10: notification indices (ERR, REQ) take TRIGGER only, one vector.
  if (spec.role !== undefined) {
    if ((flags & VFIO_IRQ_SET_ACTION_TRIGGER) === 0) throw fail(9, `index ${index} (${spec.role}) accepts ACTION_TRIGGER only`);
    if (count > 1) throw fail(10, `index ${index} (${spec.role}) has one vector`);
  }
  // 11, 12: count 0 is only the disable form DATA_NONE|ACTION_TRIGGER at start 0.
  if (count === 0 && start !== 0) throw fail(11, 'count 0 with start ≠ 0');
  if (count === 0 && flags !== (VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)) {
    throw fail(12, 'count 0 is only valid as DATA_NONE|ACTION_TRIGGER');
  }
  const eventfd = (flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0;
  const handles = Array.isArray(data) ? (data as readonly TriggerSlot[]) : undefined;
  // 13: trigger handles only with DATA_EVENTFD.
  if (handles !== undefined && handles.length > 0 && !eventfd) throw fail(13, 'trigger handles given without DATA_EVENTFD');
  // 14: DATA_EVENTFD needs exactly `count` slots.
  if (eventfd && (handles === undefined || handles.length !== count)) {
    throw fail(14, `DATA_EVENTFD needs exactly ${count} trigger slots`);
  }
}

interface IndexState {
  enabled: boolean;
  size: number;
  readonly triggers: (IrqTrigger | null)[];
  readonly masked: Uint8Array;
}

/**
 * The trigger bookkeeping of one open device handle: per index, enabled state and enabled-set size,
 * one trigger per vector, a mask bit per vector. It is the {@link InterruptSink} the device signals.
 */
export class IrqTable implements InterruptSink {
  private readonly states: IndexState[];
  /** Per index, where a trigger that throws is reported (by the index's role). */
  private readonly sites: readonly EmbedderCallSite[];

  /** Builds empty bookkeeping for a (snapshotted) IRQ table; `changed` runs after every change. */
  constructor(
    private readonly irqs: readonly IrqIndexOps[],
    private readonly changed?: (index: number) => void,
  ) {
    this.states = irqs.map((spec) => ({
      enabled: !spec.exclusive,
      size: spec.exclusive ? 0 : spec.count,
      triggers: new Array<IrqTrigger | null>(spec.count).fill(null),
      masked: new Uint8Array(spec.count),
    }));
    this.sites = irqs.map((spec) => (spec.role === 'request' ? 'request-trigger' : spec.role === 'error' ? 'error-trigger' : 'interrupt-trigger'));
  }

  /** Delivers a vector to its trigger (see {@link InterruptSink.signal}); automasks AUTOMASKED indices. */
  signal(index: number, vector: number): boolean {
    const st = this.states[index];
    if (st === undefined) return false;
    const t = st.triggers[vector];
    if (t === undefined || t === null || st.masked[vector] !== 0) return false;
    if (((this.irqs[index] as IrqIndexOps).flags & VFIO_IRQ_INFO_AUTOMASKED) !== 0) st.masked[vector] = 1;
    try {
      fireTrigger(t);
    } catch (e) {
      // The embedder's trigger threw: the interrupt was delivered as far as the device is concerned.
      reportEmbedderError(e, this.sites[index] as EmbedderCallSite);
    }
    return true;
  }

  /** Validates (§5.3) and carries out (§5.4) a SET_IRQS request; a failure changes nothing. */
  set(req: IrqSetRequest): void {
    validateIrqSet(req, this.irqs);
    const { flags, index, start, count } = req;
    const spec = this.irqs[index] as IrqIndexOps;
    const st = this.states[index] as IndexState;
    const action = flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
    const dataType = flags & VFIO_IRQ_SET_DATA_TYPE_MASK;

    if (action !== VFIO_IRQ_SET_ACTION_TRIGGER) {
      this.mask(req, spec, st, action === VFIO_IRQ_SET_ACTION_MASK);
      return;
    }
    if (count === 0) {
      // NONE + TRIGGER, start 0, count 0: disable the whole index (success even when not enabled).
      this.disable(index);
      this.changed?.(index);
      return;
    }
    if (dataType === VFIO_IRQ_SET_DATA_EVENTFD) {
      this.install(req, spec, st);
      this.changed?.(index);
      return;
    }
    // NONE/BOOL + TRIGGER: loopback.
    if (!st.enabled) throw new VfioError('EINVAL', `SET_IRQS: loopback on index ${index}, which is not enabled`);
    const bools = dataType === VFIO_IRQ_SET_DATA_BOOL ? (req.data as Uint8Array) : undefined;
    for (let i = 0; i < count; i++) if (bools === undefined || bools[i] !== 0) this.signal(index, start + i);
  }

  /** Removes every trigger and disables every index (on close). */
  clear(): void {
    for (let i = 0; i < this.states.length; i++) this.disable(i);
  }

  /** A snapshot of index `index`'s bookkeeping. */
  status(index: number): IrqStatus {
    const st = this.states[index];
    if (st === undefined) throw new VfioError('EINVAL', `IRQ index ${index} out of range (${this.states.length} indices)`);
    return { enabled: st.enabled, size: st.size, triggers: [...st.triggers], masked: Array.from(st.masked, (m) => m !== 0) };
  }

  /** Index of the notification index with role `role`, or −1. */
  roleIndex(role: 'error' | 'request'): number {
    return this.irqs.findIndex((spec) => spec.role === role);
  }

  private disable(index: number): void {
    const spec = this.irqs[index] as IrqIndexOps;
    const st = this.states[index] as IndexState;
    st.triggers.fill(null);
    st.masked.fill(0);
    if (spec.exclusive) {
      st.enabled = false;
      st.size = 0;
    }
  }

  private install(req: IrqSetRequest, spec: IrqIndexOps, st: IndexState): void {
    const { index, start, count } = req;
    const slots = req.data as readonly TriggerSlot[];
    const end = start + count;
    if (spec.exclusive && !st.enabled) {
      const other = this.irqs.findIndex((s, i) => i !== index && s.exclusive === true && (this.states[i] as IndexState).enabled);
      if (other >= 0) throw new VfioError('EINVAL', `SET_IRQS: index ${index} cannot be enabled while index ${other} is enabled`);
    }
    if (spec.exclusive && st.enabled && (spec.flags & VFIO_IRQ_INFO_NORESIZE) !== 0 && end > st.size) {
      throw new VfioError('EINVAL', `SET_IRQS: vectors ${start}..${end - 1} exceed the enabled set of ${st.size} (NORESIZE)`);
    }
    for (let i = 0; i < count; i++) {
      const s = slots[i];
      if (s !== null && !isIrqTrigger(s)) {
        throw new VfioError('EBADF', `SET_IRQS: data[${i}] is not a trigger`);
      }
    }
    if (spec.exclusive) {
      st.size = st.enabled ? Math.max(st.size, end) : end;
      st.enabled = true;
    }
    for (let i = 0; i < count; i++) st.triggers[start + i] = slots[i] as IrqTrigger | null;
  }

  private mask(req: IrqSetRequest, spec: IrqIndexOps, st: IndexState, mask: boolean): void {
    const { flags, index, start, count } = req;
    if ((spec.flags & VFIO_IRQ_INFO_MASKABLE) === 0) {
      throw new VfioError('ENOTTY', `SET_IRQS: index ${index} is not maskable`);
    }
    if ((flags & VFIO_IRQ_SET_DATA_EVENTFD) !== 0) {
      throw new VfioError('ENOTTY', `SET_IRQS: DATA_EVENTFD with ${mask ? 'MASK' : 'UNMASK'} is not supported`);
    }
    if (!st.enabled) throw new VfioError('EINVAL', `SET_IRQS: ${mask ? 'mask' : 'unmask'} of index ${index}, which is not enabled`);
    const bools = (flags & VFIO_IRQ_SET_DATA_BOOL) !== 0 ? (req.data as Uint8Array) : undefined;
    for (let i = 0; i < count; i++) if (bools === undefined || bools[i] !== 0) st.masked[start + i] = mask ? 1 : 0;
    this.changed?.(index);
  }
}
