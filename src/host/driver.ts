/**
 * The host driver of the DSA model: brings a device up through config-space and BAR0 accesses
 * only, the way Linux idxd does (probe: enable the function, read the capabilities and table
 * offsets, reset, set up MSI-X; configure: WQCFG, GENCFG, GRPCFG; enable device and WQs), hands
 * out WQ objects, and routes the device's error and completion interrupts to their owners.
 */
import {
  Command, DeviceState, fieldOf, GENCFG, GENCTRL, GENSTS, GRPCFG_SIZE, GRPENGCFG, GRPFLAGS, GRPWQCFG, IMS_ENTRY,
  IMS_ENTRY_SIZE, type ImsDelivery, INT_HANDLE_IMS, INTCAUSE, packRegister, type VectorDelivery, WQCFG,
} from '../dsa/index.js';
import type { AddressSpace, Iommu } from '../memory/index.js';
import type { PciFunction } from '../pci/index.js';
import { type DeviceConfig, userInterruptsOf, validateConfig, type WqSpec } from './config.js';
import { CommandChannel } from './commands.js';
import { HostBusyError, HostError } from './errors.js';
import { enableDevice, enableMsix, enableSvm, readMsix, type SvmState } from './pci.js';
import { type DsaDeviceInfo, probeRegisters, type RegisterAccess } from './probe.js';
import { type SoftwareErrorRecord, takeSoftwareError } from './swerr.js';
import { type CompletionHandler, HostVectors, MSI_ADDRESS } from './vectors.js';
import { HostWq, type WqContext, type WqDevice, type WqOwner } from './wq.js';

/** Takes a stale pending interrupt of a recycled interrupt-handle entry (see `allocInterruptHandle`). */
const DISCARD_STALE: CompletionHandler = () => {};

/** The parts of a DSA PCI device the host driver uses (a `DsaDevice` has them all). */
export interface DsaPciDevice extends WqDevice {
  /** The PCI function (config space). */
  readonly pci: PciFunction;
  /** Installs the receiver of MSI-X messages (the platform's interrupt controller). */
  setMsixDelivery(handler: VectorDelivery | null): void;
  /** Installs the receiver of interrupt-handle (IMS) messages. */
  setImsDelivery(handler: ImsDelivery | null): void;
  /** The IOMMU the device's DMA goes through (PASID 0 = requester-ID space). */
  readonly iommu: Iommu;
}

/** What the users of a device hold of it (see {@link IdxdHost.held}). */
export interface HostHeld {
  /** Dedicated WQs claimed by an owner (a vdev, a kernel client), by index. */
  readonly claimedWqs: readonly number[];
  /** PASIDs in use on WQs: attached to a shared WQ, or bound to a claimed dedicated WQ. */
  readonly pasids: readonly { readonly wq: number; readonly pasid: number }[];
  /** Interrupt-handle (IMS) table entries allocated. */
  readonly interruptHandles: readonly number[];
}

/** Options of {@link IdxdHost.resetDevice}, {@link IdxdHost.configure} and {@link IdxdHost.load}. */
export interface HostTeardownOptions {
  /**
   * What to do when users hold WQs, PASIDs or interrupt handles (see {@link IdxdHost.held}): false
   * (default) refuses with {@link HostBusyError}; true first asks every owner to give everything back
   * ({@link WqOwner.revoke}: a vdev aborts its work, frees its handles and PASID, releases its WQ and
   * halts), then goes on if nothing is held any more (else {@link HostBusyError} still).
   */
  readonly force?: boolean;
}

/** Options of {@link IdxdHost}. */
export interface IdxdHostOptions {
  /**
   * Called between two polls of CMDSTS.active while a command waits for descriptors (Linux sleeps
   * there). A device model in deterministic mode is stepped here, e.g. `() => device.runUntilIdle()`.
   */
  readonly wait?: () => void;
  /** Polls before a command that stays active throws ETIMEDOUT (default 10 000). */
  readonly maxPolls?: number;
  /** Enable PASID (with privileged mode), ATS and PRI at probe, as SVA does (default true). */
  readonly svm?: boolean;
}

/** An allocated interrupt handle (IMS entry). */
export interface InterruptHandle {
  /** The value descriptors carry in their completion interrupt handle field (IMS portals). */
  readonly handle: number;
  /** The interrupt-handle table entry. */
  readonly entry: number;
  /** The PASID the entry is bound to (null: PASID check disabled). */
  readonly pasid: number | null;
}

const bit = (f: { readonly lo: number }): number => (1 << (f.lo & 31)) >>> 0;

/** The host driver of one DSA device. */
export class IdxdHost {
  /** The device. */
  readonly device: DsaPciDevice;
  private readonly mmio: RegisterAccess;
  /** CMD and CMDSTS: commands written and polled. */
  private readonly channel: CommandChannel;
  private readonly svm: boolean;
  private probed: DsaDeviceInfo | null = null;
  private svmState: SvmState | null = null;
  private wqList: HostWq[] = [];
  private groupEngines: number[] = [];
  private vectorTable: HostVectors | null = null;
  private imsHandlers: (CompletionHandler | null)[] = [];
  /** The handle object each allocated entry was given (a stale one cannot free the entry's next user). */
  private imsAllocs: (InterruptHandle | null)[] = [];
  /**
   * Handles freed while a command was active (no Release Interrupt Handle could be written): the device
   * still maps each to its entry, so the entry is kept out of allocation (masked, its interrupts taken
   * by nobody) until the release is written — else the stale number would reach the entry's next owner.
   */
  private unreleased: InterruptHandle[] = [];
  private readonly pasids = new Set<number>();
  private readonly errorListeners: ((e: SoftwareErrorRecord) => void)[] = [];
  private readonly haltListeners: (() => void)[] = [];

  /** A driver for `device`; nothing is touched until {@link probe}. */
  constructor(device: DsaPciDevice, options: IdxdHostOptions = {}) {
    this.device = device;
    this.mmio = device.bar0;
    this.channel = new CommandChannel(device.bar0, options.wait ?? (() => {}), options.maxPolls ?? 10_000, (code, operand) => this.giveUp(code, operand));
    this.svm = options.svm ?? true;
  }

  // ---------------------------------------------------------------- probe

  /**
   * Probes the device: memory decode and bus mastering on, capabilities and table offsets read from
   * BAR0, a Reset Device, PASID/ATS/PRI enabled (option `svm`), MSI-X programmed and enabled, error
   * and halt interrupts unmasked. Throws `HostError` ENODEV without MSI-X, ENXIO for a halted device.
   */
  probe(): DsaDeviceInfo {
    const cfg = this.device.pci.config;
    enableDevice(cfg);
    const msix = readMsix(cfg);
    if (msix === null) throw new HostError('ENODEV', 'the function has no MSI-X capability');
    const info = probeRegisters(this.mmio, msix);
    if (this.deviceState() === DeviceState.HALT) throw new HostError('ENXIO', 'the device is halted');
    this.channel.start(Command.RESET_DEVICE);
    this.channel.poll('reset device');
    this.probed = info;
    this.svmState = this.svm ? enableSvm(cfg) : null;
    this.vectorTable = new HostVectors(this.mmio, msix, info.offsets.msixPerm);
    this.device.setMsixDelivery((v) => this.msixInterrupt(v));
    enableMsix(cfg, msix);
    this.imsHandlers = new Array<CompletionHandler | null>(info.imsEntries).fill(null);
    this.imsAllocs = new Array<InterruptHandle | null>(info.imsEntries).fill(null);
    this.unreleased = [];
    this.device.setImsDelivery((e) => this.imsInterrupt(e));
    this.unmaskErrorInterrupts();
    const ctx = this.wqContext(this.vectorTable);
    this.wqList = Array.from({ length: info.wqs }, (_, id) => new HostWq(ctx, id));
    this.groupEngines = new Array<number>(info.groups).fill(0);
    return info;
  }

  /** What the WQs of this probe may use of the driver (and nothing else of it). */
  private wqContext(vectors: HostVectors): WqContext {
    const info = this.info;
    return {
      device: this.device,
      info,
      commands: this.channel,
      vectors,
      wqcfgOffset: (id) => this.wqcfgOffset(id),
      enginesOfGroup: (g) => this.enginesOfGroup(g),
      groupFlags: (g) => this.groupFlags(g),
    };
  }

  private unmaskErrorInterrupts(): void {
    this.mmio.write32(GENCTRL.offset, (bit(GENCTRL.fields.softerrIntEn) | bit(GENCTRL.fields.haltIntEn)) >>> 0);
  }

  /** What the probe found. Throws `HostError` EPERM before {@link probe}. */
  get info(): DsaDeviceInfo {
    if (this.probed === null) throw new HostError('EPERM', 'the device has not been probed');
    return this.probed;
  }

  /** PASID state after probe: enabled, privileged mode, width (null: SVM not enabled). */
  get pasidState(): SvmState | null {
    return this.svmState;
  }

  /** GENCFG.user_int_en as the device holds it: user-mode (Priv 0) descriptors of PASID WQs may request completion interrupts. */
  get userInterrupts(): boolean {
    return (this.mmio.read32(GENCFG.offset) & bit(GENCFG.fields.userIntEn)) !== 0;
  }

  /** GENSTS.state. */
  deviceState(): number {
    return fieldOf(this.mmio.read32(GENSTS.offset), GENSTS.fields.state);
  }

  /**
   * Lets the device run once, as between two polls of a waiting command (the `wait` option: a
   * deterministic model is stepped there). A user that must see its descriptors finish without a
   * command to wait on (a virtual device being quiesced) calls it.
   */
  letRun(): void {
    this.channel.letRun();
  }

  // ---------------------------------------------------------------- commands

  /**
   * Writes CMD and polls CMDSTS until the command completes, calling the `wait` option between
   * polls. Returns CMDSTS. The driver polls, so it asks for no completion interrupt (CMD.int_req 0).
   * Throws `HostError` EBUSY if a command is already active, ETIMEDOUT if
   * this one does not complete within `maxPolls`: a command that waits for descriptors (drain,
   * disable, abort) is then not left active — the descriptors it waits for are abandoned (no record,
   * no interrupt; `DsaPciDevice.discard`), so that it completes and the device takes commands again.
   */
  command(code: number, operand = 0): number {
    return this.channel.command(code, operand);
  }

  /** CMDSTS.active: a command is in progress (this driver's, from a callback of its wait, or one that timed out). */
  get commandActive(): boolean {
    return this.channel.active;
  }

  /**
   * A command timed out: abandons the descriptors it may wait for (those of the WQs its mask names,
   * of the PASID it names, or of every WQ) so that it completes. Returns true when it is no longer active.
   */
  private giveUp(code: number, operand: number): boolean {
    const dev = this.device;
    if (dev.discard === undefined) return false;
    const wqs = this.wqList;
    if (code === Command.DRAIN_PASID || code === Command.ABORT_PASID) {
      for (const w of wqs) {
        if (w.configured && w.dedicated) {
          if (w.pasid === operand) dev.discard(w.id);
        } else {
          dev.discard(w.id, operand);
        }
      }
    } else if (code >= Command.DISABLE_WQ && code <= Command.RESET_WQ) {
      const set = (operand >>> 16) & 0xf;
      for (let b = 0; b < 16; b++) if (((operand >>> b) & 1) !== 0 && set * 16 + b < wqs.length) dev.discard(set * 16 + b);
    } else {
      for (const w of wqs) dev.discard(w.id);
    }
    for (let i = 0; i < 4 && this.commandActive; i++) this.channel.letRun();
    return !this.commandActive;
  }

  /** Runs a command and throws `HostError.refused` unless it succeeds; returns CMDSTS.result. */
  run(code: number, operand: number, what: string): number {
    return this.channel.run(code, operand, what);
  }

  // ---------------------------------------------------------------- configuration

  /**
   * Writes a configuration into WQCFG, GENCFG and GRPCFG (Linux `idxd_device_config`). Nothing may be
   * held of the device (else {@link HostBusyError}, EBUSY, naming what is held — or, with
   * `options.force`, the holders give it back first: see {@link HostTeardownOptions}); the device must
   * be Disabled (else EBUSY); shape errors throw EINVAL.
   */
  configure(cfg: DeviceConfig, options: HostTeardownOptions = {}): void {
    const info = this.info;
    if (options.force !== true) this.release(options, 'configure the device');
    if (this.deviceState() !== DeviceState.DISABLED) throw new HostError('EBUSY', 'the device must be disabled to be configured');
    this.release(options, 'configure the device');
    validateConfig(cfg, info);
    const specs = new Map(cfg.wqs.map((w) => [w.id, w]));
    for (const wq of this.wqList) {
      const spec = specs.get(wq.id) ?? null;
      wq.setSpec(spec);
      const dwords = spec === null ? new Uint32Array(info.wqcfgSize >>> 2) : this.wqcfgOf(spec);
      for (let k = 0; k < info.wqcfgSize >>> 2; k++) this.mmio.write32(this.wqcfgOffset(wq.id) + 4 * k, dwords[k] ?? 0);
    }
    const gencfg = packRegister(GENCFG, { rdbufLimit: cfg.readBufferLimit ?? 0, userIntEn: userInterruptsOf(cfg) ? 1 : 0 });
    this.mmio.write32(GENCFG.offset, gencfg[0] as number);
    const groups = new Map(cfg.groups.map((g) => [g.id, g]));
    for (let g = 0; g < info.groups; g++) {
      const spec = groups.get(g);
      const base = info.offsets.grpcfg + g * GRPCFG_SIZE;
      const wqs = new Uint32Array(GRPWQCFG.size >>> 2);
      for (const w of cfg.wqs) if (w.group === g) wqs[w.id >>> 5] = ((wqs[w.id >>> 5] as number) | (1 << (w.id & 31))) >>> 0;
      const engines = new Uint32Array(GRPENGCFG.size >>> 2);
      for (const e of spec?.engines ?? []) engines[e >>> 5] = ((engines[e >>> 5] as number) | (1 << (e & 31))) >>> 0;
      const rdbufs = spec !== undefined && info.readBufferControl;
      const flags = packRegister(GRPFLAGS, {
        tcA: spec?.tcA ?? 1,
        tcB: spec?.tcB ?? 1,
        useRdbufLimit: spec?.useReadBufferLimit === true ? 1 : 0,
        rdbufsReserved: spec?.readBuffersReserved ?? 0,
        rdbufsAllowed: rdbufs ? (spec.readBuffersAllowed ?? info.readBuffers) : (spec?.readBuffersAllowed ?? 0),
      });
      this.writeDwords(base + GRPWQCFG.offset, wqs);
      this.writeDwords(base + GRPENGCFG.offset, engines);
      this.writeDwords(base + GRPFLAGS.offset, flags);
      this.groupEngines[g] = new Set(spec?.engines ?? []).size;
    }
  }

  private wqcfgOf(w: WqSpec): Uint32Array {
    const info = this.info;
    const dedicated = w.mode === 'dedicated';
    const out = packRegister(WQCFG, {
      wqSize: w.size,
      wqThresh: dedicated ? 0 : (w.threshold ?? w.size),
      mode: dedicated ? 1 : 0,
      bof: w.blockOnFault === true ? 1 : 0,
      priority: w.priority ?? 10,
      pasid: w.pasid ?? 0,
      pasidEn: dedicated ? (w.pasid === undefined ? 0 : 1) : 1,
      priv: w.priv === true ? 1 : 0,
      maxXferShift: w.maxTransferShift ?? info.maxTransferShift,
      maxBatchShift: w.maxBatchShift ?? info.maxBatchShift,
    });
    const full = new Uint32Array(info.wqcfgSize >>> 2);
    full.set(out.subarray(0, full.length));
    return full;
  }

  private writeDwords(offset: number, dwords: Uint32Array): void {
    for (let k = 0; k < dwords.length; k++) this.mmio.write32(offset + 4 * k, dwords[k] as number);
  }

  /** Enable Device; a refusal throws `HostError` ENXIO with the CMDSTS code and its meaning. */
  enable(): void {
    this.run(Command.ENABLE_DEVICE, 0, 'enable device');
  }

  /**
   * Applies `cfg`, enables the device and every WQ not marked `enabled: false` (accel-config
   * load-config). Refused like {@link configure} while users hold WQs, PASIDs or handles (`options.force`: they give them back first).
   */
  load(cfg: DeviceConfig, options: HostTeardownOptions = {}): void {
    this.configure(cfg, options);
    this.enable();
    for (const w of cfg.wqs) if (w.enabled !== false) this.wq(w.id).enable();
  }

  /** Disables every enabled WQ, then the device (waiting for queued descriptors). */
  disable(): void {
    for (const wq of this.wqList) if (wq.enabled) wq.disable();
    if (this.deviceState() === DeviceState.ENABLED) this.run(Command.DISABLE_DEVICE, 0, 'disable device');
  }

  /**
   * Reset Device: every WQ and handle is gone, the device is Disabled; error interrupts are unmasked
   * again. Refused with {@link HostBusyError} (EBUSY, naming what is held) while a user — a vdev, a
   * kernel client — holds a WQ, a PASID on a WQ or an interrupt handle, since the reset would take them
   * from under it (another user could then be given the same WQ or entry while the first one's work
   * runs on); with `options.force` the holders give everything back first ({@link WqOwner.revoke}).
   */
  resetDevice(options: HostTeardownOptions = {}): void {
    this.release(options, 'reset the device');
    this.run(Command.RESET_DEVICE, 0, 'reset device');
    for (const wq of this.wqList) wq.forget();
    this.imsHandlers.fill(null);
    this.imsAllocs.fill(null);
    // (Reset Device freed every handle of the device's table.)
    this.unreleased = [];
    this.unmaskErrorInterrupts();
  }

  /**
   * What users hold of the device: the dedicated WQs claimed, the PASIDs in use on WQs and the
   * interrupt-handle entries allocated. A reset or a new configuration is refused while any is held.
   */
  held(): HostHeld {
    const claimedWqs: number[] = [];
    const pasids: { wq: number; pasid: number }[] = [];
    for (const w of this.wqList) {
      if (w.owner !== null) {
        claimedWqs.push(w.id);
        if (w.pasid !== null) pasids.push({ wq: w.id, pasid: w.pasid });
      }
      for (const p of w.attachedPasids()) pasids.push({ wq: w.id, pasid: p });
    }
    const interruptHandles: number[] = [];
    this.imsAllocs.forEach((h, entry) => {
      if (h !== null) interruptHandles.push(entry);
    });
    return { claimedWqs, pasids, interruptHandles };
  }

  /**
   * Before a reset or a configuration: nothing may be held (else {@link HostBusyError}); with `force`
   * every owner of a WQ or of a PASID on one is asked once to give everything back first.
   */
  private release(options: HostTeardownOptions, what: string): void {
    if (this.isFree(this.held())) return;
    if (options.force === true) {
      const owners = new Set<WqOwner>();
      for (const w of this.wqList) {
        if (w.owner !== null) owners.add(w.owner);
        for (const p of w.attachedPasids()) {
          const o = w.ownerOf(p);
          if (o !== null) owners.add(o);
        }
      }
      for (const o of owners) o.revoke?.();
    }
    const held = this.held();
    if (!this.isFree(held)) throw new HostBusyError(`cannot ${what}`, held);
  }

  private isFree(h: HostHeld): boolean {
    return h.claimedWqs.length === 0 && h.pasids.length === 0 && h.interruptHandles.length === 0;
  }

  // ---------------------------------------------------------------- WQs

  /** WQ `id`. Throws `HostError` ENOENT for an index the device does not have. */
  wq(id: number): HostWq {
    const wq = this.wqList[id];
    if (wq === undefined) throw new HostError('ENOENT', `WQ ${id} does not exist (the device has ${this.wqList.length})`);
    return wq;
  }

  /** Every WQ of the device. */
  get wqs(): readonly HostWq[] {
    return this.wqList;
  }

  /** The enabled WQs marked for mediated use. */
  mediatedWqs(): HostWq[] {
    return this.wqList.filter((w) => w.mediated && w.enabled);
  }

  /** Engines of group `g` in the loaded configuration. */
  enginesOfGroup(g: number): number {
    return this.groupEngines[g] ?? 0;
  }

  /** GRPFLAGS of group `g` as the device holds it (two dwords, read through OFFSETS). */
  groupFlags(g: number): [number, number] {
    const at = this.info.offsets.grpcfg + g * GRPCFG_SIZE + GRPFLAGS.offset;
    return [this.mmio.read32(at), this.mmio.read32(at + 4)];
  }

  /** Byte offset of WQCFG entry `id` (from OFFSETS and WQCAP). */
  wqcfgOffset(id: number): number {
    return this.info.offsets.wqcfg + id * this.info.wqcfgSize;
  }

  /** Programs MSIX_PERM of `vector`: PASID check for `pasid`, or none (null). */
  setVectorPasid(vector: number, pasid: number | null): void {
    this.vectors().setPasid(vector, pasid);
  }

  /** Installs (null: removes) the handler of MSI-X vector `vector`. */
  setVectorHandler(vector: number, handler: CompletionHandler | null): void {
    this.vectors().setHandler(vector, handler);
  }

  /** The MSI-X vectors (EPERM before {@link probe}). */
  private vectors(): HostVectors {
    if (this.vectorTable === null) throw new HostError('EPERM', 'the device has not been probed');
    return this.vectorTable;
  }

  // ---------------------------------------------------------------- interrupt handles (IMS)

  /**
   * Allocates an interrupt-handle table entry whose completion interrupts go to `handler`, bound to
   * `pasid` (null: no PASID check): the entry is programmed and unmasked through BAR0, and with
   * GENCAP.cmd_cap a handle is requested from the device. Throws `HostError` ENOSPC when the table
   * is full, ENODEV without a table.
   */
  allocInterruptHandle(handler: CompletionHandler, pasid: number | null): InterruptHandle {
    const info = this.info;
    if (info.imsEntries === 0 || info.offsets.ims === 0) throw new HostError('ENODEV', 'the device has no interrupt-handle table');
    this.releaseUnreleased();
    const entry = this.imsHandlers.indexOf(null);
    if (entry < 0) throw new HostError('ENOSPC', 'every interrupt-handle entry is in use');
    const at = info.offsets.ims + entry * IMS_ENTRY_SIZE;
    const dwords = packRegister(IMS_ENTRY, { addrLo: MSI_ADDRESS, addrHi: 0, data: entry, mask: 0, ...(pasid === null ? {} : { pasidEn: 1, pasid }) });
    // A recycled entry may hold a pending interrupt of its previous owner (raised while it was masked
    // or had no handler): the unmask delivers it here, to nobody, before the new owner's handler is in.
    this.imsHandlers[entry] = DISCARD_STALE;
    this.writeDwords(at, dwords);
    this.imsHandlers[entry] = handler;
    let handle = entry;
    if (info.commandCapabilities) {
      try {
        handle = this.run(Command.REQUEST_INT_HANDLE, entry | INT_HANDLE_IMS, 'request interrupt handle');
      } catch (e) {
        this.releaseEntry(entry);
        throw e;
      }
    }
    const h: InterruptHandle = Object.freeze({ handle, entry, pasid });
    this.imsAllocs[entry] = h;
    return h;
  }

  /**
   * Frees a handle from {@link allocInterruptHandle}: the entry is masked and cleared. Throws EINVAL
   * unless `h` is the entry's current allocation (a handle kept across a device reset cannot free
   * the entry's next user). With a command in progress (a callback of it), Release Interrupt Handle
   * cannot be written: the entry is masked (a descriptor naming the handle then fails the device's
   * PASID check) and kept out of allocation until the release is written, before the next allocation
   * — the device's handle table still maps the number to the entry, and would route it to the entry's
   * next owner.
   */
  freeInterruptHandle(h: InterruptHandle): void {
    if (this.imsAllocs[h.entry] !== h) throw new HostError('EINVAL', `interrupt-handle entry ${h.entry} is not allocated to this handle`);
    if (!this.info.commandCapabilities) {
      this.releaseEntry(h.entry);
      return;
    }
    if (this.commandActive) {
      this.writeDwords(this.info.offsets.ims + h.entry * IMS_ENTRY_SIZE, packRegister(IMS_ENTRY, { mask: 1 }));
      this.imsHandlers[h.entry] = DISCARD_STALE;
      this.imsAllocs[h.entry] = null;
      this.unreleased.push(h);
      return;
    }
    this.command(Command.RELEASE_INT_HANDLE, h.handle | INT_HANDLE_IMS);
    this.releaseEntry(h.entry);
  }

  /** Writes the Release Interrupt Handle of each handle freed while a command was active (when none is now); their entries become free. */
  private releaseUnreleased(): void {
    const list = this.unreleased;
    while (list.length > 0 && !this.commandActive) {
      const h = list[0] as InterruptHandle;
      try {
        this.command(Command.RELEASE_INT_HANDLE, h.handle | INT_HANDLE_IMS);
      } catch (e) {
        // (Left for the next allocation: the entry stays out of use.)
        if (e instanceof HostError) return;
        throw e;
      }
      list.shift();
      this.releaseEntry(h.entry);
    }
  }

  private releaseEntry(entry: number): void {
    this.writeDwords(this.info.offsets.ims + entry * IMS_ENTRY_SIZE, packRegister(IMS_ENTRY, { mask: 1 }));
    this.imsHandlers[entry] = null;
    this.imsAllocs[entry] = null;
  }

  // ---------------------------------------------------------------- PASIDs

  /**
   * Allocates the lowest free PASID (1 up to the PASID capability's width) and attaches `space` to
   * it in the device's IOMMU, for an owner that needs its own address space; with `space` null the
   * PASID is reserved with no address space (every DMA with it faults until
   * {@link setPasidSpace}). Throws `HostError` ENOSPC when every PASID is taken.
   */
  allocatePasid(space: AddressSpace | null): number {
    const width = this.svmState?.pasidWidth ?? 20;
    const limit = 2 ** Math.min(width, 20);
    const iommu = this.device.iommu;
    for (let p = 1; p < limit; p++) {
      if (this.pasids.has(p) || iommu.space(p) !== null) continue;
      if (space !== null) iommu.attach(p, space);
      this.pasids.add(p);
      return p;
    }
    throw new HostError('ENOSPC', `no free PASID below ${limit}`);
  }

  /**
   * Replaces the address space of a PASID from {@link allocatePasid} (null: none, every DMA with it
   * faults). The device translates through the IOMMU at each descriptor, so the change applies from
   * the next descriptor on. Throws `HostError` EINVAL for a PASID this driver did not allocate.
   */
  setPasidSpace(pasid: number, space: AddressSpace | null): void {
    if (!this.pasids.has(pasid)) throw new HostError('EINVAL', `PASID ${pasid} was not allocated by this driver`);
    const iommu = this.device.iommu;
    iommu.detach(pasid);
    if (space !== null) iommu.attach(pasid, space);
  }

  /** Detaches and frees a PASID from {@link allocatePasid} (EINVAL for one it did not allocate). */
  freePasid(pasid: number): void {
    if (!this.pasids.delete(pasid)) throw new HostError('EINVAL', `PASID ${pasid} was not allocated by this driver`);
    this.device.iommu.detach(pasid);
  }

  // ---------------------------------------------------------------- interrupt routing

  /** Listens to software errors no WQ owner took. Returns a function that removes the listener. */
  onError(listener: (e: SoftwareErrorRecord) => void): () => void {
    this.errorListeners.push(listener);
    return () => this.errorListeners.splice(this.errorListeners.indexOf(listener) >>> 0, 1);
  }

  /** Listens to the device entering Halt. Returns a function that removes the listener. */
  onHalt(listener: () => void): () => void {
    this.haltListeners.push(listener);
    return () => this.haltListeners.splice(this.haltListeners.indexOf(listener) >>> 0, 1);
  }

  private msixInterrupt(vector: number): boolean {
    if (vector === 0) {
      this.miscInterrupt();
      return true;
    }
    return this.vectorTable?.deliver(vector) ?? false;
  }

  private imsInterrupt(entry: number): boolean {
    const h = this.imsHandlers[entry];
    if (h === null || h === undefined) return false;
    h();
    return true;
  }

  /** Vector 0 (Linux `idxd_misc_thread`): acknowledge INTCAUSE, take SWERR, report a halt. */
  private miscInterrupt(): void {
    const cause = this.mmio.read32(INTCAUSE.offset);
    this.mmio.write32(INTCAUSE.offset, cause);
    if ((cause & bit(INTCAUSE.fields.softwareError)) !== 0) {
      const rec = takeSoftwareError(this.mmio);
      if (rec !== null) this.routeError(rec);
    }
    if ((cause & bit(INTCAUSE.fields.halt)) !== 0) for (const l of [...this.haltListeners]) l();
  }

  private routeError(rec: SoftwareErrorRecord): void {
    const wq = rec.wqIndexValid ? this.wqList[rec.wqIndex] : undefined;
    const owner: WqOwner | null = wq === undefined ? null : wq.ownerOf(rec.descValid ? rec.pasid : null);
    if (owner?.onError !== undefined) {
      owner.onError(rec);
      return;
    }
    for (const l of [...this.errorListeners]) l(rec);
  }
}
