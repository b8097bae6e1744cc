/**
 * The DSA device model (vidxd-device.md §2): a PCI function whose BAR0 registers, BAR2 portals,
 * work queues, groups, engines, commands, interrupts and errors behave as the DSA specification
 * describes, driven through register accesses only. Execution is `deterministic` (nothing runs
 * until the embedder calls {@link DsaDevice.step} / {@link DsaDevice.runUntilIdle}) or `automatic`
 * (queued work runs as soon as it is accepted, or when the embedder's scheduler says); both give
 * the same results.
 */
import { reportEmbedderError } from '../../embedder.js';
import { Iommu } from '../../memory/index.js';
import type { AtsCapability, MsixCapability, PasidCapability, PciFunction, PcieCapability, PriCapability } from '../../pci/index.js';
import { Command as PciCommand } from '../../pci/index.js';
import { GroupArbiter } from '../queue/arbiter.js';
import { capsFromRegisters, type EngineCaps } from '../spec/caps.js';
import { CommandUnit } from './command-unit.js';
import { COMMAND_BY_CODE, type CommandContext, DeviceState, type WaitKind } from './commands.js';
import type { GroupMap, PciState } from './config-check.js';
import { ExecContext, type PageRequestHandler, type ReadbackHook } from '../engine/context.js';
import { CANCELLED, checkWorkBudget, DEFAULT_WORK_BUDGET, DescriptorEngine } from '../engine/engine.js';
import { type InFlightDescriptor, type InFlightOwner, InFlightState } from '../engine/in-flight.js';
import { type ImsDelivery, InterruptController, type VectorDelivery } from './interrupts.js';
import { descOpcodeAt } from '../spec/descriptor.js';
import { type Bar0Layout, bar0Layout, PORTAL_SLOT } from '../spec/layout.js';
import { RegisterMmio } from './mmio.js';
import { buildDsaFunction } from './pci-function.js';
import { Portal, PortalRegion } from '../queue/portal.js';
import { commandMask, type DsaProfile, dsaProfile, gencapLow } from '../spec/profile.js';
import type { RegisterContext } from '../spec/register-def.js';
import { RegisterFile } from './register-file.js';
import { BAR0_BLOCKS, CMD, GENCFG, GENSTS, IMS_ENTRY, WQCFG } from './registers.js';
import { SoftwareErrorCode } from '../spec/status.js';
import { SwerrLog } from './swerr.js';
import { DESC_SIZE } from '../spec/descriptor.js';
import { SLOT_IMS, SLOT_PRIV, SLOT_SHARED, SubmitStatus, type SubmitStatusValue, WorkQueue, type WqConfig, type WqHost } from '../queue/work-queue.js';

/** A descriptor taken back from a WQ by {@link DsaDevice.withdraw}. */
export interface WithdrawnDescriptor {
  /** Its 64 bytes, as submitted. */
  readonly bytes: Uint8Array;
  /** Its slot flags (`SLOT_PRIV`, `SLOT_IMS`). */
  readonly flags: number;
}

/** What kind of BAR2 write {@link DsaDevice.portalWrite} performs. */
export type PortalWriteKind = 'movdir64b' | 'enqcmd' | 'enqcmds' | 'write';

/** `deterministic`: nothing runs until the embedder steps the device; `automatic`: accepted work runs at once. */
export type ExecutionMode = 'deterministic' | 'automatic';

/** Options of {@link DsaDevice}. */
export interface DsaDeviceOptions {
  /** Capability profile (default: {@link dsaProfile}()). */
  readonly profile?: DsaProfile;
  /** The IOMMU every DMA goes through (default: a new, empty one). */
  readonly iommu?: Iommu;
  /** Execution mode (default `deterministic`). */
  readonly mode?: ExecutionMode;
  /**
   * Automatic mode: how to run queued work. Default: synchronously, inside the call that queued it.
   * An embedder may pass e.g. `queueMicrotask` for one scheduled run per burst of submissions.
   */
  readonly schedule?: ((run: () => void) => void) | undefined;
  /** Engine items without a register bit (`cacheControl3`, `logInvalidHandle`, …). */
  readonly engineCaps?: Partial<EngineCaps>;
  /**
   * Bytes one step may process (see {@link DsaDevice.workBudget}; default 4 MiB, `Infinity`: no limit).
   * Throws `RangeError` below 64 or for a non-integer.
   */
  readonly workBudget?: number;
}

/** An engine that belongs to a group, with its group's arbiter (latched by Enable Device). */
interface Lane {
  readonly engine: DescriptorEngine;
  readonly arbiter: GroupArbiter;
}

/** A DSA PCI function with its registers, work queues, portals, engines and commands. */
export class DsaDevice {
  /** The capability profile. */
  readonly profile: DsaProfile;
  /** BAR0 layout. */
  readonly layout: Bar0Layout;
  /** What the engines execute with (decoded from GENCAP and OPCAP). */
  readonly caps: EngineCaps;
  /** The IOMMU (PASID 0 = requester-ID space). */
  readonly iommu: Iommu;
  /** The PCI function (config space). */
  readonly pci: PciFunction;
  /** MSI-X capability (table and PBA in BAR0). */
  readonly msix: MsixCapability;
  /** PCI Express capability. */
  readonly pcie: PcieCapability;
  /** ATS capability. */
  readonly ats: AtsCapability;
  /** PRI capability. */
  readonly pri: PriCapability;
  /** PASID capability. */
  readonly pasid: PasidCapability;
  /** The register file compiled from the tables. */
  readonly regs: RegisterFile<RegisterContext>;
  /** BAR0 as an MMIO region. */
  readonly bar0: RegisterMmio;
  /** BAR2 as an MMIO region. */
  readonly bar2: PortalRegion;
  /** Interrupts and the interrupt-handle table. */
  readonly irq: InterruptController;
  /** The SWERR log. */
  readonly swerr: SwerrLog;
  /** The work queues. */
  readonly wqs: readonly WorkQueue[];
  private readonly schedule: ((run: () => void) => void) | null;
  private modeValue: ExecutionMode;
  private readonly portals: readonly Portal[];
  private readonly arbiters: readonly GroupArbiter[];
  private readonly engines: readonly DescriptorEngine[];
  /** One long-lived execution context per WQ: WQ-constant fields set by Enable WQ, the rest per dispatch. */
  private readonly contexts: readonly ExecContext[];
  private userIntOn = false;
  private readonly bytes: Uint8Array;
  /** The embedder's page-request service, and the contained form the engines call. */
  private faults: PageRequestHandler | null = null;
  private faultsContained: PageRequestHandler | null = null;
  /** The embedder's readback hook, and the contained form the engines call. */
  private readbackHook: ReadbackHook | null = null;
  private readbackContained: ReadbackHook | null = null;
  /** The automatic mode's scheduled run (made once). */
  private readonly scheduledRun = (): void => {
    this.scheduled = false;
    this.runUntilIdle();
  };
  private stateValue: number = DeviceState.DISABLED;
  /** CMD and CMDSTS: the §5.1 dispatch over the model's command table. */
  private readonly commands: CommandUnit<CommandContext, WaitKind>;
  /** A command waits and asked to be rechecked on progress (its strategy's `watch`, until `unwatch`). */
  private commandWatched = false;
  /** Per WQ, the sequence number a waiting command needs its head to reach (−1: none). */
  private readonly waitTarget: Float64Array;
  private running = false;
  private scheduled = false;
  private workBudgetValue = DEFAULT_WORK_BUDGET;
  private yieldSeq = 0;
  /**
   * The engines of a group in index order (latched by Enable Device, empty otherwise): a step goes
   * round-robin over these, which is the round-robin over all engines skipping those without a group.
   */
  private lanes: readonly Lane[] = [];
  /** The lane the next step tries first. */
  private nextLane = 0;
  private pasidOn = false;
  private pasidPrivOn = false;
  private atsOn = false;
  private priOn = false;
  /** What command handlers may do (kept off the public surface). */
  private readonly control: CommandContext;
  /** Progress listeners; replaced (never mutated) on change, so an emission needs no copy. */
  private progressListeners: readonly ((wq: number) => void)[] = [];
  /** In-flight descriptors that may run again (their fetches were answered, or their turn came), in order. */
  private readonly ready: InFlightDescriptor[] = [];
  /** `ready.length`, kept in a field: the step loop tests it once per descriptor. */
  private readyCount = 0;
  /** How the in-flight descriptors reach the device. */
  private readonly inFlight: InFlightOwner = {
    ready: (d) => this.becameReady(d),
    done: (d) => this.committedLate(d),
    forget: (d) => this.forget(d),
  };

  /** Builds a device in its power-on state (Disabled, every register at its reset value). */
  constructor(options: DsaDeviceOptions = {}) {
    const device = this;
    const profile = options.profile ?? dsaProfile();
    this.profile = profile;
    this.layout = bar0Layout(profile);
    this.caps = capsFromRegisters(gencapLow(profile), profile.gencapHigh, profile.opcap, options.engineCaps);
    this.iommu = options.iommu ?? new Iommu();
    this.modeValue = options.mode ?? 'deterministic';
    this.schedule = options.schedule ?? null;
    const parts = buildDsaFunction(profile, this.layout);
    this.pci = parts.fn;
    this.msix = parts.msix;
    this.pcie = parts.pcie;
    this.ats = parts.ats;
    this.pri = parts.pri;
    this.pasid = parts.pasid;
    this.regs = new RegisterFile({ profile, layout: this.layout }, BAR0_BLOCKS, this.layout.bar0Size);
    this.irq = new InterruptController(profile, this.regs, this.msix, () => this.pci.busMaster);
    this.swerr = new SwerrLog(this.regs, this.irq);
    this.regs.connect({
      window: this.msix,
      hooks: {
        // A CMD write of another size is ignored (the model's RegisterMmio takes 1-, 2- and 4-byte writes).
        [CMD.name]: (_i, _offset, size, value) => {
          if (size === 4) this.commands.write(value);
        },
        [IMS_ENTRY.name]: (entry) => this.irq.imsEntryWritten(entry),
      },
      // WQCFG occupancy is stored when software reads it, not on every submission and dispatch.
      refresh: { [WQCFG.name]: (q) => this.regs.set(WQCFG, WQCFG.fields.occupancy, q, (this.wqs[q] as WorkQueue).occupancy) },
      writable: (lock, i) => (lock === 'device-disabled' ? this.stateValue === DeviceState.DISABLED : !(this.wqs[i] as WorkQueue).enabled),
    });
    const decoding = (): boolean => (this.pci.command & PciCommand.MEMORY) !== 0;
    this.bar0 = new RegisterMmio(this.regs, decoding);

    // One spare slot per ring: engines execute in place (see WorkQueue).
    const ringBytes = (profile.totalWqSize + 1) * PORTAL_SLOT;
    this.bytes = new Uint8Array(profile.wqs * ringBytes);
    const host: WqHost = {
      dropped: (wq, src, off) => this.dropped(wq, src, off),
      kick: () => this.kick(),
      cancel: (wq) => {
        (this.contexts[wq.index] as ExecContext).cancelled = true;
      },
    };
    this.wqs = Array.from({ length: profile.wqs }, (_, q) =>
      new WorkQueue(q, this.bytes, q * ringBytes, profile.totalWqSize, host));
    const portals: Portal[] = [];
    for (const wq of this.wqs) {
      for (let page = 0; page < 4; page++) {
        const ims = page >= 2;
        portals.push(new Portal(wq.index, (page & 1) === 1, ims, ims && this.irq.imsEntries === 0 ? null : wq));
      }
    }
    this.portals = portals;
    this.mode = this.modeValue;
    this.bar2 = new PortalRegion(this.layout.bar2Size, portals, decoding);
    this.arbiters = Array.from({ length: profile.groups }, () => new GroupArbiter());
    this.engines = Array.from({ length: profile.engines }, () => new DescriptorEngine(this.caps));
    this.workBudget = options.workBudget ?? DEFAULT_WORK_BUDGET;
    this.contexts = this.wqs.map(() => this.newContext());
    this.waitTarget = new Float64Array(profile.wqs).fill(-1);
    this.control = this.commandContext();
    this.commands = new CommandUnit<CommandContext, WaitKind>({
      regs: this.regs,
      table: COMMAND_BY_CODE,
      implemented: (code) => ((commandMask(profile) >>> code) & 1) !== 0,
      context: this.control,
      waits: {
        isOver: () => this.waitOver(),
        finish: (kind) => this.finishWait(kind),
        started: () => this.kick(),
        // What `watch` asks for: progress rechecks the command while it waits, which the step loop
        // does with a test of this one field.
        watch: () => {
          this.commandWatched = true;
        },
        unwatch: () => {
          this.commandWatched = false;
        },
      },
      device: {
        get state(): number {
          return device.stateValue;
        },
        setState: (st) => this.setState(st),
        abandon: () => {
          for (let q = 0; q < this.wqs.length; q++) this.disableWq(q);
        },
        reportDevice: (code) => this.swerr.reportDevice(code),
        raiseCause: (cause) => this.irq.raiseCause(cause),
      },
    });
    this.pci.onCommandChange((old, now) => this.commandRegisterChanged(old, now));
    // A function-level reset the guest initiated (PCIe DevCtl bit 15) has reset config space: the rest follows.
    this.pci.onFunctionReset(() => this.resetFunctionState());
    this.pci.onCapabilityWrite((cap) => {
      if (cap === this.pasid || cap === this.ats || cap === this.pri) this.capabilityEnablesChanged();
    });
  }

  private commandContext(): CommandContext {
    const device = this;
    return {
      profile: this.profile,
      regs: this.regs,
      wqs: this.wqs,
      irq: this.irq,
      get state(): number {
        return device.stateValue;
      },
      pciState: () => this.pciState(),
      enterEnabled: (map) => this.enterEnabled(map),
      enterDrain: () => this.enterDrain(),
      enableWq: (q, c) => this.enableWq(q, c),
      disableWq: (q) => this.disableWq(q),
      resetDevice: () => this.resetDevice(),
      beginWait: (kind) => this.beginWait(kind),
      waitFor: (q, seq) => this.waitFor(q, seq),
    };
  }

  private newContext(): ExecContext {
    const ctx = new ExecContext();
    ctx.interrupts = this.irq;
    ctx.errors = this.swerr;
    return ctx;
  }

  /** Copies the device-wide execution settings (capability enables, GENCFG, hooks) into every context. */
  private syncContexts(): void {
    for (const ctx of this.contexts) {
      ctx.privModeEnabled = this.pasidPrivOn;
      ctx.userInterruptsEnabled = this.userIntOn;
      ctx.prsEnabled = this.priOn;
      ctx.faults = this.faultsContained;
      ctx.readback = this.readbackContained;
    }
  }

  // ---------------------------------------------------------------- public surface

  /** GENSTS.state: 0 Disabled, 1 Enabled, 2 Drain, 3 Halt. */
  get state(): number {
    return this.stateValue;
  }

  /** Execution mode (may be changed at any time; queued work then runs at the next kick or step). */
  get mode(): ExecutionMode {
    return this.modeValue;
  }

  set mode(mode: ExecutionMode) {
    this.modeValue = mode;
    // A deterministic device is never kicked by a submission: the WQs skip the call altogether.
    for (const w of this.wqs) w.runsOnSubmit = mode === 'automatic';
  }

  /**
   * Bytes one step may process (data an operation reads or writes, 64 per batch element; default 4 MiB,
   * `Infinity`: no limit). A descriptor still running when its step's budget is spent yields at the next
   * resume point and keeps its WQ entry; it continues, on the same engine, from that point at the next
   * step (before anything else is taken from a WQ), with exactly the result of one uninterrupted run — a
   * batch resumes at the same element. In automatic mode the continuation is not run inside the call
   * that ran the step: it is scheduled (with `schedule`, or else as a macrotask, `setImmediate` /
   * `setTimeout`). Descriptors over memory reached by messages (which run in transactions) do not yield.
   * May be changed at any time (it applies from the next step). Throws `RangeError` below 64 or for a
   * non-integer.
   */
  get workBudget(): number {
    return this.workBudgetValue;
  }

  set workBudget(bytes: number) {
    checkWorkBudget(bytes);
    this.workBudgetValue = bytes;
    for (const e of this.engines) e.budget = bytes;
  }

  /** Page-request service for block-on-fault and PRS (null: faults are reported). */
  get pageRequests(): PageRequestHandler | null {
    return this.faults;
  }

  set pageRequests(handler: PageRequestHandler | null) {
    this.faults = handler;
    // Made once per installation: a service that throws has refused the page request.
    this.faultsContained = handler === null ? null : (pasid, iova, write) => {
      try {
        return handler(pasid, iova, write) === true;
      } catch (e) {
        reportEmbedderError(e, 'page-request');
        return false;
      }
    };
    this.syncContexts();
  }

  /** Destination-readback hook (null: none). */
  get readback(): ReadbackHook | null {
    return this.readbackHook;
  }

  set readback(hook: ReadbackHook | null) {
    this.readbackHook = hook;
    this.readbackContained = hook === null ? null : (pasid, opcode) => {
      try {
        hook(pasid, opcode);
      } catch (e) {
        reportEmbedderError(e, 'readback');
      }
    };
    this.syncContexts();
  }

  /** CMDSTS.active. */
  get commandActive(): boolean {
    return this.commands.active;
  }

  /** The portal of WQ `wq` (unlimited/MSI-X by default). Throws `RangeError` for a WQ index out of range. */
  portal(wq: number, options: { readonly limited?: boolean; readonly ims?: boolean } = {}): Portal {
    const p = this.portals[wq * 4 + (options.limited === true ? 1 : 0) + (options.ims === true ? 2 : 0)];
    if (p === undefined || wq < 0 || !Number.isInteger(wq)) throw new RangeError(`WQ ${wq} does not exist (the device has ${this.wqs.length})`);
    return p;
  }

  /** BAR0 read of 1, 2 or 4 bytes (8-byte registers: two dword reads, or `bar0.readInto`). */
  mmioRead(offset: number, size: number): number {
    return this.bar0.read(offset, size);
  }

  /** BAR0 write of 1, 2 or 4 bytes, or of 8 bytes given as two halves (`value` low, `high`). */
  mmioWrite(offset: number, size: number, value: number, high = 0): void {
    if (size === 8) this.bar0.write64(offset, value, high);
    else this.bar0.write(offset, size, value);
  }

  /**
   * A BAR2 write of the 64 bytes at `bytes[off]` to portal offset `offset` (dsa-operations.md
   * §9.1–9.3): MOVDIR64B (posted), ENQCMD (with the submitter's `pasid`, Priv 0), ENQCMDS (PASID
   * and Priv from the descriptor), or a plain write (always ignored). A misaligned offset is ignored
   * (retry for an enqueue).
   */
  portalWrite(offset: number, bytes: Uint8Array, off: number, kind: PortalWriteKind, pasid = 0): SubmitStatusValue {
    const enq = kind === 'enqcmd' || kind === 'enqcmds';
    const p = offset % PORTAL_SLOT === 0 && (this.pci.command & PciCommand.MEMORY) !== 0 ? this.bar2.portalAt(offset) : null;
    if (kind === 'write' || p === null) return enq ? SubmitStatus.RETRY : SubmitStatus.IGNORED;
    if (kind === 'movdir64b') return p.movdir64b(bytes, off);
    return kind === 'enqcmd' ? p.enqcmd(bytes, off, pasid) : p.enqcmds(bytes, off);
  }

  /**
   * Listens to execution progress: `listener(wq)` runs after each descriptor taken from WQ `wq` has
   * been executed (its completion record and interrupt done, any waiting command re-evaluated).
   * Returns a function that removes the listener. With no listener installed a step costs nothing
   * more; a waiter (a virtual device whose command waits for its descriptors) installs one only
   * while it waits.
   */
  onProgress(listener: (wq: number) => void): () => void {
    this.progressListeners = [...this.progressListeners, listener];
    return () => {
      this.progressListeners = this.progressListeners.filter((l) => l !== listener);
    };
  }

  /** Installs the receiver of MSI-X messages (the platform's interrupt controller). */
  setMsixDelivery(handler: VectorDelivery | null): void {
    // A receiver that throws has taken the message (nothing stays pending for it).
    this.irq.setMsixDelivery(handler === null ? null : (vector) => {
      try {
        return handler(vector);
      } catch (e) {
        reportEmbedderError(e, 'msix-delivery');
        return true;
      }
    });
  }

  /** Installs the receiver of interrupt-handle (IMS) messages. */
  setImsDelivery(handler: ImsDelivery | null): void {
    this.irq.setImsDelivery(handler === null ? null : (entry) => {
      try {
        return handler(entry);
      } catch (e) {
        reportEmbedderError(e, 'ims-delivery');
        return true;
      }
    });
  }

  /**
   * Descriptors WQ `wq` holds — queued, or taken but still in flight (waiting for memory reached only
   * by messages, or for their write-back) — or only those with effective PASID `pasid`.
   */
  occupancy(wq: number, pasid?: number): number {
    const w = this.wqs[wq];
    if (w === undefined) throw new RangeError(`WQ ${wq} does not exist`);
    return pasid === undefined ? w.occupancy : w.occupancyOf(pasid);
  }

  /**
   * Takes back from WQ `wq` every descriptor with effective PASID `pasid` that has had no effect yet —
   * queued, or taken but waiting for memory reached only by messages (parked, ready to run again, or
   * behind an earlier one of its stream): nothing of them was written or raised, and they leave the WQ
   * without a record or an interrupt, as after an abort. Returns them in acceptance order (the 64 bytes
   * as submitted, and the slot flags), so that their owner can submit them again later (a virtual
   * device being quiesced for migration). When a descriptor of `pasid` is past that point — executing,
   * or committing its write-back — nothing is taken and null is returned. Throws `RangeError` for a WQ
   * index out of range.
   */
  withdraw(wq: number, pasid: number): WithdrawnDescriptor[] | null {
    const w = this.wqs[wq];
    if (w === undefined) throw new RangeError(`WQ ${wq} does not exist`);
    for (const h of w.held) {
      const d = h as InFlightDescriptor;
      if (d.pasid === pasid && d.state !== InFlightState.PARKED && d.state !== InFlightState.READY && d.state !== InFlightState.BEHIND) return null;
    }
    const out: (WithdrawnDescriptor & { readonly seq: number })[] = [];
    for (const h of w.held.slice()) {
      const d = h as InFlightDescriptor;
      if (d.pasid !== pasid) continue;
      out.push({ seq: d.seq, bytes: d.desc.slice(), flags: d.flags & (SLOT_PRIV | SLOT_IMS) });
      w.release(d);
      d.abandon();
    }
    w.takeQueued(pasid, (at, seq, flags) => out.push({ seq, bytes: this.bytes.slice(at, at + DESC_SIZE), flags }));
    out.sort((a, b) => a.seq - b.seq);
    if (this.commandWatched) this.commands.recheck();
    return out.map(({ bytes, flags }) => ({ bytes, flags }));
  }

  /**
   * Abandons, without a command, every descriptor of WQ `wq` — or only those with effective PASID
   * `pasid` — that can still run: queued, in flight (waiting for memory reached only by messages, or
   * for their write-back), and the one executing now when this is called from one of its callbacks
   * (it stops at its next check). No record, no interrupt, nothing more written, as after Abort WQ /
   * Abort PASID; a waiting command is re-evaluated. What the host driver does when the device cannot
   * take a command (another is active, or one timed out). Returns how many were abandoned. Throws
   * `RangeError` for a WQ index out of range.
   */
  discard(wq: number, pasid?: number): number {
    const w = this.wqs[wq];
    if (w === undefined) throw new RangeError(`WQ ${wq} does not exist`);
    const running = w.running >= 0 && (pasid === undefined || w.running === pasid) ? 1 : 0;
    const n = (pasid === undefined ? w.occupancy : w.occupancyOf(pasid)) + running;
    if (pasid === undefined) w.abortAll();
    else w.abortPasid(pasid);
    if (this.commandWatched) this.commands.recheck();
    return n;
  }

  /**
   * Stops the descriptor with effective PASID `pasid` executing now on WQ `wq` (this is a callback it
   * made): it is abandoned at its next check — nothing more read, written, raised or reported — and
   * its entry freed; queued ones stay. Returns whether one was stopped. What a detach of its address
   * space does (it cannot go on without it). Throws `RangeError` for a WQ index out of range.
   */
  stopExecuting(wq: number, pasid: number): boolean {
    const w = this.wqs[wq];
    if (w === undefined) throw new RangeError(`WQ ${wq} does not exist`);
    return w.cancelRunning(pasid);
  }

  /** True while a descriptor with effective PASID `pasid` taken from WQ `wq` is executing (a callback it made is running). */
  executing(wq: number, pasid: number): boolean {
    return this.wqs[wq]?.running === pasid;
  }

  /** Descriptors in flight that wait for something outside the device (fetches, write-back acknowledgements). */
  get waiting(): number {
    let n = 0;
    for (const w of this.wqs) n += w.heldCount;
    return n - this.readyCount;
  }

  /** True when no engine can take work now. */
  get idle(): boolean {
    if (this.stateValue !== DeviceState.ENABLED && this.stateValue !== DeviceState.DRAIN) return true;
    if (this.readyCount !== 0) return false;
    // The lanes are the engines in a group (none unless Enabled or Drain).
    for (const lane of this.lanes) if (lane.arbiter.hasWork()) return false;
    return true;
  }

  /**
   * Executes one descriptor: the next engine (round-robin) whose group has work takes a descriptor
   * from the WQ its group's arbiter chooses and runs it to completion. Returns false when nothing
   * could run (or when called from inside a step).
   */
  step(): boolean {
    return this.runUntilIdle(1) === 1;
  }

  /**
   * Steps until no engine can take work (at most `max` descriptors); returns how many ran. Each
   * step: the device must be Enabled or draining; an in-flight descriptor that may run again (its
   * fetches answered, or its turn in its stream come) runs first, on its engine; otherwise the engines
   * of a group are tried round-robin from the one after the last that ran, the first whose group's
   * arbiter chooses a WQ runs that WQ's oldest descriptor; then a waiting command is re-evaluated and
   * the progress listeners are told. (The step is written out in this loop rather than called: it
   * runs once per descriptor.)
   */
  runUntilIdle(max = Number.POSITIVE_INFINITY): number {
    if (this.running) return 0;
    this.running = true;
    let n = 0;
    try {
      steps: while (n < max) {
        const s = this.stateValue;
        if (s !== DeviceState.ENABLED && s !== DeviceState.DRAIN) break;
        if (this.readyCount !== 0) {
          this.resumeNext();
          n++;
          continue;
        }
        const lanes = this.lanes;
        const count = lanes.length;
        let l = this.nextLane;
        for (let k = 0; k < count; k++) {
          const lane = lanes[l] as Lane;
          l = l + 1 === count ? 0 : l + 1;
          const wq = lane.arbiter.choose();
          if (wq === null) continue;
          this.nextLane = l;
          this.execute(lane.engine, wq);
          if (this.commandWatched) this.commands.recheck();
          // (The listeners' containment is a call away, in `tellProgress`: not a try block in this loop.)
          if (this.progressListeners.length !== 0) this.tellProgress(wq.index);
          n++;
          continue steps;
        }
        break;
      }
    } finally {
      this.running = false;
    }
    return n;
  }

  /**
   * Power-on / fundamental reset, and what a function-level reset does (a write of 1 to the PCIe
   * DevCtl "Initiate FLR" bit runs the same once the write completes): PCI config space, every
   * register (SWERR, CMD and CMDSTS too), the queues and the handle table return to their reset state;
   * queued descriptors are dropped without a record or an interrupt. Listeners, the MSI-X route and
   * delivery callbacks stay.
   */
  reset(): void {
    this.pci.reset();
    this.resetFunctionState();
  }

  /** Everything of {@link reset} but config space (which the caller, or the function's FLR, has reset). */
  private resetFunctionState(): void {
    this.refreshCapabilityEnables();
    this.commands.cancel();
    this.resetDevice();
    this.regs.reset(false);
  }

  // ---------------------------------------------------------------- execution

  private execute(engine: DescriptorEngine, wq: WorkQueue): void {
    // The engine runs the descriptor in place, in the ring slot it is taken from: the WQ's spare
    // slot keeps submissions made while it runs (from a callback) out of that slot.
    const head = wq.head;
    const at = wq.headOffset();
    const flags = wq.slotFlags[head] as number;
    const pasid = wq.slotPasid[head] as number;
    wq.pop();
    if ((flags & SLOT_SHARED) !== 0) wq.unshare(head);
    if (wq.heldCount !== 0 && wq.holds(pasid)) {
      this.waitBehind(engine, wq, head, at, pasid, flags);
      return;
    }
    // Only what differs per descriptor is set here; the device-wide fields are kept current in
    // every context when they change (syncContexts), the WQ's own at Enable WQ.
    const ctx = this.contexts[wq.index] as ExecContext;
    const space = this.iommu.space(pasid);
    // A pointer field is stored only when it changes: no write barrier per descriptor.
    if (ctx.space !== space) ctx.space = space;
    ctx.pasid = pasid;
    ctx.priv = (flags & SLOT_PRIV) !== 0;
    ctx.ims = (flags & SLOT_IMS) !== 0;
    // While it runs, an abort, disable or reset from one of its callbacks reaches it (WorkQueue.running).
    // `ctx.cancelled` is false here: only a cancel of a running descriptor sets it, and every run clears it after.
    wq.running = pasid;
    const st = engine.execute(this.bytes, at, ctx);
    wq.running = -1;
    ctx.cancelled = false;
    if (st !== CANCELLED && engine.held !== null) this.holdTaken(engine, wq, head, at, pasid, flags);
  }

  // (The two rare turns of `execute` are calls: its size decides whether V8 inlines it, and the
  // engine's `execute` with it, into the step loop — ~5% of a NOOP through the portal.)

  /**
   * An earlier descriptor of the same stream is still in flight: this one waits behind it, so a
   * stream's descriptors complete — and write — in acceptance order (dsa-operations.md §8.4).
   */
  private waitBehind(engine: DescriptorEngine, wq: WorkQueue, slot: number, at: number, pasid: number, flags: number): void {
    const d = engine.session.acquire();
    d.state = InFlightState.BEHIND;
    this.hold(d, engine, wq, slot, at, pasid, flags);
  }

  /** The engine holds the descriptor it just ran (parked or yielded): it keeps its WQ entry. */
  private holdTaken(engine: DescriptorEngine, wq: WorkQueue, slot: number, at: number, pasid: number, flags: number): void {
    this.hold(engine.takeHeld() as InFlightDescriptor, engine, wq, slot, at, pasid, flags);
  }

  // ---------------------------------------------------------------- descriptors in flight

  /**
   * `d` — taken from `wq`'s slot `slot` (bytes at `at`) — did not complete at once: it keeps its WQ
   * entry until it does. Parked or behind, it keeps its 64 bytes to run again.
   */
  private hold(d: InFlightDescriptor, engine: DescriptorEngine, wq: WorkQueue, slot: number, at: number, pasid: number, flags: number): void {
    d.wq = wq.index;
    d.pasid = pasid;
    d.flags = flags;
    d.seq = wq.slotSeq[slot] as number;
    d.engine = engine;
    d.owner = this.inFlight;
    if (d.state === InFlightState.BEHIND) d.desc.set(this.bytes.subarray(at, at + DESC_SIZE));
    wq.hold(d);
    // A port that answered within the attempt: nothing left to wait for.
    if (d.state === InFlightState.PARKED && d.outstanding === 0) this.becameReady(d);
    else if (d.state === InFlightState.YIELDED) this.continueLater(d);
  }

  /**
   * `d` yielded (its step's work budget ran out): it continues at the next step — in automatic mode from
   * a scheduled run, not inside the one that ran this step.
   */
  private continueLater(d: InFlightDescriptor): void {
    if (this.modeValue !== 'automatic') {
      this.readyCount = this.ready.push(d);
      return;
    }
    const token = ++this.yieldSeq;
    d.yieldToken = token;
    const later = (): void => {
      if (d.yieldToken !== token || d.owner !== this.inFlight || d.state !== InFlightState.YIELDED) return;
      d.yieldToken = 0;
      this.readyCount = this.ready.push(d);
      if (!this.running) this.runUntilIdle();
    };
    if (this.schedule !== null) this.schedule(later);
    else if (typeof setImmediate === 'function') setImmediate(later);
    else setTimeout(later, 0);
  }

  /**
   * A continuation of `d` met memory reached by messages: `held`, its transaction (restarting from the same
   * point), takes `d`'s place in the WQ.
   */
  private replaceHeld(d: InFlightDescriptor, held: InFlightDescriptor, wq: WorkQueue): void {
    held.wq = d.wq;
    held.pasid = d.pasid;
    held.flags = d.flags;
    held.seq = d.seq;
    held.engine = d.engine;
    held.owner = this.inFlight;
    wq.replace(d, held);
    d.owner = null;
    d.recycle();
    if (held.state === InFlightState.COMMITTING) wq.settle(held);
    else if (held.state === InFlightState.PARKED && held.outstanding === 0) this.becameReady(held);
  }

  /** `d`'s fetches were answered: it runs at the next step (now, in automatic mode). */
  private becameReady(d: InFlightDescriptor): void {
    d.state = InFlightState.READY;
    this.readyCount = this.ready.push(d);
    this.kick();
  }

  /** Runs the oldest ready in-flight descriptor again, on the engine that took it. */
  private resumeNext(): void {
    const d = this.ready.shift() as InFlightDescriptor;
    this.readyCount = this.ready.length;
    const wq = this.wqs[d.wq] as WorkQueue;
    const engine = d.engine as DescriptorEngine;
    const ctx = this.contexts[d.wq] as ExecContext;
    const space = this.iommu.space(d.pasid);
    if (ctx.space !== space) ctx.space = space;
    ctx.pasid = d.pasid;
    ctx.priv = (d.flags & SLOT_PRIV) !== 0;
    ctx.ims = (d.flags & SLOT_IMS) !== 0;
    ctx.cancelled = false;
    wq.running = d.pasid;
    try {
      if (d.state === InFlightState.YIELDED) engine.continue(d, ctx);
      else engine.resume(d, ctx);
    } catch (e) {
      // An embedder callback threw out of the attempt: the descriptor is lost, as one run from the
      // ring would be (its WQ entry is freed so occupancy and waits stay true).
      wq.running = -1;
      ctx.cancelled = false;
      engine.takeHeld();
      if (d.owner === this.inFlight) this.completed(d, wq);
      throw e;
    }
    wq.running = -1;
    ctx.cancelled = false;
    const held = engine.takeHeld();
    if (d.owner !== this.inFlight) {
      // Abandoned by a callback of its own attempt (an abort from a page-request service): already gone.
    } else if (held === null) {
      this.completed(d, wq);
    } else if (held !== d) {
      this.replaceHeld(d, held, wq);
    } else if (held.state === InFlightState.YIELDED) {
      this.continueLater(held);
    } else if (held.state === InFlightState.COMMITTING) {
      wq.settle(held);
    } else if (held.outstanding === 0) {
      this.becameReady(held);
    }
    if (this.commandWatched) this.commands.recheck();
    this.tellProgress(wq.index);
  }

  /** In-flight `d` completed: its WQ entry is free, and the next descriptor of its stream may run. */
  private completed(d: InFlightDescriptor, wq: WorkQueue): void {
    wq.release(d);
    const pasid = d.pasid;
    d.owner = null;
    d.recycle();
    for (const h of wq.held) {
      const next = h as InFlightDescriptor;
      if (next.pasid !== pasid) continue;
      if (next.state === InFlightState.BEHIND) this.becameReady(next);
      break;
    }
  }

  /** `d` finished committing after its step (its write-backs were acknowledged, its effects delivered). */
  private committedLate(d: InFlightDescriptor): void {
    const wq = this.wqs[d.wq] as WorkQueue;
    this.completed(d, wq);
    if (this.commandWatched) this.commands.recheck();
    this.tellProgress(wq.index);
  }

  /** `d` is being abandoned (abort, disable, reset): it will not run again. */
  private forget(d: InFlightDescriptor): void {
    const i = this.ready.indexOf(d);
    if (i >= 0) this.ready.splice(i, 1);
    this.readyCount = this.ready.length;
  }

  /** Work was queued or a command waits: in automatic mode, run (or schedule) until idle. */
  private kick(): void {
    if (this.modeValue !== 'automatic') return;
    if (this.schedule === null) {
      this.runUntilIdle();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    try {
      this.schedule(this.scheduledRun);
    } catch (e) {
      // Not scheduled: the flag must not stay set, or no later submission would ever schedule a run.
      this.scheduled = false;
      reportEmbedderError(e, 'scheduler');
    }
  }

  /** Tells the progress listeners that a descriptor of WQ `wq` was executed (one that throws is contained). */
  private tellProgress(wq: number): void {
    const listeners = this.progressListeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        (listeners[i] as (wq: number) => void)(wq);
      } catch (e) {
        reportEmbedderError(e, 'progress-listener');
      }
    }
  }

  /** A MOVDIR64B hit a full dedicated WQ: SWERR 0x53 with the dropped descriptor's opcode and the WQ's PASID. */
  private dropped(wq: WorkQueue, src: Uint8Array, off: number): void {
    const e = this.swerr.scratch;
    e.clear();
    e.code = SoftwareErrorCode.DWQ_FULL;
    e.descValid = true;
    e.wqIndexValid = true;
    e.wqIndex = wq.index;
    e.opcode = descOpcodeAt(src, off);
    e.pasid = wq.pasidEnabled ? wq.pasid : 0;
    e.priv = wq.priv;
    this.swerr.report(e);
  }

  // ---------------------------------------------------------------- waits of commands

  /** Whether every WQ a waiting command names has taken the entries it waits for. */
  private waitOver(): boolean {
    for (let q = 0; q < this.wqs.length; q++) {
      const t = this.waitTarget[q] as number;
      if (t >= 0 && (this.wqs[q] as WorkQueue).headSeq() < t) return false;
    }
    return true;
  }

  /** The wait of `kind` is over: Disable WQ / Disable Device disable their WQs (and the device). */
  private finishWait(kind: WaitKind): void {
    if (kind === 'drain') return;
    for (let q = 0; q < this.wqs.length; q++) {
      const w = this.wqs[q] as WorkQueue;
      if (w.enabled && (kind === 'disable-device' || (this.waitTarget[q] as number) >= 0)) this.disableWq(q);
    }
    if (kind === 'disable-device') this.setState(DeviceState.DISABLED);
  }

  // ---------------------------------------------------------------- what command handlers do

  /** The PCI state the configuration checks depend on. */
  private pciState(): PciState {
    return {
      busMaster: this.pci.busMaster,
      pasidEnabled: this.pasid.enabled,
      pasidPrivileged: this.pasid.privilegedEnabled,
      priEnabled: this.pri.enabled,
      pasidWidth: this.pasid.maxWidth,
    };
  }

  /** Latches the group membership and enters Enabled. */
  private enterEnabled(map: GroupMap): void {
    this.userIntOn = this.regs.flag(GENCFG, GENCFG.fields.userIntEn);
    this.syncContexts();
    for (const w of this.wqs) w.group = map.wqGroup[w.index] as number;
    this.arbiters.forEach((a, g) => a.setMembers(this.wqs.filter((w) => w.group === g)));
    const lanes: Lane[] = [];
    this.engines.forEach((engine, e) => {
      const g = map.engineGroup[e] as number;
      if (g >= 0) lanes.push({ engine, arbiter: this.arbiters[g] as GroupArbiter });
    });
    this.lanes = lanes;
    this.nextLane = 0;
    this.setState(DeviceState.ENABLED);
  }

  /** Stops every WQ taking submissions and enters Drain (Disable Device in progress). */
  private enterDrain(): void {
    for (const w of this.wqs) w.accepting = false;
    this.setState(DeviceState.DRAIN);
  }

  /** Latches `c`, enables WQ `q` and locks its WQCFG. */
  private enableWq(q: number, c: WqConfig): void {
    (this.wqs[q] as WorkQueue).enable(c, this.stateValue === DeviceState.ENABLED);
    const ctx = this.contexts[q] as ExecContext;
    ctx.pasidEnabled = c.pasidEnabled;
    ctx.shared = !c.dedicated;
    ctx.wqIndex = q;
    ctx.maxXferShift = c.maxTransferShift;
    ctx.maxBatchShift = c.maxBatchShift;
    ctx.wqBlockOnFault = c.blockOnFault;
    this.regs.set(WQCFG, WQCFG.fields.wqState, q, 1);
  }

  /** Disables WQ `q` (queue dropped) and unlocks its WQCFG. */
  private disableWq(q: number): void {
    (this.wqs[q] as WorkQueue).disable();
    this.regs.set(WQCFG, WQCFG.fields.wqState, q, 0);
  }

  /** RESET_DEVICE: every WQ disabled, registers reset (CMD, CMDSTS, SWERR kept), handles freed, Disabled. */
  private resetDevice(): void {
    for (let q = 0; q < this.wqs.length; q++) this.disableWq(q);
    this.regs.reset(true);
    this.irq.releaseAll();
    this.lanes = [];
    for (const a of this.arbiters) a.setMembers([]);
    this.setState(DeviceState.DISABLED);
  }

  /** Starts a wait of `kind` with no target yet. */
  private beginWait(kind: WaitKind): void {
    this.waitTarget.fill(-1);
    this.commands.beginWait(kind);
  }

  /** The wait also needs the entries of WQ `q` before sequence number `seq` gone. */
  private waitFor(q: number, seq: number): void {
    this.waitTarget[q] = seq;
  }

  private setState(s: number): void {
    this.stateValue = s;
    this.regs.set(GENSTS, GENSTS.fields.state, 0, s);
  }

  // ---------------------------------------------------------------- PCI side effects and Halt

  private commandRegisterChanged(old: number, now: number): void {
    if (this.commands.losesBusMaster(old, now)) this.commands.halt();
    if ((old & PciCommand.BUS_MASTER) === 0 && (now & PciCommand.BUS_MASTER) !== 0) this.irq.redeliver();
  }

  private capabilityEnablesChanged(): void {
    const changed = this.pasidOn !== this.pasid.enabled || this.atsOn !== this.ats.enabled || this.priOn !== this.pri.enabled;
    this.refreshCapabilityEnables();
    // An unsupported PCI change while working: Halt (the command unit's vidxd-device.md §3.3 sequence).
    if (changed && this.commands.working) this.commands.halt();
  }

  private refreshCapabilityEnables(): void {
    this.pasidOn = this.pasid.enabled;
    this.pasidPrivOn = this.pasid.privilegedEnabled;
    this.atsOn = this.ats.enabled;
    this.priOn = this.pri.enabled;
    this.syncContexts();
  }
}
