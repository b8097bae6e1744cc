/**
 * The driver's interrupt side: the triggers it installs with SET_IRQS (callbacks run at delivery, or
 * EventFds it services while it waits), the handler of each vector, and vector 0 — INTCAUSE read and
 * cleared, SWERR read, logged and acknowledged, halt detected from GENSTS, revoked interrupt handles
 * marked for re-request.
 */
import { DeviceState } from '../dsa/spec/command-codes.js';
import { fieldMask } from '../dsa/spec/register-def.js';
import { INTCAUSE_REG, SWERR_REG } from '../dsa/spec/register-fields.js';
import { EventFd, type IrqTrigger } from '../vfio/index.js';
import { deviceState } from './bringup.js';
import { IdxdGuestError } from './errors.js';
import type { DeviceIo } from './io.js';
import type { GuestStatsCounter } from './stats.js';
import { decodeSwerr, type SoftwareErrorReport } from './swerr.js';

/** The INTCAUSE bits vector 0 acts on. */
const CAUSE_SOFTWARE_ERROR = fieldMask(INTCAUSE_REG.bits.softwareError);
const CAUSE_HANDLES_REVOKED = fieldMask(INTCAUSE_REG.bits.handlesRevoked);
const CAUSE_HALT = fieldMask(INTCAUSE_REG.bits.halt);

/** What the interrupt side tells the rest of the driver. */
export interface IrqClient {
  /** Completion vector `vector` fired. */
  completion(vector: number): void;
  /** The device halted: give up everything in flight with `why`. */
  halted(why: IdxdGuestError): void;
  /** Told about each software error (the driver option). */
  readonly onError?: ((report: SoftwareErrorReport) => void) | undefined;
}

/** Triggers, handlers and the vector-0 state of one driver. */
export class GuestIrq {
  /** The EventFds installed on the vectors (EventFd triggers), else empty. */
  readonly eventfds: readonly EventFd[];
  /** Every software error seen, oldest first. */
  readonly errors: SoftwareErrorReport[] = [];
  /** Why the device is halted, or null. */
  haltReason: string | null = null;
  /** INTCAUSE reported revoked interrupt handles: request them again before the next submission. */
  handlesStale = false;
  private readonly io: DeviceIo;
  private readonly counters: GuestStatsCounter;
  private readonly client: IrqClient;
  private readonly swerr = new Uint32Array(8);

  /** The interrupt side of `vectors` MSI-X vectors, with EventFd triggers when `eventfds`. */
  constructor(io: DeviceIo, counters: GuestStatsCounter, vectors: number, eventfds: boolean, client: IrqClient) {
    this.io = io;
    this.counters = counters;
    this.client = client;
    this.eventfds = eventfds ? Array.from({ length: vectors }, () => new EventFd()) : [];
  }

  /** The triggers to install on vectors 0..n−1: the EventFds, or a callback per vector running its handler. */
  triggers(vectors: number): IrqTrigger[] {
    return this.eventfds.length > 0 ? [...this.eventfds] : Array.from({ length: vectors }, (_, v) => () => this.interrupt(v));
  }

  /** The last software error seen. */
  get lastError(): SoftwareErrorReport | undefined {
    return this.errors.at(-1);
  }

  /** Runs the handler of every vector whose EventFd was signalled (a no-op with callback triggers). */
  service(): void {
    for (let v = 0; v < this.eventfds.length; v++) {
      const n = (this.eventfds[v] as EventFd).read();
      for (let k = 0; k < n; k++) this.interrupt(v);
    }
  }

  /** The handler of vector `v`. */
  private interrupt(v: number): void {
    this.counters.interrupts[v] = (this.counters.interrupts[v] ?? 0) + 1;
    if (v === 0) this.vector0();
    else this.client.completion(v);
  }

  /**
   * Vector 0: read INTCAUSE and clear what was read (RW1C); a software error is read from SWERR and
   * acknowledged at once (a second error would otherwise only set overflow); halt gives up everything
   * in flight; revoked handles are re-requested before the next submission.
   */
  private vector0(): void {
    const cause = this.io.r32(INTCAUSE_REG.offset);
    if (cause === 0) return;
    this.io.w32(INTCAUSE_REG.offset, cause);
    if ((cause & CAUSE_SOFTWARE_ERROR) !== 0) this.readSwerr();
    if ((cause & CAUSE_HANDLES_REVOKED) !== 0) this.handlesStale = true;
    if ((cause & CAUSE_HALT) !== 0) this.checkHalt();
  }

  /** Reads, logs and acknowledges SWERR; returns the report, or null when none is valid. */
  readSwerr(): SoftwareErrorReport | null {
    const dw = this.io.readDwords(SWERR_REG.offset, this.swerr);
    if (((dw[0] as number) & fieldMask(SWERR_REG.bits.valid)) === 0) return null;
    const report = decodeSwerr(dw);
    this.io.w32(SWERR_REG.offset, fieldMask(SWERR_REG.bits.valid) | fieldMask(SWERR_REG.bits.overflow));
    this.errors.push(report);
    this.client.onError?.(report);
    return report;
  }

  /** Reads GENSTS; in Halt (first time), tells the client. Returns true when halted. */
  checkHalt(): boolean {
    const { state, resetType } = deviceState(this.io);
    if (state !== DeviceState.HALT) return false;
    if (this.haltReason === null) {
      this.haltReason = `the device halted (GENSTS reset type ${resetType})`;
      this.client.halted(new IdxdGuestError('halted', this.haltReason, this.lastError));
    }
    return true;
  }
}
