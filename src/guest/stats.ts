/**
 * What the driver counts: per operation (calls, bytes, descriptors, resolved faults, completion
 * interrupts, the completion statuses seen) and per driver (descriptors, ENQCMD retries, interrupts
 * per vector, completions found without their interrupt, the most descriptors in flight, operations
 * that waited for a WQ slot). Counting is a few integer increments; {@link GuestStatsCounter.snapshot}
 * copies.
 */

/** Counters of one operation kind. */
export interface OpStats {
  /** Calls (a batch item counts for its own operation too). */
  count: number;
  /** Bytes asked for (the transfer size of each call). */
  bytes: number;
  /** Descriptors submitted (resumptions included). */
  submissions: number;
  /** Page faults resolved through the fault hook. */
  faults: number;
  /** Completion interrupts that completed it. */
  interrupts: number;
  /** Completion statuses seen, by `0x..` code (the R/W bit included: a write fault is `0x83`). */
  statuses: Record<string, number>;
}

/** A snapshot of the driver's counters. */
export interface GuestStats {
  /** Per operation name (and `batch`). */
  readonly ops: Readonly<Record<string, Readonly<OpStats>>>;
  /** Descriptors accepted by the portal. */
  readonly descriptors: number;
  /** ENQCMD answers of Retry (and trapped submissions that vanished and were resubmitted). */
  readonly retries: number;
  /** Interrupts taken, per MSI-X vector. */
  readonly interrupts: readonly number[];
  /**
   * Completion interrupts lost: records found written whose interrupt never came (each rejected its
   * operation with an `IdxdLostInterruptError`). A 0x19 record, which comes without an interrupt by
   * design, is not counted.
   */
  readonly missedInterrupts: number;
  /** Most descriptors in flight at once. */
  readonly maxInFlight: number;
  /** Operations that waited for a free WQ slot (flow control). */
  readonly queued: number;
}

/** The `0x..` key of every status byte, made once: counting a completion builds no string. */
const STATUS_KEYS: readonly string[] = Array.from({ length: 256 }, (_, n) => `0x${n.toString(16).padStart(2, '0')}`);

/** The driver's counters. */
export class GuestStatsCounter {
  /** Per operation. */
  readonly ops: Record<string, OpStats> = {};
  /** See {@link GuestStats.descriptors}. */
  descriptors = 0;
  /** See {@link GuestStats.retries}. */
  retries = 0;
  /** See {@link GuestStats.missedInterrupts}. */
  missedInterrupts = 0;
  /** See {@link GuestStats.maxInFlight}. */
  maxInFlight = 0;
  /** See {@link GuestStats.queued}. */
  queued = 0;
  /** Per vector. */
  readonly interrupts: number[];

  /** Counters for `vectors` MSI-X vectors. */
  constructor(vectors: number) {
    this.interrupts = new Array<number>(vectors).fill(0);
  }

  /** The counters of `op` (created on first use). */
  op(op: string): OpStats {
    let s = this.ops[op];
    if (s === undefined) {
      s = { count: 0, bytes: 0, submissions: 0, faults: 0, interrupts: 0, statuses: {} };
      this.ops[op] = s;
    }
    return s;
  }

  /** Counts completion status byte `status` for `op`. */
  status(op: string, status: number): void {
    const s = this.op(op);
    const k = STATUS_KEYS[status & 0xff] as string;
    s.statuses[k] = (s.statuses[k] ?? 0) + 1;
  }

  /** A copy. */
  snapshot(): GuestStats {
    const ops: Record<string, OpStats> = {};
    for (const [k, v] of Object.entries(this.ops)) ops[k] = { ...v, statuses: { ...v.statuses } };
    return {
      ops, descriptors: this.descriptors, retries: this.retries, interrupts: [...this.interrupts], missedInterrupts: this.missedInterrupts,
      maxInFlight: this.maxInFlight, queued: this.queued,
    };
  }
}
