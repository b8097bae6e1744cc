/**
 * The reference guest driver of an idxd (DSA) device, written against the VFIO device API only
 * (docs/guest-driver.md). `IdxdGuest.open` probes the device and brings it up; the typed operations
 * encode descriptors and hand them to the runner (WQ slots, submission, completion, page-fault
 * resumption, results); commands, reset and shutdown go through CMD/CMDSTS.
 */
import { Command, DeviceState } from '../dsa/spec/command-codes.js';
import { PORTAL_PAGE } from '../dsa/spec/layout.js';
import { fieldOf } from '../dsa/spec/register-def.js';
import { CMDSTS_REG } from '../dsa/spec/register-fields.js';
import type { EventFd } from '../vfio/index.js';
import { runBatch } from './batch.js';
import {
  canFlr, CMDSTS_ACTIVE, configureWq, deviceState, disableMsix, enableErrorInterrupts, enableMsix, enablePasid, enablePci, enableUserInterrupts,
  hasCommand, initiateFlr, installTriggers, mapPortal, plannedWq, portalPage, programMsixPerm, programWqPasid, removeTriggers, writeCommand,
} from './bringup.js';
import { type DsaCaps, probeCaps, readWq, type WqInfo } from './dsa-probe.js';
import { IdxdCommandError, IdxdGuestError } from './errors.js';
import { GuestHeap } from './heap.js';
import { DeviceIo } from './io.js';
import { GuestIrq } from './irq.js';
import type {
  BatchResult, Completion, CompareResult, CrcOptions, CrcResult, DeltaResult, DifCheckOptions, DifOptions, DifResult, DifUpdateDest, OpResult,
  OpSpec, Pattern,
} from './ops.js';
import type { GuestWqMode, IdxdGuestOptions } from './options.js';
import { type PciProbe, probePci } from './pci-probe.js';
import { encode } from './request.js';
import { OpRunner } from './runner.js';
import { SlotTable } from './slots.js';
import { type GuestStats, GuestStatsCounter } from './stats.js';
import { noProgressMessage, Submitter } from './submit.js';
import type { SoftwareErrorReport } from './swerr.js';

/** The reference guest driver of one idxd device (one WQ). */
export class IdxdGuest {
  /** What config space said. */
  readonly pci: PciProbe;
  /** What the capability registers said. */
  readonly caps: DsaCaps;
  /** WQ 0 as WQCFG describes it (on a configurable device that had none: as the driver configures it). */
  readonly wq: WqInfo;
  /** Dedicated or shared WQ. */
  readonly mode: GuestWqMode;
  /** The guest PASID the WQ runs with (−1: none). */
  readonly pasid: number;
  /** The allocator of guest memory (the driver's records and lists come from it; so may the caller's buffers). */
  readonly heap: GuestHeap;
  /** How completions are detected. */
  readonly completion: 'interrupt' | 'poll';
  /** How descriptors are submitted. */
  readonly portalMode: 'mapped' | 'trapped';
  /** Offset in BAR2 of the portal page submitted through (a dedicated WQ's unlimited page, a shared WQ's limited page). */
  readonly portalOffset: number;

  private readonly io: DeviceIo;
  private readonly mem: Uint8Array;
  private readonly memIova: number;
  private readonly counters: GuestStatsCounter;
  private readonly irq: GuestIrq;
  private readonly slots: SlotTable;
  private readonly submitter: Submitter;
  private readonly runner: OpRunner;
  private commandChain: Promise<unknown> = Promise.resolve();

  private constructor(options: IdxdGuestOptions, io: DeviceIo, pci: PciProbe, caps: DsaCaps, wq: WqInfo) {
    this.io = io;
    this.pci = pci;
    this.caps = caps;
    this.wq = wq;
    this.mode = wq.dedicated ? 'dedicated' : 'shared';
    this.pasid = !wq.dedicated || options.pasidEnabled === true ? (options.pasid ?? 1) : -1;
    this.mem = options.memory.bytes;
    const view = new DataView(this.mem.buffer, this.mem.byteOffset, this.mem.byteLength);
    this.memIova = options.iova ?? 0;
    this.heap = new GuestHeap(options.heap?.iova ?? this.memIova, options.heap?.size ?? this.mem.length);
    const vectors = pci.msix?.vectors ?? 0;
    this.completion = options.completion ?? (vectors >= 2 ? 'interrupt' : 'poll');
    if (this.completion === 'interrupt' && vectors < 2) {
      throw new IdxdGuestError('argument', `interrupt completion needs a completion vector; the device has ${vectors} MSI-X vector(s)`);
    }
    this.portalMode = options.portal ?? 'mapped';
    this.portalOffset = portalPage(io, wq.dedicated);
    // Through a limited portal a shared WQ accepts only below its threshold: more in flight would only be answered Retry.
    const limited = !wq.dedicated && (this.portalOffset / PORTAL_PAGE) % 2 === 1;
    const depth = limited ? Math.min(wq.size, wq.threshold) : wq.size;
    if (depth < 1) throw new IdxdGuestError('probe', 'the shared WQ\'s limited portal accepts nothing (threshold 0)');
    const inFlight = Math.min(depth, options.maxInFlight ?? depth);
    if (!Number.isInteger(inFlight) || inFlight < 1) throw new IdxdGuestError('argument', `maxInFlight ${String(options.maxInFlight)} is not a positive integer`);
    this.counters = new GuestStatsCounter(vectors);
    this.slots = new SlotTable(inFlight, vectors, this.heap, view, (iova) => this.offsetOf(iova, 32), this.counters);
    this.irq = new GuestIrq(io, this.counters, vectors, options.triggers === 'eventfd', {
      completion: (v) => this.slots.completeVector(v),
      halted: (why) => this.slots.fail(why, true),
      onError: options.onError,
    });
    this.submitter = new Submitter({
      io, mem: this.mem, options, counters: this.counters, irq: this.irq, mode: this.mode, pasid: this.pasid, completion: this.completion,
      portalOffset: this.portalOffset, refreshHandles: () => this.requestHandles(),
    }, vectors);
    this.runner = new OpRunner(this.slots, this.submitter, this.irq, this.counters, options, { mem: this.mem, view, iova: this.memIova, heap: this.heap });
  }

  /**
   * Probes the device and brings it up (docs/guest-driver.md): config space (IDs, capability chains,
   * BAR sizing), BAR0 capabilities, OFFSETS and WQCFG, then PCI enables, MSI-X triggers, error
   * interrupts, WQCFG PASID fields, ENABLE_DEVICE, ENABLE_WQ, interrupt handles and the portal mapping.
   * A configurable device (GENCAP.config_en, a PF) whose WQ 0 is not configured gets one from the
   * driver (group 0 with WQ 0 and every engine, WQ 0 dedicated with every entry); a device that is
   * neither configured nor configurable is refused.
   */
  static async open(options: IdxdGuestOptions): Promise<IdxdGuest> {
    const io = new DeviceIo(options.device);
    const pci = probePci(io);
    if (pci.msix === null) throw new IdxdGuestError('probe', 'the device has no MSI-X capability');
    if ((pci.bars[0]?.size ?? 0) === 0 || (pci.bars[1]?.size ?? 0) === 0) throw new IdxdGuestError('probe', 'BAR0 or BAR2 is not implemented');
    enablePci(io);
    const caps = probeCaps(io);
    if (caps.wqs < 1) throw new IdxdGuestError('probe', 'the device has no WQ');
    let wq = readWq(io, caps, 0);
    if (wq.size === 0) {
      if (!caps.configurable) throw new IdxdGuestError('probe', 'WQ 0 is not configured (size 0) and the device is not configurable (GENCAP.config_en 0)');
      wq = plannedWq(caps);
    }
    const g = new IdxdGuest(options, io, pci, caps, wq);
    await g.bringUp();
    return g;
  }

  /** A snapshot of the counters. */
  get stats(): GuestStats {
    return this.counters.snapshot();
  }

  /** Every software error seen, oldest first. */
  get errors(): readonly SoftwareErrorReport[] {
    return this.irq.errors;
  }

  /** The EventFds installed on the vectors (`triggers: 'eventfd'`), else empty. */
  get eventfds(): readonly EventFd[] {
    return this.irq.eventfds;
  }

  /** The interrupt handle of each vector (index 0 unused). */
  get interruptHandles(): readonly number[] {
    return [...this.submitter.handles];
  }

  /** True after the device halted (until {@link reset}). */
  get halted(): boolean {
    return this.irq.haltReason !== null;
  }

  /** Descriptors in flight now. */
  get pending(): number {
    return this.submitter.inFlight;
  }

  /** Runs the interrupt handler of every vector whose EventFd was signalled (EventFd triggers; a no-op with callbacks). */
  service(): void {
    this.irq.service();
  }

  // ------------------------------------------------------------------ bring-up and commands

  private async bringUp(): Promise<void> {
    const io = this.io;
    // Memory decode first: after a function-level reset config space is at its reset values (BAR0 reads all ones).
    enablePci(io);
    if (deviceState(io).state !== DeviceState.DISABLED) await this.command(Command.RESET_DEVICE);
    // A configurable device forgets its WQ configuration on reset: write WQ 0 (as found, or as planned) again.
    if (this.caps.configurable && readWq(io, this.caps, 0).size === 0) configureWq(io, this.caps, this.wq);
    if (this.pasid >= 0) enablePasid(io, this.pci, this.pasid);
    const vectors = this.submitter.handles.length;
    installTriggers(io, this.irq.triggers(vectors));
    enableMsix(io, this.pci);
    enableErrorInterrupts(io);
    // Without user_int_en every completion interrupt a Priv-0 PASID descriptor requests ends in status 0x11 (dsa-operations.md §2.1).
    if (this.pasid >= 0 && this.completion === 'interrupt' && !enableUserInterrupts(io)) {
      removeTriggers(io);
      disableMsix(io, this.pci);
      throw new IdxdGuestError('probe', 'GENCFG.user_int_en does not stick: user-mode descriptors of this PASID WQ cannot request completion interrupts (use completion: \'poll\')');
    }
    programWqPasid(io, this.wq, this.pasid >= 0, Math.max(this.pasid, 0));
    programMsixPerm(io, this.caps, vectors, this.pasid >= 0, Math.max(this.pasid, 0));
    await this.command(Command.ENABLE_DEVICE);
    await this.command(Command.ENABLE_WQ, 0);
    if (this.completion === 'interrupt') await this.requestHandles();
    this.submitter.portal = this.portalMode === 'mapped' ? mapPortal(io, this.portalOffset) : null;
  }

  /** REQUEST_INT_HANDLE for every completion vector (without the command, the handle is the vector index). */
  private async requestHandles(): Promise<void> {
    const request = hasCommand(this.caps, Command.REQUEST_INT_HANDLE);
    const handles = this.submitter.handles;
    this.irq.handlesStale = false;
    for (let v = 1; v < handles.length; v++) handles[v] = request ? await this.command(Command.REQUEST_INT_HANDLE, v) : v;
    this.submitter.handleGen++;
  }

  /**
   * Runs command `code` with `operand` and returns CMDSTS.result; a CMDSTS error rejects with an
   * {@link IdxdCommandError} naming it. Commands run one at a time; one still active is polled (with
   * the poll hook, or a turn of the event loop, between reads of CMDSTS).
   */
  command(code: number, operand = 0): Promise<number> {
    const run = this.commandChain.then(() => this.runCommand(code, operand));
    this.commandChain = run.catch(() => undefined);
    return run;
  }

  private async runCommand(code: number, operand: number): Promise<number> {
    writeCommand(this.io, code, operand);
    let st = this.io.r32(CMDSTS_REG.offset);
    for (let spins = 0; (st & CMDSTS_ACTIVE) !== 0; spins++) {
      if (!(await this.submitter.relax()) && spins > this.submitter.pollLimit) {
        throw new IdxdGuestError('timeout', this.submitter.hasPoll
          ? `command ${code} stayed active (CMDSTS 0x${st.toString(16)})`
          : noProgressMessage(`command ${code} stayed active (CMDSTS 0x${st.toString(16)})`, spins));
      }
      st = this.io.r32(CMDSTS_REG.offset);
    }
    const err = fieldOf(st, CMDSTS_REG.bits.err);
    if (err !== 0) throw new IdxdCommandError(code, err);
    return fieldOf(st, CMDSTS_REG.bits.result);
  }

  /** Waits for every descriptor submitted so far to complete (DRAIN_ALL). */
  async drain(): Promise<void> {
    await this.command(Command.DRAIN_ALL);
  }

  /** Abandons the descriptors still queued (ABORT_ALL): their operations reject (they never complete). */
  async abort(): Promise<void> {
    await this.command(Command.ABORT_ALL);
    this.slots.fail(new IdxdGuestError('lost', 'the descriptor was abandoned by ABORT_ALL'), false);
  }

  /**
   * A reset and a fresh bring-up: the way out of Halt. As Linux's idxd driver does, a device halted
   * with GENSTS.reset_type = 1 (FLR) that advertises function-level reset gets one, through PCIe
   * DevCtl bit 15 in config space; any other state gets RESET_DEVICE. Every operation in flight or
   * waiting for a WQ slot rejects (the reset abandons the device's work); operations started after it
   * run normally.
   */
  async reset(): Promise<void> {
    if (this.submitter.closed) throw new IdxdGuestError('closed', 'the driver is shut down');
    // Until the bring-up is done nothing may be submitted: the reset would abandon it.
    this.irq.haltReason ??= 'the device is being reset';
    this.slots.fail(new IdxdGuestError('halted', this.irq.haltReason), true);
    const { state, resetType } = deviceState(this.io);
    if (state === DeviceState.HALT && resetType === 1 && canFlr(this.io, this.pci)) initiateFlr(this.io, this.pci);
    else await this.command(Command.RESET_DEVICE);
    await this.bringUp();
    this.irq.haltReason = null;
  }

  /**
   * Shuts the driver down: DISABLE_DEVICE (waits for the WQ), RELEASE_INT_HANDLE for each handle, the
   * triggers removed, MSI-X off, the records freed. Operations still waiting reject with ESHUTDOWN.
   */
  async close(): Promise<void> {
    if (this.submitter.closed) return;
    this.submitter.closed = true;
    this.slots.close();
    if (!this.halted && deviceState(this.io).state === DeviceState.ENABLED) {
      await this.command(Command.DISABLE_DEVICE);
      if (this.completion === 'interrupt' && hasCommand(this.caps, Command.RELEASE_INT_HANDLE)) {
        for (let v = 1; v < this.submitter.handles.length; v++) await this.command(Command.RELEASE_INT_HANDLE, this.submitter.handles[v] as number);
      }
    }
    removeTriggers(this.io);
    disableMsix(this.io, this.pci);
    this.heap.free(this.slots.crBlock);
  }

  /** IOVA → offset in guest memory, checking `[iova, iova + len)` lies inside it. */
  private offsetOf(iova: number, len: number): number {
    const off = iova - this.memIova;
    if (off < 0 || off + len > this.mem.length) throw new IdxdGuestError('argument', `IOVA 0x${iova.toString(16)} (+${len}) is outside guest memory`);
    return off;
  }

  // ------------------------------------------------------------------ operations

  /** Encodes `spec` and runs it. */
  private run<R extends OpResult>(spec: OpSpec): Promise<R> {
    try {
      this.submitter.stillRunning();
      return this.runner.execute(encode(this.runner.take(), spec)) as Promise<R>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Copies `size` bytes from `src` to `dst` (overlap allowed when GENCAP says so). */
  memmove(dst: number, src: number, size: number): Promise<Completion> {
    return this.run({ op: 'memmove', dst, src, size });
  }

  /** Fills `size` bytes at `dst` with the 8-byte `pattern` repeated. */
  fill(dst: number, size: number, pattern: Pattern): Promise<Completion> {
    return this.run({ op: 'fill', dst, size, pattern });
  }

  /** Compares two buffers. */
  compare(src1: number, src2: number, size: number): Promise<CompareResult> {
    return this.run({ op: 'compare', src1, src2, size });
  }

  /** Compares a buffer with an 8-byte pattern repeated (pattern 0: zero-page detection). */
  comparePattern(src: number, size: number, pattern: Pattern): Promise<CompareResult> {
    return this.run({ op: 'comparePattern', src, size, pattern });
  }

  /** CRC-32C of `size` bytes at `src`, continuing from `seed` (default 0: a fresh CRC), with the CRC operation flags of `options`. */
  crc32c(src: number, size: number, seed = 0, options: CrcOptions = {}): Promise<CrcResult> {
    return this.run({ ...options, op: 'crc32c', src, size, seed });
  }

  /** Copies `size` bytes from `src` to `dst` and returns their CRC-32C (continuing from `seed`, with the CRC operation flags of `options`). */
  copyCrc(dst: number, src: number, size: number, seed = 0, options: CrcOptions = {}): Promise<CrcResult> {
    return this.run({ ...options, op: 'copyCrc', dst, src, size, seed });
  }

  /** Copies `size` bytes from `src` to both `dst1` and `dst2` (which agree in address bits 11:0). */
  dualcast(dst1: number, dst2: number, src: number, size: number): Promise<Completion> {
    return this.run({ op: 'dualcast', dst1, dst2, src, size });
  }

  /** Writes at `record` the delta record that turns `original` into `modified` (size a multiple of 8). */
  createDelta(original: number, modified: number, size: number, record: number, maxRecordSize: number): Promise<DeltaResult> {
    return this.run({ op: 'createDelta', original, modified, size, record, maxRecordSize });
  }

  /** Applies the delta record at `record` (`recordSize` bytes) to the `size`-byte buffer at `dst`. */
  applyDelta(dst: number, record: number, recordSize: number, size: number): Promise<Completion> {
    return this.run({ op: 'applyDelta', dst, record, recordSize, size });
  }

  /** Checks the DIF tuples of the protected stream at `src` (`size` = (block + 8) × blocks). */
  difCheck(src: number, size: number, dif: DifCheckOptions = {}): Promise<DifResult> {
    return this.run({ op: 'difCheck', src, size, dif });
  }

  /** Copies `size` data bytes (whole blocks) from `src` to `dst`, inserting a DIF tuple after each block. */
  difInsert(dst: number, src: number, size: number, dif: DifOptions = {}): Promise<DifResult> {
    return this.run({ op: 'difInsert', dst, src, size, dif });
  }

  /** Checks the protected stream at `src` and copies its data, without the tuples, to `dst`. */
  difStrip(dst: number, src: number, size: number, dif: DifCheckOptions = {}): Promise<DifResult> {
    return this.run({ op: 'difStrip', dst, src, size, dif });
  }

  /** Checks the protected stream at `src` against `source` and writes it to `dst` with tuples per `dest`. */
  difUpdate(dst: number, src: number, size: number, source: DifCheckOptions = {}, dest: DifUpdateDest = {}): Promise<DifResult> {
    return this.run({ op: 'difUpdate', dst, src, size, source, dest });
  }

  /**
   * Runs `items` as one BATCH descriptor, its list and the items' records in guest memory. Items that
   * page-faulted are resumed and fenced items the device abandoned only because of such a fault are
   * run, in order, so the results are those of a fault-free run; an item that failed for another
   * reason is reported as its error, and fenced items after it as abandoned.
   */
  async batch(items: readonly OpSpec[]): Promise<BatchResult> {
    this.submitter.stillRunning();
    return runBatch({
      runner: this.runner, counters: this.counters, maxBatchSize: this.wq.maxBatchSize, offsetOf: (iova, len) => this.offsetOf(iova, len),
    }, items);
  }
}
