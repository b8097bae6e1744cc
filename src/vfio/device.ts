/**
 * The VFIO device handle: the core that wraps a device's operations and does all validation common
 * to every device, mirroring the Linux VFIO device fd (`vfio-uapi.md` §§2–8). Argsz-free: the binary
 * forms live in `codec/` and `ioctl.ts`.
 */
import { checkDeviceOps } from './check-ops.js';
import {
  VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
  VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
  VFIO_DEVICE_FEATURE_GET,
  VFIO_DEVICE_FEATURE_MASK,
  VFIO_DEVICE_FEATURE_MIGRATION,
  VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
  VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
  VFIO_DEVICE_FEATURE_PROBE,
  VFIO_DEVICE_FEATURE_SET,
  VFIO_DEVICE_FLAGS_RESET,
  VFIO_DEVICE_STATE_RESUMING,
  VFIO_DEVICE_STATE_ERROR,
} from './constants.js';
import type { AddressSpace, DirtyLog } from '../memory/index.js';
import type { IrqIndexOps, VfioDeviceOps } from './device-ops.js';
import {
  checkDmaLoggingReport, checkDmaLoggingStart, DMA_LOGGING_MAX_RANGES, DMA_LOGGING_RANGE_SIZE, DMA_LOGGING_REPORT_SIZE, DMA_LOGGING_START_SIZE,
  decodeDmaLoggingStart, dmaLoggingBitmapBytes, type DmaLoggingReport, type DmaLoggingStart,
} from './dma-logging.js';
import { VfioError } from './errors.js';
import { REGION_SPAN, regionIndexOf, type DeviceInfo, type IrqInfo, type RegionInfo } from './info.js';
import { VfioIoas } from './ioas.js';
import { IrqTable, type IrqSetRequest, type IrqStatus } from './irqs.js';
import { isSavingState, MigrationFsm } from './migration.js';
import type { MigrationStreamOps } from './migration-ops.js';
import { VfioMigrationStream } from './migration-stream.js';
import { RegionTable } from './regions.js';

/** Options of a device handle. */
export interface VfioDeviceOptions {
  /** Runs once, after the handle closed and the device's `close` ran. */
  readonly onClose?: () => void;
}

interface FeatureSpec {
  readonly get: boolean;
  readonly set: boolean;
  readonly size: number;
}

/** The device features the core implements: migration (1, 2, 9) and DMA logging (6, 7, 8). */
const FEATURES: ReadonlyMap<number, FeatureSpec> = new Map([
  [VFIO_DEVICE_FEATURE_MIGRATION, { get: true, set: false, size: 8 }],
  [VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, { get: true, set: true, size: 8 }],
  [VFIO_DEVICE_FEATURE_DMA_LOGGING_START, { get: false, set: true, size: 16 }],
  [VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, { get: false, set: true, size: 0 }],
  [VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, { get: true, set: false, size: DMA_LOGGING_REPORT_SIZE }],
  [VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, { get: true, set: false, size: 8 }],
]);

const isLoggingFeature = (f: number): boolean =>
  f === VFIO_DEVICE_FEATURE_DMA_LOGGING_START || f === VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP || f === VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;

/**
 * The process memory behind a user pointer of an ioctl argument (DMA logging's `ranges` and `bitmap`):
 * `length` bytes at `address` as a view, or null when nothing is there (EFAULT).
 */
export type UserMemory = (address: number, length: number) => Uint8Array | null;

function userBytes(user: UserMemory, address: bigint, length: number, what: string): Uint8Array {
  const a = address < 2n ** 53n ? Number(address) : -1;
  const b = a < 0 ? null : user(a, length);
  if (b === null || b.length < length) throw new VfioError('EFAULT', `DEVICE_FEATURE: the ${what} pointer 0x${address.toString(16)} (+${length}) is not readable memory`);
  return b.subarray(0, length);
}

/** All valid `vfio_device_feature.flags` bits. */
const FEATURE_FLAG_BITS = VFIO_DEVICE_FEATURE_MASK | VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PROBE;

/**
 * An open VFIO device: the object a VMM drives, as the Linux device fd. Every misuse throws a
 * {@link VfioError} and changes nothing; every call after `close()` throws EBADF.
 *
 * @typeParam M - what `mmap` hands out (the device's mapped object).
 */
export class VfioDevice<M = unknown> {
  private readonly regionTable: RegionTable<M>;
  private readonly irqSpecs: readonly IrqIndexOps[];
  private readonly irqTable: IrqTable;
  private readonly fsm: MigrationFsm | undefined;
  private stream: VfioMigrationStream | null = null;
  private attached: VfioIoas | null = null;
  /** The DMA log while logging is on (installed in the attached IOAS's space). */
  private dirtyLog: DirtyLog | null = null;
  private isClosed = false;

  /**
   * Opens a handle on `ops`: snapshots its region and IRQ tables (a malformed table throws a plain
   * Error), starts at migration state RUNNING with no triggers, and calls `ops.open(sink)`.
   */
  constructor(
    private readonly ops: VfioDeviceOps<M>,
    private readonly options: VfioDeviceOptions = {},
  ) {
    checkDeviceOps(ops);
    this.regionTable = new RegionTable(ops.regions);
    this.irqSpecs = ops.irqs.map((q) => Object.freeze({ ...q }));
    this.irqTable = new IrqTable(this.irqSpecs, ops.irqConfigChanged ? (i) => ops.irqConfigChanged?.(i) : undefined);
    const mig = ops.migration;
    this.fsm = mig ? new MigrationFsm(mig.flags, (from, to) => mig.arc(from, to)) : undefined;
    ops.open?.(this.irqTable);
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** VFIO_DEVICE_GET_INFO. */
  getInfo(): DeviceInfo {
    this.check();
    return { flags: this.ops.flags, numRegions: this.regionTable.count, numIrqs: this.irqSpecs.length };
  }

  /** VFIO_DEVICE_GET_REGION_INFO: EINVAL outside the region table; absent regions answer size 0. */
  getRegionInfo(index: number): RegionInfo {
    this.check();
    return this.regionTable.info(index);
  }

  /** VFIO_DEVICE_GET_IRQ_INFO: EINVAL outside the IRQ table. */
  getIrqInfo(index: number): IrqInfo {
    this.check();
    const q = Number.isInteger(index) && index >= 0 ? this.irqSpecs[index] : undefined;
    if (q === undefined) throw new VfioError('EINVAL', `IRQ index ${index} out of range (${this.irqSpecs.length} indices)`);
    return { index, flags: q.flags, count: q.count };
  }

  /** VFIO_DEVICE_SET_IRQS: checklist §5.3 in order, then the dispatch of §5.4. */
  setIrqs(req: IrqSetRequest): void {
    this.check();
    if (typeof req !== 'object' || req === null) throw new VfioError('EINVAL', 'SET_IRQS: the request is not an object (check 1)');
    this.irqTable.set(req);
  }

  /** The trigger bookkeeping of an IRQ index (a snapshot, for hosts and tests). */
  irqStatus(index: number): IrqStatus {
    this.check();
    return this.irqTable.status(index);
  }

  /** VFIO_DEVICE_RESET: device to reset state, triggers kept, migration state RUNNING, stream ended. */
  reset(): void {
    this.check();
    if ((this.ops.flags & VFIO_DEVICE_FLAGS_RESET) === 0) throw new VfioError('EINVAL', 'device does not support reset');
    this.ops.reset?.();
    this.fsm?.reset();
    this.endStream();
  }

  /**
   * `pread` at a region-encoded position (`regionOffset(index) + offset`); returns `buf.length`. Decodes the
   * position and runs {@link VfioDevice.readRegion}: same checks, same results.
   */
  read(pos: number, buf: Uint8Array): number {
    if (typeof pos !== 'number') throw new VfioError('EINVAL', `read at ${String(pos)}: not a position`);
    const index = regionIndexOf(pos);
    return this.readRegion(index, pos - index * REGION_SPAN, buf);
  }

  /** `pwrite` at a region-encoded position; returns `buf.length`. Decodes it and runs {@link VfioDevice.writeRegion}. */
  write(pos: number, buf: Uint8Array): number {
    if (typeof pos !== 'number') throw new VfioError('EINVAL', `write at ${String(pos)}: not a position`);
    const index = regionIndexOf(pos);
    return this.writeRegion(index, pos - index * REGION_SPAN, buf);
  }

  /**
   * Reads `buf.length` bytes of region `index` at region-relative `offset` (what vfio-user's REGION_READ
   * names); returns `buf.length`. The trapped hot path: small-integer arguments only (a position such
   * as `regionOffset(7)` is a heap number when passed through a call), no allocation. Exactly the checks
   * and results of {@link VfioDevice.read} at position `regionOffset(index) + offset`; an `offset` of 2^40 or more
   * (no position has it) → EINVAL.
   */
  readRegion(index: number, offset: number, buf: Uint8Array): number {
    if (this.isClosed) throw this.badf();
    return this.regionTable.read(index, offset, buf);
  }

  /** Writes `buf` to region `index` at region-relative `offset`; returns `buf.length`. See {@link VfioDevice.readRegion}. */
  writeRegion(index: number, offset: number, buf: Uint8Array): number {
    if (this.isClosed) throw this.badf();
    return this.regionTable.write(index, offset, buf);
  }

  /** `mmap` of whole pages inside one sparse area at a region-encoded position; returns the device's object. */
  mmap(pos: number, length: number, shared = true): M {
    this.check();
    return this.regionTable.mmap(pos, length, shared);
  }

  /**
   * VFIO_DEVICE_FEATURE with `data` as the bytes after the 8-byte header (GET writes into it, SET
   * reads from it). Checks §7.1 in order. MIG_DEVICE_STATE SET writes `data_fd` −1 and returns the
   * stream the transition opened (the ioctl front end turns it into a handle); otherwise null.
   *
   * DMA logging START and REPORT carry their ranges and bitmap inline after the fixed fields (the
   * vfio-user form, `vfio-uapi.md` §11.9). With `user`, they are in the ioctl form instead: the fixed
   * fields end with a user pointer (`ranges` at byte 16, `bitmap` at byte 24) that `user` resolves to
   * bytes (null, or no `user`: EFAULT).
   */
  feature(flags: number, data: Uint8Array = new Uint8Array(0), user?: UserMemory): VfioMigrationStream | null {
    this.check();
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff || (flags & ~FEATURE_FLAG_BITS) !== 0) {
      throw new VfioError('EINVAL', `DEVICE_FEATURE: unknown flag bits in ${typeof flags === 'number' ? `0x${flags.toString(16)}` : String(flags)}`);
    }
    if (!(data instanceof Uint8Array)) throw new VfioError('EINVAL', 'DEVICE_FEATURE: the data is not a Uint8Array');
    const get = (flags & VFIO_DEVICE_FEATURE_GET) !== 0;
    const set = (flags & VFIO_DEVICE_FEATURE_SET) !== 0;
    const probe = (flags & VFIO_DEVICE_FEATURE_PROBE) !== 0;
    if (get && set && !probe) throw new VfioError('EINVAL', 'DEVICE_FEATURE: GET and SET together without PROBE');
    const feature = flags & VFIO_DEVICE_FEATURE_MASK;
    const spec = FEATURES.get(feature);
    if (spec === undefined) throw new VfioError('ENOTTY', `DEVICE_FEATURE: feature ${feature} is not supported`);
    const logging = isLoggingFeature(feature);
    if (logging && this.ops.dmaLogging !== true) throw new VfioError('ENOTTY', `DEVICE_FEATURE: feature ${feature} needs DMA logging, which the device does not offer`);
    if (!logging && this.fsm === undefined) throw new VfioError('ENOTTY', `DEVICE_FEATURE: feature ${feature} needs migration support`);
    if ((get && !spec.get) || (set && !spec.set)) {
      throw new VfioError('EINVAL', `DEVICE_FEATURE: feature ${feature} does not support ${get && !spec.get ? 'GET' : 'SET'}`);
    }
    if (probe) return null;
    if (!get && !set) throw new VfioError('EINVAL', 'DEVICE_FEATURE: neither GET nor SET');
    // The ioctl form of START and REPORT ends with an 8-byte user pointer.
    const size = user !== undefined && (feature === VFIO_DEVICE_FEATURE_DMA_LOGGING_START || feature === VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT) ? spec.size + 8 : spec.size;
    if (data.length < size) throw new VfioError('EINVAL', `DEVICE_FEATURE: feature ${feature} needs ${size} data bytes`);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    switch (feature) {
      case VFIO_DEVICE_FEATURE_DMA_LOGGING_START: {
        let req = data;
        if (user !== undefined) {
          const n = view.getUint32(8, true);
          const ranges = n > DMA_LOGGING_MAX_RANGES ? new Uint8Array(0) : userBytes(user, view.getBigUint64(16, true), n * DMA_LOGGING_RANGE_SIZE, 'ranges');
          req = new Uint8Array(DMA_LOGGING_START_SIZE + ranges.length);
          req.set(data.subarray(0, DMA_LOGGING_START_SIZE));
          req.set(ranges, DMA_LOGGING_START_SIZE);
        }
        view.setBigUint64(0, BigInt(this.dmaLoggingStart(decodeDmaLoggingStart(req))), true);
        return null;
      }
      case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
        this.dmaLoggingStop();
        return null;
      case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT: {
        const req = { iova: view.getBigUint64(0, true), length: view.getBigUint64(8, true), pageSize: view.getBigUint64(16, true) };
        if (user === undefined) {
          this.dmaLoggingReport(req, data.subarray(DMA_LOGGING_REPORT_SIZE));
          return null;
        }
        // Resolve the user's bitmap before any bit is read and cleared.
        this.loggingOption();
        const r = checkDmaLoggingReport(req);
        if (this.dirtyLog === null) throw new VfioError('EINVAL', 'DMA_LOGGING_REPORT: logging is off');
        this.dmaLoggingReport(req, userBytes(user, view.getBigUint64(24, true), dmaLoggingBitmapBytes(r.length, r.pageSize), 'bitmap'));
        return null;
      }
    }
    if (this.fsm === undefined) throw new VfioError('ENOTTY', `DEVICE_FEATURE: feature ${feature} needs migration support`);
    switch (feature) {
      case VFIO_DEVICE_FEATURE_MIGRATION:
        view.setBigUint64(0, BigInt(this.fsm.flags), true);
        return null;
      case VFIO_DEVICE_FEATURE_MIG_DATA_SIZE:
        view.setBigUint64(0, BigInt(this.migrationDataSize()), true);
        return null;
      default: // MIG_DEVICE_STATE
        if (get) {
          view.setUint32(0, this.fsm.state, true);
          view.setInt32(4, -1, true);
          return null;
        }
        view.setInt32(4, -1, true);
        return this.setMigrationState(view.getUint32(0, true));
    }
  }

  /** MIGRATION GET: the device's migration flags (ENOTTY without migration). */
  migrationFlags(): number {
    return this.migration().flags;
  }

  /** MIG_DEVICE_STATE GET: the current state (ENOTTY without migration). */
  migrationState(): number {
    return this.migration().state;
  }

  /**
   * MIG_DEVICE_STATE SET: walks the path of §8.3 arc by arc. Returns the stream the last arc opened,
   * or null. EINVAL for an unsupported or blocked target (nothing changes); an arc's failure leaves the
   * state at the last state reached, or ERROR, and ends a stream whose group was left.
   */
  setMigrationState(target: number): VfioMigrationStream | null {
    const fsm = this.migration();
    let opened: MigrationStreamOps | undefined;
    try {
      opened = fsm.setState(target);
    } finally {
      this.syncStream();
    }
    if (opened === undefined) return null;
    this.endStream();
    this.stream = new VfioMigrationStream(opened, target !== VFIO_DEVICE_STATE_RESUMING, () => fsm.state);
    return this.stream;
  }

  /** MIG_DATA_SIZE GET: the device's STOP_COPY length estimate (ENOTTY without migration). */
  migrationDataSize(): number {
    this.migration();
    return this.ops.migration?.dataSize?.() ?? 0;
  }

  // ---------------------------------------------------------------- DMA logging (vfio-uapi.md §9.3)

  /** True while DMA logging is on. */
  get dmaLogging(): boolean {
    return this.dirtyLog !== null;
  }

  /**
   * DMA_LOGGING_START: checks the request (see `checkDmaLoggingStart`: EINVAL, E2BIG, EOVERFLOW) and
   * starts logging the device's writes inside the ranges; returns the page size used (the one asked
   * for, at least 4096). The log is kept by the address space of the IOAS the device is attached to
   * (and follows it to another IOAS), so every write the device makes there marks it. ENOTTY without
   * the device's DMA logging option; EBUSY while logging is already on [library choice].
   */
  dmaLoggingStart(req: DmaLoggingStart): number {
    this.loggingOption();
    if (this.dirtyLog !== null) throw new VfioError('EBUSY', 'DMA_LOGGING_START: logging is already on (stop it first)');
    const { pageSize, log } = checkDmaLoggingStart(req);
    this.dirtyLog = log;
    this.attached?.addDirtyLog(log);
    return pageSize;
  }

  /** DMA_LOGGING_STOP: logging ends (a no-op when it is off). ENOTTY without the device's DMA logging option. */
  dmaLoggingStop(): void {
    this.loggingOption();
    this.stopLogging();
  }

  /**
   * DMA_LOGGING_REPORT: one bit per `pageSize` unit of `[iova, iova + length)` written by the device
   * since the last report (bit *u* of the little-endian u64 words: byte u / 8, bit u % 8), then those
   * pages are clean again. Checks: page size below 4096 or not a power of two → EINVAL, length 0 →
   * EINVAL, end past 2^64 or the IOVA aperture → EOVERFLOW, logging off → EINVAL, `bitmap` shorter
   * than the `ceil(units / 64)` words the range needs → EINVAL. Returns the bitmap (a new one when
   * none is given). Pages outside the logged ranges read 0.
   */
  dmaLoggingReport(req: DmaLoggingReport, bitmap?: Uint8Array): Uint8Array {
    this.loggingOption();
    const r = checkDmaLoggingReport(req);
    const log = this.dirtyLog;
    if (log === null) throw new VfioError('EINVAL', 'DMA_LOGGING_REPORT: logging is off');
    const need = dmaLoggingBitmapBytes(r.length, r.pageSize);
    const out = bitmap ?? new Uint8Array(need);
    if (out.length < need) throw new VfioError('EINVAL', `DMA_LOGGING_REPORT: the bitmap needs ${need} bytes, ${out.length} given`);
    log.report(r.iova, r.length, r.pageSize, out);
    return out;
  }

  private loggingOption(): void {
    this.check();
    if (this.ops.dmaLogging !== true) throw new VfioError('ENOTTY', 'the device does not offer DMA logging');
  }

  private stopLogging(): void {
    const log = this.dirtyLog;
    if (log === null) return;
    this.dirtyLog = null;
    this.attached?.removeDirtyLog(log);
  }

  /** The IOAS the handle is attached to, or null (detached: every DMA of the device faults). */
  get ioas(): VfioIoas | null {
    return this.attached;
  }

  /**
   * Attaches the device to `ioas` (VFIO_DEVICE_ATTACH_IOMMUFD_PT): the device's DMA goes through
   * `ioas.space` from now on. Attaching while attached replaces the IOAS; several devices may share
   * one. EBADF after close; ENOTTY when the device has no `attachIoas` hook [library choice].
   */
  attachIoas(ioas: VfioIoas): void {
    const hook = this.ioasHook();
    if (!(ioas instanceof VfioIoas)) throw new VfioError('EINVAL', 'ATTACH_IOMMUFD_PT: not an IOAS (use detachIoas to detach)');
    hook.call(this.ops, ioas.space);
    const log = this.dirtyLog;
    if (log !== null && this.attached !== ioas) {
      this.attached?.removeDirtyLog(log);
      ioas.addDirtyLog(log);
    }
    this.attached = ioas;
  }

  /**
   * Detaches the device from its IOAS (VFIO_DEVICE_DETACH_IOMMUFD_PT): every DMA faults from now on.
   * A no-op when detached. EBADF after close; ENOTTY when the device has no `attachIoas` hook.
   */
  detachIoas(): void {
    const hook = this.ioasHook();
    if (this.attached === null) return;
    hook.call(this.ops, null);
    if (this.dirtyLog !== null) this.attached.removeDirtyLog(this.dirtyLog);
    this.attached = null;
  }

  /** Signals the device-request trigger (the host wants the device back); true when one was installed. */
  signalRequest(): boolean {
    this.check();
    const i = this.irqTable.roleIndex('request');
    return i >= 0 && this.irqTable.signal(i, 0);
  }

  /**
   * Closes the handle: removes every trigger, ends the migration stream, returns the migration state
   * to RUNNING, calls the device's `close` (back to its post-create state) and then detaches it from
   * its IOAS (the hook with null, as Linux unbinds after `close_device`). Later calls → EBADF.
   */
  close(): void {
    this.check();
    this.isClosed = true;
    this.irqTable.clear();
    this.endStream();
    this.fsm?.reset();
    this.stopLogging();
    this.ops.close?.();
    if (this.attached !== null) {
      this.attached = null;
      this.ops.attachIoas?.(null);
    }
    this.options.onClose?.();
  }

  private ioasHook(): (space: AddressSpace | null) => void {
    this.check();
    const hook = this.ops.attachIoas;
    if (hook === undefined) throw new VfioError('ENOTTY', 'the device does no DMA: it cannot be attached to an IOAS');
    return hook;
  }

  private migration(): MigrationFsm {
    this.check();
    if (this.fsm === undefined) throw new VfioError('ENOTTY', 'device does not support migration');
    return this.fsm;
  }

  private syncStream(): void {
    const s = this.stream;
    const state = this.fsm?.state ?? VFIO_DEVICE_STATE_ERROR;
    if (s !== null && (s.saving ? !isSavingState(state) : state !== VFIO_DEVICE_STATE_RESUMING)) this.endStream();
  }

  private endStream(): void {
    this.stream?.terminate();
    this.stream = null;
  }

  private check(): void {
    if (this.isClosed) throw this.badf();
  }

  private badf(): VfioError {
    return new VfioError('EBADF', 'the device handle is closed');
  }
}
